package genaimetrics

import (
	"fmt"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/outagewatch/outagewatch/detectors"
)

// t0 is the converters' start in the tests built on hand-made pdata.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func newTestConverter(opts Options) *Converter {
	opts.Now = func() time.Time { return t0 }
	return New(opts)
}

// pt is one hand-made data point: a count and a sum (seconds) over [start, ts].
type pt struct {
	start, ts time.Duration // after t0; a negative start is before the converter
	count     uint64
	sum       float64
	attrs     map[string]any
}

// kind of the hand-made duration metric.
type kind int

const (
	explicit kind = iota
	exponential
)

// durationMetrics returns one export of gen_ai.client.operation.duration from service.
func durationMetrics(k kind, temp pmetric.AggregationTemporality, res map[string]any, pts ...pt) pmetric.Metrics {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	if err := rm.Resource().Attributes().FromRaw(res); err != nil {
		panic(err)
	}
	sm := rm.ScopeMetrics().AppendEmpty()
	sm.Scope().SetName("test")
	m := sm.Metrics().AppendEmpty()
	m.SetName(MetricOperationDuration)
	m.SetUnit("s")
	for _, p := range pts {
		start := pcommon.NewTimestampFromTime(t0.Add(p.start))
		ts := pcommon.NewTimestampFromTime(t0.Add(p.ts))
		var attrs pcommon.Map
		switch k {
		case explicit:
			if m.Type() != pmetric.MetricTypeHistogram {
				m.SetEmptyHistogram().SetAggregationTemporality(temp)
			}
			dp := m.Histogram().DataPoints().AppendEmpty()
			dp.SetStartTimestamp(start)
			dp.SetTimestamp(ts)
			dp.SetCount(p.count)
			dp.SetSum(p.sum)
			attrs = dp.Attributes()
		case exponential:
			if m.Type() != pmetric.MetricTypeExponentialHistogram {
				m.SetEmptyExponentialHistogram().SetAggregationTemporality(temp)
			}
			dp := m.ExponentialHistogram().DataPoints().AppendEmpty()
			dp.SetStartTimestamp(start)
			dp.SetTimestamp(ts)
			dp.SetCount(p.count)
			dp.SetSum(p.sum)
			dp.Positive().BucketCounts().Append(p.count)
			attrs = dp.Attributes()
		}
		if err := attrs.FromRaw(p.attrs); err != nil {
			panic(err)
		}
	}
	return md
}

// genAI returns the attributes of a chat call to provider's model, failed with errType when
// it is not "".
func genAI(provider, model, errType string) map[string]any {
	a := map[string]any{
		"gen_ai.operation.name": "chat",
		"gen_ai.provider.name":  provider,
		"gen_ai.request.model":  model,
	}
	if errType != "" {
		a["error.type"] = errType
	}
	return a
}

var svc = map[string]any{"service.name": "checkout", "service.namespace": "shop", "deployment.environment.name": "prod"}

// tally counts calls by "provider/model outcome class".
func tally(calls []detectors.Call) map[string]int {
	m := map[string]int{}
	for _, c := range calls {
		m[fmt.Sprintf("%s/%s %s %s", c.Provider, c.Model, c.Outcome, c.ErrorClass)]++
	}
	return m
}

func wantTally(t *testing.T, step string, got []detectors.Call, want map[string]int) {
	t.Helper()
	g := tally(got)
	if len(g) != len(want) {
		t.Errorf("%s: calls %v, want %v", step, g, want)
		return
	}
	for k, n := range want {
		if g[k] != n {
			t.Errorf("%s: calls %v, want %v", step, g, want)
			return
		}
	}
}
