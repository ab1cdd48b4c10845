package ingest

import (
	"time"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/outagewatch/outagewatch/detectors"
	"github.com/outagewatch/outagewatch/ingest/receiver"
)

// The sources of calls, the values of the source label of outagewatch_ingest_calls_total.
const (
	sourceSpans   = "spans"
	sourceLogs    = "logs"
	sourceMetrics = "metrics"
)

// readyCalls are calls made by a mapper (PipelineOptions.LogCalls, MetricCalls) on a receiver's
// goroutine, waiting in the second queue for Run: they need no assembling.
type readyCalls struct {
	source string
	calls  []detectors.Call
}

// ConsumeLogs takes a decoded OTLP logs request: its log records are counted, and mapped to calls
// by PipelineOptions.LogCalls (ignored when it is nil), which are queued for Run. It never blocks:
// when the queue is full it returns ErrQueueFull and nothing of ld is kept. It is safe for
// concurrent use. The Result counts the log records; none are rejected.
func (p *Pipeline) ConsumeLogs(protocol string, ld plog.Logs) (receiver.Result, error) {
	n := ld.LogRecordCount()
	p.metrics.logRecords.WithLabelValues(protocol).Add(float64(n))
	res := receiver.Result{Spans: n}
	if p.logCalls == nil || n == 0 {
		return res, nil
	}
	return res, p.queueReady(sourceLogs, p.logCalls(ld, nil))
}

// ConsumeMetrics takes a decoded OTLP metrics request: its data points are counted, and mapped to
// calls by PipelineOptions.MetricCalls (ignored when it is nil), which are queued for Run. It
// never blocks: when the queue is full it returns ErrQueueFull and nothing of md is kept. It is
// safe for concurrent use. The Result counts the data points; none are rejected.
func (p *Pipeline) ConsumeMetrics(protocol string, md pmetric.Metrics) (receiver.Result, error) {
	n := md.DataPointCount()
	p.metrics.metricPoints.WithLabelValues(protocol).Add(float64(n))
	res := receiver.Result{Spans: n}
	if p.metricCalls == nil || n == 0 {
		return res, nil
	}
	return res, p.queueReady(sourceMetrics, p.metricCalls(md, nil))
}

// queueReady queues calls made by a mapper, bounded as the records' queue is: by requests
// (the queue's capacity) and by calls (maxQueuedRecords, unless the queue is empty).
func (p *Pipeline) queueReady(source string, calls []detectors.Call) error {
	n := int64(len(calls))
	if n == 0 {
		return nil
	}
	queued := p.queuedCalls.Add(n)
	if queued <= maxQueuedRecords || queued == n {
		select {
		case p.ready <- readyCalls{source: source, calls: calls}:
			return nil
		default:
		}
	}
	p.queuedCalls.Add(-n)
	p.metrics.readyRefused.WithLabelValues(source).Add(float64(n))
	return ErrQueueFull
}

// deliverReady hands on the calls of a mapper, their providers and models capped by the
// assembler, in the same count of series as the span-made calls.
func (p *Pipeline) deliverReady(r readyCalls) {
	p.queuedCalls.Add(-int64(len(r.calls)))
	if r.source == sourceLogs {
		r.calls = p.skipTraced(r.calls)
	}
	before := p.asm.Stats()
	for i := range r.calls {
		p.asm.Cap(&r.calls[i])
	}
	after := p.asm.Stats()
	p.metrics.folded.WithLabelValues("provider").Add(float64(after.FoldedProv - before.FoldedProv))
	p.metrics.folded.WithLabelValues("model").Add(float64(after.FoldedModels - before.FoldedModels))
	p.deliverFrom(r.source, r.calls)
}

// spanWindow is how long after its last span-made call a service's log-made calls are skipped.
const spanWindow = 10 * time.Minute

// maxTracedServices bounds the (service, provider, model) remembered as sending spans; past it
// the oldest goes.
const maxTracedServices = 4096

// tracedServices remembers when each service (service.name) last had a span-made call of each
// provider and model, so that a coding agent exporting both log events and traces (Claude
// Code's beta traces, Gemini CLI's traces) has each call counted once, from its spans, which
// tell more (attempts). A span the span path cannot attribute (Gemini CLI's, to a gateway host:
// provider "unknown") skips nothing: the log events name the provider. The developer's
// pseudonym is not part of the key (the span path does not know it): while any developer of a
// tool exports its traces, that tool's log-made calls of the same model are skipped. Only the
// pipeline goroutine uses it.
type tracedServices struct {
	last map[string]time.Time
}

// saw records span-made calls.
func (t *tracedServices) saw(calls []detectors.Call) {
	if t.last == nil {
		t.last = make(map[string]time.Time)
	}
	for i := range calls {
		svc := tracedKey(&calls[i])
		if _, ok := t.last[svc]; !ok && len(t.last) >= maxTracedServices {
			t.evictOldest()
		}
		if calls[i].Time.After(t.last[svc]) {
			t.last[svc] = calls[i].Time
		}
	}
}

func (t *tracedServices) evictOldest() {
	var oldest string
	var at time.Time
	for svc, ts := range t.last {
		if oldest == "" || ts.Before(at) {
			oldest, at = svc, ts
		}
	}
	delete(t.last, oldest)
}

// tracedKey is what a call is remembered and looked up by: its service, provider and model.
func tracedKey(c *detectors.Call) string { return c.Service + "\x00" + c.Provider + "\x00" + c.Model }

// traced reports whether c's service had a span-made call of c's provider and model within
// spanWindow of c's time, before or after.
func (t *tracedServices) traced(c *detectors.Call) bool {
	last, ok := t.last[tracedKey(c)]
	at := c.Time
	if !ok {
		return false
	}
	d := at.Sub(last)
	return d < spanWindow && d > -spanWindow
}

// skipTraced drops the log-made calls of services that send spans, counting them.
func (p *Pipeline) skipTraced(calls []detectors.Call) []detectors.Call {
	kept := calls[:0]
	for _, c := range calls {
		if p.traced.traced(&c) {
			p.metrics.logsSkipped.Inc()
			continue
		}
		kept = append(kept, c)
	}
	return kept
}
