package genaimetrics

import (
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pmetric"
)

// FuzzCalls feeds OTLP protobuf metrics to a Converter twice (so that cumulative streams have a
// previous point): it must never panic, nor make more calls than its bound per point.
func FuzzCalls(f *testing.F) {
	var m pmetric.ProtoMarshaler
	a := genAI("openai", "gpt-4o", "")
	seeds := []pmetric.Metrics{
		durationMetrics(explicit, cumulative, svc, pt{time.Second, time.Minute, 3, 6, a}, pt{time.Second, time.Minute, 1, 1, genAI("anthropic", "c", "529")}),
		durationMetrics(exponential, delta, svc, pt{0, time.Minute, 5, 1, a}),
		durationMetrics(explicit, cumulative, svc, pt{-time.Hour, time.Minute, 1 << 62, -1, a}),
		geminiMetrics(time.Minute, geminiPoint{"gemini-2.5-pro", 429, "RESOURCE_EXHAUSTED", 3}),
	}
	for _, md := range seeds {
		b, err := m.MarshalMetrics(md)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	var u pmetric.ProtoUnmarshaler
	f.Fuzz(func(t *testing.T, b []byte) {
		md, err := u.UnmarshalMetrics(b)
		if err != nil {
			t.Skip()
		}
		c := newTestConverter(Options{MaxCallsPerPoint: 100, MaxStreams: 4})
		c.SpanSeen("svc", t0)
		points := 0
		for _, rm := range md.ResourceMetrics().All() {
			for _, sm := range rm.ScopeMetrics().All() {
				for _, m := range sm.Metrics().All() {
					switch m.Type() {
					case pmetric.MetricTypeHistogram:
						points += m.Histogram().DataPoints().Len()
					case pmetric.MetricTypeExponentialHistogram:
						points += m.ExponentialHistogram().DataPoints().Len()
					case pmetric.MetricTypeSum:
						points += m.Sum().DataPoints().Len()
					}
				}
			}
		}
		for range 2 {
			out := c.Calls(md, nil)
			if len(out) > 100*points {
				t.Fatalf("%d calls from %d points", len(out), points)
			}
			for _, call := range out {
				if call.Duration < 0 || call.Convention != Convention || call.Provider == "" || call.Model == "" {
					t.Fatalf("call %+v", call)
				}
			}
		}
		if s := c.Stats(); s.Streams > 4 {
			t.Fatalf("%d streams kept, bound 4", s.Streams)
		}
	})
}
