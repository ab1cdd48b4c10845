package ingest

import (
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
	before := p.asm.Stats()
	for i := range r.calls {
		p.asm.Cap(&r.calls[i])
	}
	after := p.asm.Stats()
	p.metrics.folded.WithLabelValues("provider").Add(float64(after.FoldedProv - before.FoldedProv))
	p.metrics.folded.WithLabelValues("model").Add(float64(after.FoldedModels - before.FoldedModels))
	p.deliverFrom(r.source, r.calls)
}
