package genaimetrics

import (
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/outagewatch/outagewatch/detectors"
)

const (
	cumulative = pmetric.AggregationTemporalityCumulative
	delta      = pmetric.AggregationTemporalityDelta
)

func TestCumulativeHistogramThreeExports(t *testing.T) {
	for _, k := range []kind{explicit, exponential} {
		c := newTestConverter(Options{})
		ok, bad := genAI("anthropic", "claude-sonnet-4", ""), genAI("anthropic", "claude-sonnet-4", "529")
		exports := []struct {
			pts  []pt
			want map[string]int
		}{
			{[]pt{{time.Second, time.Minute, 3, 6, ok}, {time.Second, time.Minute, 1, 0.5, bad}},
				map[string]int{"anthropic/claude-sonnet-4 ok ": 3, "anthropic/claude-sonnet-4 error overloaded": 1}},
			{[]pt{{time.Second, 2 * time.Minute, 5, 8, ok}, {time.Second, 2 * time.Minute, 4, 2, bad}},
				map[string]int{"anthropic/claude-sonnet-4 ok ": 2, "anthropic/claude-sonnet-4 error overloaded": 3}},
			{[]pt{{time.Second, 3 * time.Minute, 5, 8, ok}, {time.Second, 3 * time.Minute, 4, 2, bad}},
				map[string]int{}},
		}
		for i, e := range exports {
			got := c.Calls(durationMetrics(k, cumulative, svc, e.pts...), nil)
			wantTally(t, "export "+string(rune('1'+i)), got, e.want)
			for _, call := range got {
				if call.Time != t0.Add(time.Duration(i+1)*time.Minute) {
					t.Errorf("export %d: time %v", i+1, call.Time)
				}
				if call.Service != "checkout" || call.ServiceNamespace != "shop" || call.Environment != "prod" ||
					call.Convention != Convention || call.Operation != "chat" {
					t.Errorf("export %d: call %+v", i+1, call)
				}
				if i == 0 && call.Outcome == detectors.OutcomeOK && call.Duration != 2*time.Second {
					t.Errorf("export 1: mean duration %v, want 2s", call.Duration)
				}
				if i == 1 && call.Outcome == detectors.OutcomeOK && call.Duration != time.Second {
					t.Errorf("export 2: mean duration %v, want 1s (2 s over 2 calls)", call.Duration)
				}
				if call.Outcome == detectors.OutcomeError && (call.HTTPStatus != 529 || call.ErrorMessage != "529") {
					t.Errorf("export %d: error call %+v", i+1, call)
				}
			}
		}
		if s := c.Stats(); s.Calls != 9 || s.Streams != 2 || s.Baselines != 0 {
			t.Errorf("stats %+v", s)
		}
	}
}

func TestDeltaHistogramThreeExports(t *testing.T) {
	for _, k := range []kind{explicit, exponential} {
		c := newTestConverter(Options{})
		a := genAI("openai", "gpt-4o", "")
		for i, n := range []uint64{2, 0, 5} {
			start, end := time.Duration(i)*time.Minute, time.Duration(i+1)*time.Minute
			got := c.Calls(durationMetrics(k, delta, svc, pt{start, end, n, float64(n), a}), nil)
			want := map[string]int{}
			if n > 0 {
				want["openai/gpt-4o ok "] = int(n)
			}
			wantTally(t, "delta", got, want)
		}
		if s := c.Stats(); s.Streams != 0 || s.Calls != 7 {
			t.Errorf("delta streams are not kept: %+v", s)
		}
	}
}

func TestCumulativeResets(t *testing.T) {
	c := newTestConverter(Options{})
	a := genAI("openai", "gpt-4o", "")
	steps := []struct {
		p    pt
		want int
	}{
		{pt{time.Second, time.Minute, 10, 10, a}, 10},         // started after the converter: all
		{pt{time.Second, 2 * time.Minute, 15, 15, a}, 5},      // +5
		{pt{time.Second, 2 * time.Minute, 15, 15, a}, 0},      // the same point again
		{pt{time.Second, 3 * time.Minute, 4, 4, a}, 4},        // lower count: restarted
		{pt{4 * time.Minute, 5 * time.Minute, 20, 20, a}, 20}, // a new start time: restarted
		{pt{time.Second, 6 * time.Minute, 30, 30, a}, 0},      // a late point of an older run
		{pt{4 * time.Minute, 6 * time.Minute, 21, 21, a}, 1},
	}
	for i, s := range steps {
		got := c.Calls(durationMetrics(explicit, cumulative, svc, s.p), nil)
		if len(got) != s.want {
			t.Errorf("step %d: %d calls, want %d", i, len(got), s.want)
		}
	}
	if s := c.Stats(); s.Resets != 2 || s.Invalid != 1 {
		t.Errorf("stats %+v", s)
	}
}

func TestStreamStartedBeforeConverterSetsBaseline(t *testing.T) {
	c := newTestConverter(Options{})
	a := genAI("openai", "gpt-4o", "")
	if got := c.Calls(durationMetrics(explicit, cumulative, svc, pt{-time.Hour, time.Minute, 100, 100, a}), nil); len(got) != 0 {
		t.Fatalf("first point of an old stream: %d calls, want 0", len(got))
	}
	if got := c.Calls(durationMetrics(explicit, cumulative, svc, pt{-time.Hour, 2 * time.Minute, 103, 103, a}), nil); len(got) != 3 {
		t.Fatalf("second point: %d calls, want 3", len(got))
	}
	if s := c.Stats(); s.Baselines != 1 {
		t.Errorf("stats %+v", s)
	}
}

func TestErrorTypeClass(t *testing.T) {
	cases := []struct {
		errType string
		status  int
		class   detectors.ErrorClass
	}{
		{"529", 0, detectors.ClassOverloaded},
		{"429", 0, detectors.ClassRateLimited},
		{"RateLimitError", 0, detectors.ClassRateLimited},
		{"overloaded_error", 0, detectors.ClassOverloaded},
		{"APIConnectionError", 0, detectors.ClassNetwork},
		{"APITimeoutError", 0, detectors.ClassTimeout},
		{"InternalServerError", 0, detectors.ClassServerError},
		{"AuthenticationError", 0, detectors.ClassAuth},
		{"_OTHER", 0, detectors.ClassOther},
		{"InternalServerError", 529, detectors.ClassOverloaded}, // the status wins, as on spans
		{"", 503, detectors.ClassOverloaded},
	}
	for _, tc := range cases {
		c := newTestConverter(Options{})
		a := genAI("anthropic", "claude", tc.errType)
		if tc.status != 0 {
			a["http.response.status_code"] = int64(tc.status)
		}
		got := c.Calls(durationMetrics(explicit, delta, svc, pt{0, time.Minute, 1, 1, a}), nil)
		if len(got) != 1 || got[0].Outcome != detectors.OutcomeError || got[0].ErrorClass != tc.class {
			t.Errorf("error.type %q status %d: %+v, want error %v", tc.errType, tc.status, got, tc.class)
		}
	}
}

func TestProviderModelAndOperation(t *testing.T) {
	c := newTestConverter(Options{})
	pts := []pt{
		{0, time.Minute, 1, 1, map[string]any{"gen_ai.system": "openai", "gen_ai.operation.name": "chat", "gen_ai.response.model": "gpt-4o-2024-08-06"}},
		{0, time.Minute, 1, 1, map[string]any{"gen_ai.operation.name": "chat", "server.address": "api.anthropic.com", "gen_ai.request.model": "claude"}},
		{0, time.Minute, 1, 1, map[string]any{"gen_ai.provider.name": "google", "gen_ai.system": "vertex_ai", "gen_ai.request.model": "gemini"}},
		{0, time.Minute, 1, 1, map[string]any{"gen_ai.operation.name": "chat"}},
		{0, time.Minute, 7, 1, map[string]any{"gen_ai.operation.name": "execute_tool", "gen_ai.provider.name": "openai"}},
	}
	got := c.Calls(durationMetrics(explicit, delta, svc, pts...), nil)
	wantTally(t, "providers", got, map[string]int{
		"openai/gpt-4o-2024-08-06 ok ": 1, "anthropic/claude ok ": 1, "gcp.gemini/gemini ok ": 1, "unknown/unknown ok ": 1,
	})
	for _, call := range got {
		if call.Provider == "anthropic" && call.Endpoint != "api.anthropic.com" {
			t.Errorf("endpoint %q", call.Endpoint)
		}
	}
}

func TestSpanSeenSkipsTheServicesMetrics(t *testing.T) {
	c := newTestConverter(Options{SpanOverlap: 10 * time.Minute})
	a := genAI("openai", "gpt-4o", "")
	export := func(at time.Duration, count uint64) []detectors.Call {
		return c.Calls(durationMetrics(explicit, cumulative, svc, pt{time.Second, at, count, float64(count), a}), nil)
	}
	if got := export(time.Minute, 4); len(got) != 4 {
		t.Fatalf("before spans: %d calls, want 4", len(got))
	}
	caller := (&detectors.Call{Service: "checkout", ServiceNamespace: "shop", Environment: "prod"}).ServiceCaller()
	c.SpanSeen(caller, t0.Add(90*time.Second))
	c.SpanSeen("other-service", t0.Add(90*time.Second))
	if got := export(2*time.Minute, 10); len(got) != 0 {
		t.Errorf("while spans come: %d calls, want 0", len(got))
	}
	if got := export(11*time.Minute, 12); len(got) != 0 {
		t.Errorf("within the overlap: %d calls, want 0", len(got))
	}
	// Spans stopped (traces turned off): counted again, from the last point on, not since the start.
	if got := export(12*time.Minute, 15); len(got) != 3 {
		t.Errorf("after the overlap: %d calls, want 3", len(got))
	}
	if s := c.Stats(); s.Skipped != 8 || s.Calls != 7 {
		t.Errorf("stats %+v", s)
	}
	// Another service's metrics are not skipped.
	other := map[string]any{"service.name": "search"}
	if got := c.Calls(durationMetrics(explicit, delta, other, pt{0, 2 * time.Minute, 2, 2, a}), nil); len(got) != 2 {
		t.Errorf("other service: %d calls, want 2", len(got))
	}
}

func TestStreamBound(t *testing.T) {
	c := newTestConverter(Options{MaxStreams: 2})
	model := []string{"a", "b", "c"}
	export := func(at time.Duration, count uint64, models ...string) int {
		var pts []pt
		for _, m := range models {
			pts = append(pts, pt{time.Second, at, count, 0, genAI("openai", m, "")})
		}
		return len(c.Calls(durationMetrics(explicit, cumulative, svc, pts...), nil))
	}
	if n := export(time.Minute, 5, model...); n != 15 {
		t.Fatalf("first export: %d calls, want 15", n)
	}
	if s := c.Stats(); s.Streams != 2 || s.Evicted != 1 {
		t.Fatalf("stats %+v", s)
	}
	// "a" was forgotten: seen again, its first point sets the baseline instead of counting its
	// 7 calls since its start again; "b" is forgotten in turn and "c" counts its 2 new calls.
	if n := export(2*time.Minute, 7, "a", "c"); n != 2 {
		t.Errorf("after eviction: %d calls, want 2 (c's)", n)
	}
	if n := export(3*time.Minute, 9, "a"); n != 2 {
		t.Errorf("a again: %d calls, want 2", n)
	}
}

func TestMaxCallsPerPoint(t *testing.T) {
	c := newTestConverter(Options{MaxCallsPerPoint: 5})
	got := c.Calls(durationMetrics(explicit, delta, svc, pt{0, time.Minute, 12, 12, genAI("openai", "m", "")}), nil)
	if len(got) != 5 || c.Dropped() != 7 {
		t.Errorf("%d calls, %d dropped; want 5 and 7", len(got), c.Dropped())
	}
}

func TestUnspecifiedTemporalityAndMissingTimestamp(t *testing.T) {
	c := newTestConverter(Options{})
	a := genAI("openai", "m", "")
	if got := c.Calls(durationMetrics(explicit, pmetric.AggregationTemporalityUnspecified, svc, pt{0, time.Minute, 3, 3, a}), nil); len(got) != 0 {
		t.Errorf("unspecified temporality: %d calls", len(got))
	}
	md := durationMetrics(explicit, delta, svc, pt{0, time.Minute, 3, 3, a})
	md.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().At(0).Histogram().DataPoints().At(0).SetTimestamp(0)
	if got := c.Calls(md, nil); len(got) != 0 {
		t.Errorf("no timestamp: %d calls", len(got))
	}
	if s := c.Stats(); s.Invalid != 2 {
		t.Errorf("stats %+v", s)
	}
}

func TestConcurrentSpanSeenAndCalls(t *testing.T) {
	c := newTestConverter(Options{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 1000 {
			c.SpanSeen("svc-"+string(rune('a'+i%26)), t0.Add(time.Duration(i)*time.Second))
		}
	}()
	a := genAI("openai", "gpt-4o", "")
	for i := range 50 {
		c.Calls(durationMetrics(explicit, cumulative, svc, pt{time.Second, time.Duration(i+1) * time.Minute, uint64(i), 0, a}), nil)
		_ = c.Stats()
	}
	<-done
	if s := c.Stats(); s.Calls != 49 {
		t.Errorf("stats %+v", s)
	}
}

func TestServicesBound(t *testing.T) {
	c := newTestConverter(Options{MaxServices: 3, SpanOverlap: time.Minute})
	for i := range 10 {
		c.SpanSeen(string(rune('a'+i)), t0.Add(time.Duration(i)*time.Second))
	}
	if n := len(c.spans.last); n > 3 {
		t.Errorf("%d services remembered, bound 3", n)
	}
	if !c.spanned("j", t0.Add(10*time.Second)) {
		t.Error("the latest service was forgotten")
	}
}
