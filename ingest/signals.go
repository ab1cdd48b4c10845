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

// deliverReady hands on the calls of a mapper, their providers and models capped as the
// assembler caps the span-made calls' (seriesCaps).
func (p *Pipeline) deliverReady(r readyCalls) {
	p.queuedCalls.Add(-int64(len(r.calls)))
	for i := range r.calls {
		prov, model := p.caps.apply(&r.calls[i])
		if prov {
			p.metrics.folded.WithLabelValues("provider").Inc()
		}
		if model {
			p.metrics.folded.WithLabelValues("model").Inc()
		}
	}
	p.deliverFrom(r.source, r.calls)
}

// seriesCaps caps the series (provider, model) of the calls made by mappers. The assembler caps
// the span-made calls' on its own (assemble.Config.MaxProviders, MaxModels) and does not say
// which it holds, so seriesCaps learns every series delivered, whatever its source (observe),
// and folds a mapper's call into "other" as the assembler would when its provider, or model,
// is new and the caps are reached among those delivered (apply). Span-made calls are never
// folded here: with spans alone, nothing changes. When both sources bring new providers the
// series stay bounded, by at most twice the caps (the assembler's own, and the mappers' before
// it had any), rather than exactly by them. Only the pipeline goroutine touches it.
type seriesCaps struct {
	maxProviders, maxModels int
	models                  map[string]map[string]struct{}
	last                    [2]string // the series last seen: calls come in runs of one
}

func newSeriesCaps(maxProviders, maxModels int) *seriesCaps {
	return &seriesCaps{maxProviders: maxProviders, maxModels: maxModels, models: map[string]map[string]struct{}{}}
}

// observe learns the series of a call already capped (by the assembler).
func (s *seriesCaps) observe(c *detectors.Call) {
	if c.Provider == s.last[0] && c.Model == s.last[1] {
		return
	}
	models := s.models[c.Provider]
	if models == nil {
		models = map[string]struct{}{}
		s.models[c.Provider] = models
	}
	models[c.Model] = struct{}{}
	s.last = [2]string{c.Provider, c.Model}
}

// apply folds c's provider beyond maxProviders and its model beyond maxModels into "other"
// ("other" counts towards the caps), learns the series, and reports what it folded.
func (s *seriesCaps) apply(c *detectors.Call) (provider, model bool) {
	if c.Provider == s.last[0] && c.Model == s.last[1] {
		return false, false
	}
	models, ok := s.models[c.Provider]
	if !ok && len(s.models) >= s.maxProviders-1 && c.Provider != detectors.OtherProvider {
		provider, c.Provider = true, detectors.OtherProvider
		models = s.models[c.Provider]
	}
	if _, ok := models[c.Model]; !ok && len(models) >= s.maxModels-1 && c.Model != detectors.OtherModel {
		model, c.Model = true, detectors.OtherModel
	}
	s.observe(c)
	return provider, model
}
