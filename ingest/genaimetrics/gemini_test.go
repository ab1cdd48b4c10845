package genaimetrics

import (
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

// geminiExport is one export of the Gemini CLI's request counter (cumulative, monotonic), one
// point per {model, status_code, error_type}.
type geminiPoint struct {
	model      string
	status     int64
	errorType  string
	cumulative int64
}

func geminiMetrics(at time.Duration, pts ...geminiPoint) pmetric.Metrics {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr("service.name", "gemini-cli")
	m := rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	m.SetName(MetricGeminiCLIRequests)
	s := m.SetEmptySum()
	s.SetIsMonotonic(true)
	s.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
	for _, p := range pts {
		dp := s.DataPoints().AppendEmpty()
		dp.SetStartTimestamp(pcommon.NewTimestampFromTime(t0.Add(time.Second)))
		dp.SetTimestamp(pcommon.NewTimestampFromTime(t0.Add(at)))
		dp.SetIntValue(p.cumulative)
		dp.Attributes().PutStr("model", p.model)
		dp.Attributes().PutInt("status_code", p.status)
		if p.errorType != "" {
			dp.Attributes().PutStr("error_type", p.errorType)
		}
	}
	return md
}

func TestGeminiCLIRequestCounter(t *testing.T) {
	c := newTestConverter(Options{})
	got := c.Calls(geminiMetrics(time.Minute,
		geminiPoint{"gemini-2.5-pro", 200, "", 4},
		geminiPoint{"gemini-2.5-pro", 429, "RESOURCE_EXHAUSTED", 2}), nil)
	wantTally(t, "export 1", got, map[string]int{
		"gcp.gemini/gemini-2.5-pro ok ": 4, "gcp.gemini/gemini-2.5-pro error rate_limited": 2})
	got = c.Calls(geminiMetrics(2*time.Minute,
		geminiPoint{"gemini-2.5-pro", 200, "", 5},
		geminiPoint{"gemini-2.5-pro", 429, "RESOURCE_EXHAUSTED", 2},
		geminiPoint{"gemini-2.5-pro", 503, "UNAVAILABLE", 3}), nil)
	wantTally(t, "export 2", got, map[string]int{
		"gcp.gemini/gemini-2.5-pro ok ": 1, "gcp.gemini/gemini-2.5-pro error overloaded": 3})
	for _, call := range got {
		if call.Service != "gemini-cli" || call.Operation != "generate_content" || call.Duration != 0 {
			t.Errorf("call %+v", call)
		}
	}
}

func TestGeminiCLICounterSkippedWhenTheHistogramComesToo(t *testing.T) {
	c := newTestConverter(Options{})
	md := geminiMetrics(time.Minute, geminiPoint{"gemini-2.5-pro", 200, "", 4})
	hist := durationMetrics(explicit, cumulative, map[string]any{"service.name": "gemini-cli"},
		pt{time.Second, time.Minute, 4, 8, genAI("gcp.gemini", "gemini-2.5-pro", "")})
	// The histogram after the counter, in the same export: still read first.
	hist.ResourceMetrics().At(0).ScopeMetrics().MoveAndAppendTo(md.ResourceMetrics().At(0).ScopeMetrics())
	got := c.Calls(md, nil)
	wantTally(t, "both", got, map[string]int{"gcp.gemini/gemini-2.5-pro ok ": 4})
	if s := c.Stats(); s.Skipped != 4 {
		t.Errorf("stats %+v", s)
	}
}
