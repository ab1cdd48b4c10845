package main

import (
	"math"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var t0 = time.Date(2026, time.June, 20, 14, 0, 0, 0, time.UTC)

func mustScenario(tb testing.TB, name string) *scenario {
	tb.Helper()
	sc, err := loadScenario(name)
	require.NoError(tb, err)
	return sc
}

func targetIndex(tb testing.TB, sc *scenario, key string) int {
	tb.Helper()
	for i, t := range sc.Traffic.Targets {
		if t.key() == key {
			return i
		}
	}
	tb.Fatalf("no target %s", key)
	return -1
}

func TestGeneratorTimeline(t *testing.T) {
	t.Parallel()
	sc := mustScenario(t, "outage")
	cases := []struct {
		name  string
		total time.Duration
		want  []string
		end   time.Duration
	}{
		{"as written", 0, []string{"baseline", "outage", "recovery"}, 210 * time.Second},
		{"cut", 90 * time.Second, []string{"baseline", "outage"}, 90 * time.Second},
		{"stretched", 5 * time.Minute, []string{"baseline", "outage", "recovery"}, 5 * time.Minute},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g := newGenerator(sc, 1, t0, tc.total)
			var names []string
			for _, w := range g.windows {
				names = append(names, w.name)
			}
			require.Equal(t, tc.want, names)
			require.Equal(t, t0.Add(tc.end), g.end())
			require.Equal(t, "outage", g.windowAt(t0.Add(60*time.Second)).name)
			require.Equal(t, "baseline", g.windowAt(t0.Add(60*time.Second-1)).name)
			require.Equal(t, "baseline", g.windowAt(t0.Add(-time.Second)).name)
			require.Equal(t, names[len(names)-1], g.windowAt(t0.Add(time.Hour)).name)
		})
	}
}

func TestGeneratorIsDeterministic(t *testing.T) {
	t.Parallel()
	sc := mustScenario(t, "baseline")
	draw := func(seed uint64) []*callPlan {
		g := newGenerator(sc, seed, t0, time.Minute)
		var out []*callPlan
		at := t0
		for range 50 {
			next, ok := g.nextArrival(0, at)
			require.True(t, ok)
			out = append(out, g.plan(0, next))
			at = next
		}
		return out
	}
	require.Equal(t, draw(7), draw(7))
	require.NotEqual(t, draw(7), draw(8))
}

// A full outage: every attempt is a 529, the SDK retries twice, the call fails.
func TestOutageFailsEveryAttempt(t *testing.T) {
	t.Parallel()
	sc := mustScenario(t, "outage")
	g := newGenerator(sc, 1, t0, 0)
	ti := targetIndex(t, sc, "anthropic/claude-sonnet-4-5")
	for i := range 200 {
		c := g.plan(ti, t0.Add(61*time.Second+time.Duration(i)*100*time.Millisecond))
		require.Len(t, c.attempts, 3)
		for _, a := range c.attempts {
			require.Equal(t, resultOverloaded, a.result)
			require.True(t, a.end.After(a.start))
		}
		require.True(t, c.failed())
		require.True(t, c.end.After(c.last().end))
		require.Less(t, c.end.Sub(c.start), 10*time.Second)
		// Retries wait 0.5 s then 1 s, less up to 25%.
		gap := c.attempts[1].start.Sub(c.attempts[0].end)
		require.True(t, gap >= 375*time.Millisecond && gap <= 500*time.Millisecond || c.shape == shapeVercel, "gap %s", gap)
	}
	// The other targets keep their baseline.
	other := targetIndex(t, sc, "openai/gpt-4o")
	failed := 0
	for i := range 500 {
		if g.plan(other, t0.Add(61*time.Second+time.Duration(i)*100*time.Millisecond)).failed() {
			failed++
		}
	}
	require.Zero(t, failed)
}

// An attempt follows the phase in force when it starts: a call begun just before the outage
// has its retries fail.
func TestAttemptsFollowThePhaseAtTheirStart(t *testing.T) {
	t.Parallel()
	sc := mustScenario(t, "outage")
	sc.Traffic.Errors = errorMix{Overloaded: 1}    // every baseline attempt fails too...
	sc.Phases[1].Overrides[0].Errors = &errorMix{} // ...and none during the "outage"
	g := newGenerator(sc, 1, t0, 0)
	ti := targetIndex(t, sc, "anthropic/claude-sonnet-4-5")
	c := g.plan(ti, t0.Add(60*time.Second-100*time.Millisecond))
	require.Len(t, c.attempts, 2)
	require.Equal(t, resultOverloaded, c.attempts[0].result)
	require.Equal(t, resultOK, c.attempts[1].result)
}

func TestArrivalRates(t *testing.T) {
	t.Parallel()
	sc := mustScenario(t, "baseline")
	sc.Phases[0].Overrides = []override{{Target: "openai/gpt-4o", RateFactor: ptr(0.0)}}
	g := newGenerator(sc, 3, t0, 10*time.Minute)
	for ti, tg := range sc.Traffic.Targets {
		n := 0
		for at, ok := g.nextArrival(ti, t0); ok; at, ok = g.nextArrival(ti, at) {
			n++
		}
		want := tg.Rate * 600
		if tg.key() == "openai/gpt-4o" {
			want = 0
		}
		require.InDelta(t, want, float64(n), 4*math.Sqrt(want)+1, tg.key())
	}
}

// The error mix, truncation, tokens and latencies come out as configured.
func TestCallDistributions(t *testing.T) {
	t.Parallel()
	sc := mustScenario(t, "truncation-storm")
	sc.Traffic.MaxRetries = ptr(0)
	sc.Traffic.Errors = errorMix{Overloaded: 0.05, RateLimited: 0.03, ServerError: 0.02, Timeout: 0.01}
	g := newGenerator(sc, 5, t0, 0)
	ti := targetIndex(t, sc, "anthropic/claude-sonnet-4-5")
	tg := sc.Traffic.Targets[ti]
	const n = 20000
	var results [numResults]int
	var streams, lengths int
	var ttfts []float64
	for i := range n {
		c := g.plan(ti, t0.Add(90*time.Second+time.Duration(i)*time.Millisecond))
		results[c.last().result]++
		if c.stream {
			streams++
		}
		if c.finish == finishLength && !c.failed() {
			lengths++
			require.LessOrEqual(t, c.output, tg.MaxTokens)
		}
		if c.last().result == resultOK && c.stream {
			ttfts = append(ttfts, c.firstChunk().Seconds())
		}
		if c.last().result == resultTimeout {
			require.Equal(t, sc.Traffic.Timeout, c.last().end.Sub(c.last().start))
		}
	}
	frac := func(k int) float64 { return float64(k) / n }
	require.InDelta(t, 0.05, frac(results[resultOverloaded]), 0.006)
	require.InDelta(t, 0.03, frac(results[resultRateLimited]), 0.005)
	require.InDelta(t, 0.02, frac(results[resultServerError]), 0.004)
	require.InDelta(t, 0.01, frac(results[resultTimeout]), 0.003)
	require.InDelta(t, tg.Stream, frac(streams), 0.02)
	// A third of the streams that got their 200 are cut.
	okStreams := float64(streams) * (1 - 0.11)
	require.InDelta(t, 0.33, float64(results[resultTruncated])/okStreams, 0.02)
	require.Positive(t, lengths)
	require.InDelta(t, tg.TTFT.Median.Seconds(), median(ttfts), 0.1*tg.TTFT.Median.Seconds())
}

func TestSlowdownScalesLatency(t *testing.T) {
	t.Parallel()
	sc := mustScenario(t, "slowdown")
	ti := targetIndex(t, sc, "openai/gpt-4o")
	measure := func(at time.Duration) (ttft, perToken float64) {
		g := newGenerator(sc, 9, t0, 0)
		var ttfts, perTokens []float64
		for i := range 4000 {
			c := g.plan(ti, t0.Add(at+time.Duration(i)*time.Millisecond))
			if a := c.last(); a.result == resultOK {
				ttfts = append(ttfts, a.ttft.Seconds())
				perTokens = append(perTokens, (a.end.Sub(a.start)-a.ttft).Seconds()/float64(c.output))
			}
		}
		return median(ttfts), median(perTokens)
	}
	ttft0, tok0 := measure(10 * time.Second)
	ttft1, tok1 := measure(90 * time.Second)
	require.InDelta(t, 3, ttft1/ttft0, 0.3)
	require.InDelta(t, 2.5, tok1/tok0, 0.25)
}

func TestBackoff(t *testing.T) {
	t.Parallel()
	g := newGenerator(mustScenario(t, "baseline"), 1, t0, 0)
	for n, want := range []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 8 * time.Second} {
		d := backoff(shapeGenAI, n, g.rng)
		require.True(t, d > want*3/4-1 && d <= want, "retry %d: %s", n, d)
	}
	require.Equal(t, 4*time.Second, backoff(shapeVercel, 1, g.rng))
}

func ptr[T any](v T) *T { return &v }

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}
