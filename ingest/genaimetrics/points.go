package genaimetrics

import (
	"cmp"
	"math"
	"slices"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/outagewatch/outagewatch/detectors"
	"github.com/outagewatch/outagewatch/ingest/normalize"
)

// resource is what calls keep of a ResourceMetrics' resource, as the span path reads it.
type resource struct {
	service, namespace, environment string
	caller                          string // Call.ServiceCaller
}

func readResource(m pcommon.Map) resource {
	r := resource{
		service:     attr(m, "service.name", 128),
		namespace:   attr(m, "service.namespace", 128),
		environment: cmp.Or(attr(m, "deployment.environment.name", 128), attr(m, "deployment.environment", 128)),
	}
	c := detectors.Call{Service: r.service, ServiceNamespace: r.namespace, Environment: r.environment}
	r.caller = c.ServiceCaller()
	return r
}

// attr returns m[k] as a string, at most n bytes; "" when absent.
func attr(m pcommon.Map, k string, n int) string {
	v, ok := m.Get(k)
	if !ok {
		return ""
	}
	return normalize.CapString(v.AsString(), n)
}

// intAttr returns m[k] as an integer (an int, a whole double or a decimal string); 0 otherwise.
func intAttr(m pcommon.Map, k string) int {
	v, ok := m.Get(k)
	if !ok {
		return 0
	}
	switch v.Type() {
	case pcommon.ValueTypeInt:
		if n := v.Int(); n >= 0 && n < 1000 {
			return int(n)
		}
	case pcommon.ValueTypeDouble:
		if f := v.Double(); f >= 0 && f < 1000 && f == math.Trunc(f) {
			return int(f)
		}
	case pcommon.ValueTypeStr:
		return normalize.BareStatus(v.Str())
	}
	return 0
}

// failed sets c's outcome from an HTTP status and an error type: an error when either says so,
// classified as the span path does (the status first, else the error type's text).
func failed(c *detectors.Call, status int, errType string) {
	if status == 0 {
		status = normalize.BareStatus(errType)
	}
	if status < 400 && errType == "" {
		c.HTTPStatus = status
		return
	}
	c.Outcome = detectors.OutcomeError
	c.HTTPStatus = status
	c.ErrorMessage = errType
	if c.ErrorClass = normalize.ClassFromStatus(status); c.ErrorClass == detectors.ClassNone {
		c.ErrorClass = normalize.ClassFromText(errType)
	}
}

// durationTemplate is the call of one gen_ai.client.operation.duration data point; ok is false
// for operations that are no provider call (execute_tool, invoke_agent, ...).
func durationTemplate(res *resource, a pcommon.Map) (c detectors.Call, ok bool) {
	c.Operation = attr(a, "gen_ai.operation.name", 64)
	if normalize.NonProviderOperation(c.Operation) {
		return c, false
	}
	server := attr(a, "server.address", 256)
	c.Provider = cmp.Or(normalize.NormalizeProvider(attr(a, "gen_ai.provider.name", 256)),
		normalize.NormalizeProvider(attr(a, "gen_ai.system", 256)),
		normalize.ProviderOfHost(server), detectors.UnknownProvider)
	c.Model = cmp.Or(attr(a, "gen_ai.request.model", 128), attr(a, "gen_ai.response.model", 128), detectors.UnknownModel)
	c.Endpoint = normalize.Endpoint(server)
	failed(&c, intAttr(a, "http.response.status_code"), attr(a, "error.type", normalize.MaxErrorMessage))
	setResource(&c, res)
	return c, true
}

// geminiTemplate is the call of one gemini_cli.api.request.count data point.
func geminiTemplate(res *resource, a pcommon.Map) detectors.Call {
	c := detectors.Call{Provider: "gcp.gemini", Operation: "generate_content"}
	c.Model = cmp.Or(attr(a, "model", 128), detectors.UnknownModel)
	failed(&c, intAttr(a, "status_code"), attr(a, "error_type", normalize.MaxErrorMessage))
	setResource(&c, res)
	return c
}

// setResource fills in the calling service and the convention.
func setResource(c *detectors.Call, res *resource) {
	c.Service, c.ServiceNamespace, c.Environment = res.service, res.namespace, res.environment
	c.Convention = Convention
}

// point is one data point's count (and sum of durations, in the metric's unit) with its
// timestamps, unix nanoseconds.
type point struct {
	start, ts  uint64
	count      uint64
	sum        float64
	hasSum     bool
	attrs      pcommon.Map
	noRecorded bool
}

// metric appends the calls of one metric's data points.
func (c *Converter) metric(m pmetric.Metric, rm pmetric.ResourceMetrics, sm pmetric.ScopeMetrics, res *resource, out []detectors.Call) []detectors.Call {
	k := streamID{name: m.Name(), res: rm.Resource().Attributes(), scope: sm.Scope().Name(), version: sm.Scope().Version()}
	switch {
	case m.Name() == MetricOperationDuration && m.Type() == pmetric.MetricTypeHistogram:
		h := m.Histogram()
		scale := unitScale(m.Unit())
		for i := range h.DataPoints().Len() {
			dp := h.DataPoints().At(i)
			p := point{start: uint64(dp.StartTimestamp()), ts: uint64(dp.Timestamp()), count: dp.Count(),
				sum: dp.Sum(), hasSum: dp.HasSum(), attrs: dp.Attributes(), noRecorded: dp.Flags().NoRecordedValue()}
			out = c.durationPoint(k, h.AggregationTemporality(), scale, res, p, out)
		}
	case m.Name() == MetricOperationDuration && m.Type() == pmetric.MetricTypeExponentialHistogram:
		h := m.ExponentialHistogram()
		scale := unitScale(m.Unit())
		for i := range h.DataPoints().Len() {
			dp := h.DataPoints().At(i)
			p := point{start: uint64(dp.StartTimestamp()), ts: uint64(dp.Timestamp()), count: dp.Count(),
				sum: dp.Sum(), hasSum: dp.HasSum(), attrs: dp.Attributes(), noRecorded: dp.Flags().NoRecordedValue()}
			out = c.durationPoint(k, h.AggregationTemporality(), scale, res, p, out)
		}
	case m.Name() == MetricGeminiCLIRequests && m.Type() == pmetric.MetricTypeSum:
		s := m.Sum()
		for i := range s.DataPoints().Len() {
			dp := s.DataPoints().At(i)
			p := point{start: uint64(dp.StartTimestamp()), ts: uint64(dp.Timestamp()), attrs: dp.Attributes(),
				noRecorded: dp.Flags().NoRecordedValue()}
			var ok bool
			if p.count, ok = countOf(dp); !ok || !s.IsMonotonic() {
				c.stats.Invalid++
				continue
			}
			out = c.geminiPoint(k, s.AggregationTemporality(), res, p, out)
		}
	}
	return out
}

// countOf reads a counter's value as a count: a non-negative int, or a finite non-negative
// double rounded.
func countOf(dp pmetric.NumberDataPoint) (uint64, bool) {
	switch dp.ValueType() {
	case pmetric.NumberDataPointValueTypeInt:
		if v := dp.IntValue(); v >= 0 {
			return uint64(v), true
		}
	case pmetric.NumberDataPointValueTypeDouble:
		if v := dp.DoubleValue(); v >= 0 && v < 1<<62 {
			return uint64(math.Round(v)), true
		}
	}
	return 0, false
}

// unitScale returns the nanoseconds in one unit of a duration metric; 0 for a unit that is no
// time unit (the calls then carry no duration).
func unitScale(unit string) float64 {
	switch unit {
	case "s", "":
		return 1e9
	case "ms":
		return 1e6
	case "us":
		return 1e3
	case "ns":
		return 1
	}
	return 0
}

func (c *Converter) durationPoint(k streamID, temp pmetric.AggregationTemporality, scale float64, res *resource, p point, out []detectors.Call) []detectors.Call {
	if p.noRecorded {
		return out
	}
	if p.ts == 0 {
		c.stats.Invalid++
		return out
	}
	tmpl, ok := durationTemplate(res, p.attrs)
	if !ok {
		return out
	}
	t := time.Unix(0, int64(p.ts)).UTC()
	c.histos.mark(res.caller, t, c.opts.SpanOverlap)
	n, sum, ok := c.advance(c.hash.key(k, p.attrs), temp, p)
	if !ok || n == 0 {
		return out
	}
	if c.spanned(res.caller, t) {
		c.stats.Skipped += n
		return out
	}
	if p.hasSum && scale > 0 {
		if d := sum / float64(n) * scale; d > 0 && d < math.MaxInt64/2 {
			tmpl.Duration = time.Duration(d)
		}
	}
	tmpl.Time = t
	return c.emit(tmpl, n, out)
}

func (c *Converter) geminiPoint(k streamID, temp pmetric.AggregationTemporality, res *resource, p point, out []detectors.Call) []detectors.Call {
	if p.noRecorded {
		return out
	}
	if p.ts == 0 {
		c.stats.Invalid++
		return out
	}
	t := time.Unix(0, int64(p.ts)).UTC()
	n, _, ok := c.advance(c.hash.key(k, p.attrs), temp, p)
	if !ok || n == 0 {
		return out
	}
	if c.spanned(res.caller, t) || c.histos.within(res.caller, t, c.opts.SpanOverlap) {
		c.stats.Skipped += n
		return out
	}
	tmpl := geminiTemplate(res, p.attrs)
	tmpl.Time = t
	return c.emit(tmpl, n, out)
}

// emit appends n copies of tmpl, at most Options.MaxCallsPerPoint.
func (c *Converter) emit(tmpl detectors.Call, n uint64, out []detectors.Call) []detectors.Call {
	if max := uint64(c.opts.MaxCallsPerPoint); n > max {
		c.stats.Dropped += n - max
		n = max
	}
	out = slices.Grow(out, int(n))
	for range n {
		out = append(out, tmpl)
	}
	c.stats.Calls += n
	return out
}

// advance returns the count (and sum) of p since the previous point of its stream; ok is false
// when p makes no calls. Delta points are taken as they are. A cumulative stream's first point
// counts in full only when the stream started after the Converter and is not one forgotten
// beyond Options.MaxStreams; otherwise it sets the baseline. A lower count or a later start time is a reset:
// the point's count is all calls since its start.
func (c *Converter) advance(key streamKey, temp pmetric.AggregationTemporality, p point) (n uint64, sum float64, ok bool) {
	switch temp {
	case pmetric.AggregationTemporalityDelta:
		return p.count, p.sum, true
	case pmetric.AggregationTemporalityCumulative:
	default:
		c.stats.Invalid++
		return 0, 0, false
	}
	st := c.streams.get(key)
	switch {
	case st == nil:
		forgotten := c.streams.forgotten(key)
		c.streams.put(key, p.start, p.ts, p.count, p.sum)
		if p.start == 0 || p.start < c.started || forgotten {
			c.stats.Baselines++
			return 0, 0, false
		}
		return p.count, p.sum, true
	case p.start != 0 && p.start < st.start:
		c.stats.Invalid++ // a point of the stream's previous run, late
		return 0, 0, false
	case p.start == st.start && p.ts <= st.time:
		return 0, 0, false // the same point again, or an older one
	case p.start != st.start || p.count < st.count:
		c.stats.Resets++
		c.streams.put(key, p.start, p.ts, p.count, p.sum)
		return p.count, p.sum, true
	}
	n, sum = p.count-st.count, p.sum-st.sum
	c.streams.put(key, p.start, p.ts, p.count, p.sum)
	return n, sum, true
}
