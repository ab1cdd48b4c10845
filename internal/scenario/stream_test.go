package scenario

import (
	"math"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/outagewatch/outagewatch/detectors"
)

// collect returns the calls of spec up to (not including) until, from its origin.
func collect(tb testing.TB, spec Spec, until time.Duration) []detectors.Call {
	tb.Helper()
	s, err := New(spec)
	require.NoError(tb, err)
	limit := s.Start().Add(until)
	var out []detectors.Call
	var c detectors.Call
	for s.Next(&c) && c.Time.Before(limit) {
		out = append(out, c)
	}
	return out
}

// requireBinomial checks that k successes in n trials are within 5 standard deviations of p.
func requireBinomial(tb testing.TB, k, n int, p float64, what string) {
	tb.Helper()
	require.Positive(tb, n, what)
	sd := math.Sqrt(float64(n) * p * (1 - p))
	require.InDelta(tb, p*float64(n), float64(k), 5*sd+1, "%s: %d of %d, want p=%v", what, k, n, p)
}

// split partitions calls at offset at from the origin.
func split(calls []detectors.Call, at time.Duration) (before, after []detectors.Call) {
	i, _ := slices.BinarySearchFunc(calls, Origin.Add(at), func(c detectors.Call, t time.Time) int {
		return c.Time.Compare(t)
	})
	return calls[:i], calls[i:]
}

func count(calls []detectors.Call, pred func(*detectors.Call) bool) int {
	n := 0
	for i := range calls {
		if pred(&calls[i]) {
			n++
		}
	}
	return n
}

func isError(c *detectors.Call) bool { return c.Outcome == detectors.OutcomeError }

func median(xs []float64) float64 {
	xs = slices.Clone(xs)
	slices.Sort(xs)
	return xs[len(xs)/2]
}

func TestStreamRateAndOrder(t *testing.T) {
	t.Parallel()
	for _, rate := range []float64{0.1, 1, 10, 100} {
		spec := StepOutage(rate, 0.01, 0.01, 0)
		spec.Seed = 7
		horizon := time.Duration(20000/rate) * time.Second // about 20 000 calls
		calls := collect(t, spec, horizon)
		want := rate * horizon.Seconds()
		require.InDelta(t, want, float64(len(calls)), 5*math.Sqrt(want), "rate %v", rate)
		require.True(t, calls[0].Time.After(Origin))
		require.True(t, slices.IsSortedFunc(calls, func(a, b detectors.Call) int { return a.Time.Compare(b.Time) }))
		// Poisson: the squared coefficient of variation of the gaps is 1.
		var sum, sum2 float64
		for i := 1; i < len(calls); i++ {
			g := calls[i].Time.Sub(calls[i-1].Time).Seconds()
			sum += g
			sum2 += g * g
		}
		n := float64(len(calls) - 1)
		mean := sum / n
		require.InDelta(t, 1.0, (sum2/n-mean*mean)/(mean*mean), 0.1, "rate %v", rate)
	}
}

func TestStreamStepErrorRate(t *testing.T) {
	t.Parallel()
	spec := StepOutage(10, 0.05, 0.5, time.Hour)
	spec.Seed = 1
	before, after := split(collect(t, spec, 2*time.Hour), time.Hour)
	requireBinomial(t, count(before, isError), len(before), 0.05, "before")
	requireBinomial(t, count(after, isError), len(after), 0.5, "after")
	for _, c := range after {
		if isError(&c) {
			require.Equal(t, detectors.ClassOverloaded, c.ErrorClass)
			require.Equal(t, 529, c.HTTPStatus)
			require.Equal(t, 1, c.FailedAttempts)
			require.Zero(t, c.OutputTokens)
		} else {
			require.Equal(t, detectors.OutcomeOK, c.Outcome)
			require.Equal(t, detectors.FinishStop, c.FinishReason)
			require.Equal(t, int64(DefaultOutputTokens), c.OutputTokens)
			require.Zero(t, c.FailedAttempts)
		}
		require.Equal(t, DefaultProvider, c.Provider)
		require.Equal(t, DefaultModel, c.Model)
		require.Equal(t, DefaultService, c.Service)
		require.Equal(t, 1, c.Attempts)
	}
}

func TestStreamDeterministic(t *testing.T) {
	t.Parallel()
	spec := TruncationStorm(5, 0.02, 0.002, 1.0/3, time.Minute)
	spec.Seed = 42
	a := collect(t, spec, 10*time.Minute)
	b := collect(t, spec, 10*time.Minute)
	require.Equal(t, a, b)
	spec.Seed = 43
	c := collect(t, spec, 10*time.Minute)
	require.NotEqual(t, a[0].Time, c[0].Time)
	require.NotEqual(t, a[0].RequestID, c[0].RequestID)
}

func TestStreamCommonRandomNumbers(t *testing.T) {
	t.Parallel()
	// Specs that differ only in probabilities share their arrival times.
	a, b := StepOutage(2, 0.01, 0.2, time.Minute), StepOutage(2, 0.05, 1, time.Minute)
	a.Seed, b.Seed = 9, 9
	ca, cb := collect(t, a, time.Hour), collect(t, b, time.Hour)
	require.Equal(t, len(ca), len(cb))
	for i := range ca {
		require.Equal(t, ca[i].Time, cb[i].Time)
	}
}

func TestStreamTruncation(t *testing.T) {
	t.Parallel()
	spec := TruncationStorm(10, 0.01, 0.002, 1.0/3, time.Hour)
	spec.Seed = 3
	before, after := split(collect(t, spec, 2*time.Hour), time.Hour)
	isTrunc := func(c *detectors.Call) bool { return c.Outcome == detectors.OutcomeTruncated }
	started := func(c *detectors.Call) bool { return c.Outcome != detectors.OutcomeError }
	requireBinomial(t, count(before, isTrunc), count(before, started), 0.002, "before")
	requireBinomial(t, count(after, isTrunc), count(after, started), 1.0/3, "after")
	requireBinomial(t, count(after, isError), len(after), 0.01, "errors")
	for _, c := range after {
		require.True(t, c.Streaming)
		switch c.Outcome {
		case detectors.OutcomeTruncated:
			require.Equal(t, detectors.FinishNone, c.FinishReason)
			require.Positive(t, c.TTFT)
		case detectors.OutcomeOK:
			require.Equal(t, detectors.FinishStop, c.FinishReason)
			require.Greater(t, c.Duration, c.TTFT)
		}
	}
}

func TestStreamLatencySlowdown(t *testing.T) {
	t.Parallel()
	spec := LatencySlowdown(10, 0.01, 2, time.Hour)
	spec.Seed = 5
	before, after := split(collect(t, spec, 2*time.Hour), time.Hour)
	durations := func(calls []detectors.Call) (med, logSD float64) {
		var xs, logs []float64
		for _, c := range calls {
			if c.Outcome == detectors.OutcomeOK {
				xs = append(xs, c.Duration.Seconds())
				logs = append(logs, math.Log(c.Duration.Seconds()))
			}
		}
		var m, m2 float64
		for _, l := range logs {
			m += l
			m2 += l * l
		}
		n := float64(len(logs))
		return median(xs), math.Sqrt(m2/n - (m/n)*(m/n))
	}
	med0, sd0 := durations(before)
	med1, sd1 := durations(after)
	require.InEpsilon(t, DefaultLatency.Seconds(), med0, 0.03)
	require.InEpsilon(t, 2*DefaultLatency.Seconds(), med1, 0.03)
	require.InDelta(t, DefaultSigma, sd0, 0.01)
	require.InDelta(t, DefaultSigma, sd1, 0.01)
}

func TestStreamTTFTSlowdown(t *testing.T) {
	t.Parallel()
	spec := TTFTSlowdown(10, 0.01, 3, time.Hour)
	spec.Seed = 6
	before, after := split(collect(t, spec, 2*time.Hour), time.Hour)
	ttfts := func(calls []detectors.Call) float64 {
		var xs []float64
		for _, c := range calls {
			if c.Outcome == detectors.OutcomeOK {
				xs = append(xs, c.TTFT.Seconds())
			}
		}
		return median(xs)
	}
	require.InEpsilon(t, DefaultTTFT.Seconds(), ttfts(before), 0.03)
	require.InEpsilon(t, 3*DefaultTTFT.Seconds(), ttfts(after), 0.03)
}

func TestStreamRateLimitStorm(t *testing.T) {
	t.Parallel()
	spec := RateLimitStorm(10, 0.01, 0.005, 0.6, time.Hour)
	spec.Seed = 8
	before, after := split(collect(t, spec, 2*time.Hour), time.Hour)
	is429 := func(c *detectors.Call) bool {
		return c.ErrorClass == detectors.ClassRateLimited && c.HTTPStatus == 429
	}
	is529 := func(c *detectors.Call) bool { return c.ErrorClass == detectors.ClassOverloaded }
	requireBinomial(t, count(before, is429), len(before), 0.005, "429 before")
	requireBinomial(t, count(after, is429), len(after), 0.99*0.6, "429 after")
	requireBinomial(t, count(after, is529), len(after), 0.01, "529 after")
}

func TestStreamRetryStorms(t *testing.T) {
	t.Parallel()
	const every = 200
	spec := Noise(10, 0.01, every)
	spec.Seed = 11
	calls := collect(t, spec, 2*time.Hour)
	ids := make(map[uint64]bool, len(calls))
	var storms []int
	for i, c := range calls {
		require.False(t, ids[c.RequestID], "request id reused")
		ids[c.RequestID] = true
		if c.Attempts == 3 {
			require.Equal(t, 3, c.FailedAttempts)
			require.Equal(t, detectors.OutcomeError, c.Outcome)
			require.Equal(t, detectors.ClassOverloaded, c.AttemptClass)
			storms = append(storms, i)
		}
	}
	require.InDelta(t, float64(len(calls))/every, float64(len(storms)), 0.05*float64(len(calls))/every)
	for i := 1; i < len(storms); i++ {
		gap := storms[i] - storms[i-1]
		require.GreaterOrEqual(t, gap, every/2)
		require.LessOrEqual(t, gap, 3*every/2)
	}
}

func TestStreamSilence(t *testing.T) {
	t.Parallel()
	spec := Silence(10, 0.01, time.Hour)
	spec.Seed = 12
	s, err := New(spec)
	require.NoError(t, err)
	var c detectors.Call
	var last time.Time
	n := 0
	for s.Next(&c) {
		last = c.Time
		n++
	}
	require.True(t, last.Before(Origin.Add(time.Hour)))
	require.InDelta(t, 36000, n, 5*math.Sqrt(36000))
	require.False(t, s.Next(&c), "an ended stream stays ended")
}

func TestStreamRecovery(t *testing.T) {
	t.Parallel()
	spec := Recovery(10, 0.01, 1, time.Hour, time.Hour+10*time.Minute)
	spec.Seed = 13
	calls := collect(t, spec, 2*time.Hour)
	before, rest := split(calls, time.Hour)
	during, after := split(rest, time.Hour+10*time.Minute)
	requireBinomial(t, count(before, isError), len(before), 0.01, "before")
	require.Equal(t, len(during), count(during, isError))
	requireBinomial(t, count(after, isError), len(after), 0.01, "after")
}

func TestStreamFlapping(t *testing.T) {
	t.Parallel()
	const period = 5 * time.Minute
	spec := Flapping(10, 0.01, time.Hour, period)
	spec.Seed = 14
	calls := collect(t, spec, 3*time.Hour)
	before, after := split(calls, time.Hour)
	require.InDelta(t, 36000, len(before), 5*math.Sqrt(36000))
	perSlot := make([]int, 24) // 2 h after the change in 5-minute slots: off, on, off, on ...
	for _, c := range after {
		perSlot[int(c.Time.Sub(Origin.Add(time.Hour))/period)]++
	}
	for i, n := range perSlot {
		if i%2 == 0 {
			require.Zero(t, n, "slot %d is off", i)
		} else {
			require.InDelta(t, 3000, n, 5*math.Sqrt(3000), "slot %d is on", i)
		}
	}
}

func TestSpecValidate(t *testing.T) {
	t.Parallel()
	for name, spec := range map[string]Spec{
		"zero rate":                  {},
		"infinite rate":              {Rate: math.Inf(1)},
		"bad probability":            {Rate: 1, Errors: Step{Before: 0.1, After: 1.5}},
		"truncation needs streaming": {Rate: 1, Truncated: Flat(0.1)},
		"negative duration":          {Rate: 1, Change: -time.Second},
		"retry every one":            {Rate: 1, RetryEvery: 1},
	} {
		_, err := New(spec)
		require.Error(t, err, name)
	}
	_, err := New(StepOutage(1, 0.01, 0.2, time.Hour))
	require.NoError(t, err)
}

func TestStreamNextDoesNotAllocate(t *testing.T) {
	spec := TruncationStorm(100, 0.01, 0.01, 0.3, time.Second)
	spec.RetryEvery = 100
	s, err := New(spec)
	require.NoError(t, err)
	var c detectors.Call
	require.Zero(t, testing.AllocsPerRun(10000, func() { s.Next(&c) }))
}

func BenchmarkStreamNext(b *testing.B) {
	s, err := New(Noise(100, 0.01, 1000))
	require.NoError(b, err)
	var c detectors.Call
	for b.Loop() {
		s.Next(&c)
	}
}
