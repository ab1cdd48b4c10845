package ingest

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/outagewatch/outagewatch/detectors"
)

type metrics struct {
	spansReceived *prometheus.CounterVec
	spansAccepted *prometheus.CounterVec
	spansRefused  *prometheus.CounterVec
	spansRejected prometheus.Counter
	interesting   *prometheus.CounterVec
	lateAttempts  prometheus.Counter
	folded        *prometheus.CounterVec
	evicted       prometheus.Counter
	learnedHosts  *prometheus.CounterVec
	sampled       prometheus.Counter
	// logRecords and metricPoints count what the logs and metrics receivers took, by protocol;
	// callsBySource the calls delivered, by source (spans, logs, metrics); readyRefused the
	// calls of logs and metrics refused because their queue was full.
	logRecords    *prometheus.CounterVec
	metricPoints  *prometheus.CounterVec
	callsBySource *prometheus.CounterVec
	readyRefused  *prometheus.CounterVec
	// logsSkipped counts calls from logs skipped because their service sends spans (signals.go).
	logsSkipped prometheus.Counter
	// series exports outagewatch_calls_total, outagewatch_call_duration_seconds and
	// outagewatch_ttft_seconds (seriesmetrics.go).
	series *seriesCollector
	// seen holds the series whose label values were pre-created; only the pipeline goroutine
	// touches it.
	seen map[[2]string]*seriesMetrics
}

// Classic buckets for call latency and time to first token, in seconds; native histograms are
// exported alongside for Prometheus servers that scrape them.
var (
	durationBuckets = []float64{0.1, 0.25, 0.5, 1, 2, 3, 5, 8, 13, 20, 30, 60, 120}
	ttftBuckets     = []float64{0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 30}
)

func newMetrics(reg prometheus.Registerer, p *Pipeline) *metrics {
	f := promauto.With(reg)
	m := &metrics{
		spansReceived: f.NewCounterVec(prometheus.CounterOpts{
			Name: "outagewatch_ingest_spans_received_total",
			Help: "Spans in decoded OTLP requests.",
		}, []string{"protocol"}),
		spansAccepted: f.NewCounterVec(prometheus.CounterOpts{
			Name: "outagewatch_ingest_spans_accepted_total",
			Help: "Spans accepted: received, neither rejected nor refused.",
		}, []string{"protocol"}),
		spansRefused: f.NewCounterVec(prometheus.CounterOpts{
			Name: "outagewatch_ingest_spans_refused_total",
			Help: "Spans of requests refused with a retryable status because the hand-off queue was full.",
		}, []string{"protocol"}),
		spansRejected: f.NewCounter(prometheus.CounterOpts{
			Name: "outagewatch_ingest_spans_rejected_total",
			Help: "Invalid spans rejected through OTLP partial success (empty IDs, end before start).",
		}),
		interesting: f.NewCounterVec(prometheus.CounterOpts{
			Name: "outagewatch_ingest_llm_spans_total",
			Help: "Spans recognised, by kind: llm (an LLM-call span), attempt (a provider HTTP attempt), wrapper (an outer LLM span not counted).",
		}, []string{"kind"}),
		lateAttempts: f.NewCounter(prometheus.CounterOpts{
			Name: "outagewatch_ingest_late_attempts_total",
			Help: "Provider HTTP attempts that arrived after their LLM span had been counted, and were dropped.",
		}),
		folded: f.NewCounterVec(prometheus.CounterOpts{
			Name: "outagewatch_ingest_folded_calls_total",
			Help: "Calls whose provider or model was folded into \"other\" by the caps on series.",
		}, []string{"what"}),
		evicted: f.NewCounter(prometheus.CounterOpts{
			Name: "outagewatch_ingest_attempt_groups_evicted_total",
			Help: "Attempt groups counted before their wait was over because too many were pending.",
		}),
		learnedHosts: f.NewCounterVec(prometheus.CounterOpts{
			Name: "outagewatch_ingest_unknown_host_attempts_total",
			Help: "HTTP attempts to LLM API paths on hosts that are no known provider's, by what became of them: learned (their LLM span named the host's provider), attributed (their LLM span never came; counted for the provider learned), unattributed (their LLM span never came and nothing learned names the host's provider: not counted).",
		}, []string{"result"}),
		sampled: f.NewCounter(prometheus.CounterOpts{
			Name: "outagewatch_ingest_sampled_calls_total",
			Help: "Calls seen whose span was head-sampled (tracestate ot=th: or ot=p:), each counted in outagewatch_calls_total as the calls it stands for (its adjusted count).",
		}),
		logRecords: f.NewCounterVec(prometheus.CounterOpts{
			Name: "outagewatch_ingest_log_records_total",
			Help: "Log records in decoded OTLP logs requests, by protocol.",
		}, []string{"protocol"}),
		metricPoints: f.NewCounterVec(prometheus.CounterOpts{
			Name: "outagewatch_ingest_metric_points_total",
			Help: "Data points in decoded OTLP metrics requests, by protocol.",
		}, []string{"protocol"}),
		callsBySource: f.NewCounterVec(prometheus.CounterOpts{
			Name: "outagewatch_ingest_calls_total",
			Help: "Calls handed on (each once, whatever its weight), by source: spans, logs (PipelineOptions.LogCalls), metrics (MetricCalls).",
		}, []string{"source"}),
		readyRefused: f.NewCounterVec(prometheus.CounterOpts{
			Name: "outagewatch_ingest_ready_calls_refused_total",
			Help: "Calls made from logs or metrics refused with a retryable status because their queue was full, by source.",
		}, []string{"source"}),
		logsSkipped: f.NewCounter(prometheus.CounterOpts{
			Name: "outagewatch_ingest_log_calls_skipped_total",
			Help: "Calls made from log events skipped because their service (service.name) sent LLM spans of the same provider and model in the last 10 minutes: each call is counted once, from its spans.",
		}),
		series: newSeriesCollector(),
		seen:   map[[2]string]*seriesMetrics{},
	}
	reg.MustRegister(m.series)
	f.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "outagewatch_ingest_queue_depth",
		Help: "Requests waiting in the hand-off queue between the receivers and the pipeline.",
	}, func() float64 { return float64(len(p.queue)) })
	f.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "outagewatch_ingest_queue_records",
		Help: "LLM-call and attempt records waiting in the hand-off queue.",
	}, func() float64 { return float64(p.queuedRecords.Load()) })
	f.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "outagewatch_ingest_queue_records_capacity",
		Help: "Records the hand-off queue holds at most, whatever the number of requests.",
	}, func() float64 { return maxQueuedRecords })
	f.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "outagewatch_ingest_queue_capacity",
		Help: "Capacity of the hand-off queue, in requests.",
	}, func() float64 { return float64(cap(p.queue)) })
	f.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "outagewatch_ingest_pending_attempt_groups",
		Help: "Provider HTTP attempt groups waiting for their LLM span.",
	}, func() float64 { return float64(p.pendingGroups.Load()) })
	f.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "outagewatch_ingest_learned_hosts",
		Help: "Hosts learned to serve a provider (ingest/hosts), bounded by 1024.",
	}, func() float64 { return float64(p.hosts.Len()) })
	f.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "outagewatch_ingest_last_span_timestamp_seconds",
		Help: "Unix time at which the last span arrived (any span, LLM or not); 0 before the first.",
	}, func() float64 { return float64(p.fresh.lastSpan.Load()) / 1e9 })
	f.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "outagewatch_ingest_ready_queue_depth",
		Help: "Requests' calls made from logs and metrics waiting in their queue (its capacity is the hand-off queue's).",
	}, func() float64 { return float64(len(p.ready)) })
	for _, src := range []string{sourceSpans, sourceLogs, sourceMetrics} {
		m.callsBySource.WithLabelValues(src)
	}
	for _, src := range []string{sourceLogs, sourceMetrics} {
		m.readyRefused.WithLabelValues(src)
	}
	for _, proto := range []string{"grpc", "http"} {
		m.logRecords.WithLabelValues(proto)
		m.metricPoints.WithLabelValues(proto)
		m.spansReceived.WithLabelValues(proto)
		m.spansAccepted.WithLabelValues(proto)
		m.spansRefused.WithLabelValues(proto)
	}
	for _, k := range []string{"llm", "attempt", "wrapper"} {
		m.interesting.WithLabelValues(k)
	}
	for _, r := range []string{"learned", "attributed", "unattributed"} {
		m.learnedHosts.WithLabelValues(r)
	}
	return m
}

// countCall counts one call. The first call of a series pre-creates its label values (every
// outcome, every error class), so that rates and dashboards have no gaps; the series are bounded
// by the caps on providers and models.
func (m *metrics) countCall(c *detectors.Call) {
	k := [2]string{c.Provider, c.Model}
	sm := m.seen[k]
	if sm == nil {
		sm = m.series.newSeries(c.Provider, c.Model)
		m.seen[k] = sm
	}
	m.series.counter(sm, c.Outcome, c.ErrorClass).add(c.AdjustedCount())
	if c.Weight > 1 {
		m.sampled.Inc()
	}
	if c.Outcome == detectors.OutcomeOK && c.Duration > 0 {
		sm.duration.Observe(c.Duration.Seconds())
	}
	if c.Streaming && c.TTFT > 0 && c.Outcome != detectors.OutcomeError {
		sm.ttft.Observe(c.TTFT.Seconds())
	}
}
