package ingest

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/outagewatch/outagewatch/detectors"
)

// Request results, the values of the result label.
const (
	resultOK          = "ok"
	resultPartial     = "partial"
	resultBadRequest  = "bad_request"
	resultTooLarge    = "too_large"
	resultRefused     = "refused"
	resultUnsupported = "unsupported"
)

type metrics struct {
	requests      *prometheus.CounterVec
	spansReceived *prometheus.CounterVec
	spansAccepted *prometheus.CounterVec
	spansRefused  *prometheus.CounterVec
	spansRejected prometheus.Counter
	interesting   *prometheus.CounterVec
	lateAttempts  prometheus.Counter
	folded        *prometheus.CounterVec
	evicted       prometheus.Counter
	calls         *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer, p *Pipeline) *metrics {
	f := promauto.With(reg)
	m := &metrics{
		requests: f.NewCounterVec(prometheus.CounterOpts{
			Name: "outagewatch_ingest_requests_total",
			Help: "OTLP export requests, by protocol, encoding and result (ok, partial, bad_request, too_large, refused, unsupported).",
		}, []string{"protocol", "encoding", "result"}),
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
		calls: f.NewCounterVec(prometheus.CounterOpts{
			Name: "outagewatch_calls_total",
			Help: "LLM calls seen, by provider, model, outcome (ok, error, truncated, incomplete) and error class.",
		}, []string{"provider", "model", "outcome", "error_class"}),
	}
	f.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "outagewatch_ingest_queue_depth",
		Help: "Requests waiting in the hand-off queue between the receivers and the pipeline.",
	}, func() float64 { return float64(len(p.queue)) })
	f.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "outagewatch_ingest_queue_capacity",
		Help: "Capacity of the hand-off queue, in requests.",
	}, func() float64 { return float64(cap(p.queue)) })
	f.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "outagewatch_ingest_pending_attempt_groups",
		Help: "Provider HTTP attempt groups waiting for their LLM span.",
	}, func() float64 { return float64(p.pendingGroups.Load()) })
	for _, proto := range []string{"grpc", "http"} {
		m.spansReceived.WithLabelValues(proto)
		m.spansAccepted.WithLabelValues(proto)
		m.spansRefused.WithLabelValues(proto)
	}
	for _, k := range []string{"llm", "attempt", "wrapper"} {
		m.interesting.WithLabelValues(k)
	}
	return m
}

func (m *metrics) countCall(c *detectors.Call) {
	m.calls.WithLabelValues(c.Provider, c.Model, c.Outcome.String(), c.ErrorClass.String()).Inc()
}
