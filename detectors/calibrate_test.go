package detectors

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// simulateARL0 runs the real (continuous) CUSUM on Bernoulli(p0) observations until it alarms,
// runs times, and returns the mean run length.
func simulateARL0(p0, p1, h float64, runs int, rng *rand.Rand) float64 {
	a, b := math.Log(p1/p0), math.Log((1-p1)/(1-p0))
	total := 0
	for r := 0; r < runs; r++ {
		s, n := 0.0, 0
		for s < h {
			n++
			if rng.Float64() < p0 {
				s += a
			} else {
				s = max(0, s+b)
			}
		}
		total += n
	}
	return float64(total) / float64(runs)
}

// TestExactCalibrationMatchesSimulation checks the Markov-chain ARL0 against Monte Carlo on the
// continuous CUSUM, at a target small enough to simulate: the chain must not overstate ARL0
// (that would make the thresholds too low and false alarms too frequent).
func TestExactCalibrationMatchesSimulation(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct{ p0, p1 float64 }{
		{0.01, 0.20}, {0.05, 0.20}, {0.05, 0.80}, {0.0625, 0.20}, {0.002, 0.20},
	} {
		const target = 20_000.0
		h := calibrate(tc.p0, tc.p1, target)
		require.Less(t, h, closedFormThreshold(target), "exact threshold is below the closed form")
		got := simulateARL0(tc.p0, tc.p1, h, 300, rng)
		// The mean of 300 geometric-like run lengths has a relative standard error of ~6%.
		require.Greater(t, got, 0.8*target, "p0=%v p1=%v h=%.2f simulated ARL0 %.0f", tc.p0, tc.p1, h, got)
		require.Less(t, got, 2.0*target, "p0=%v p1=%v h=%.2f simulated ARL0 %.0f (too conservative; run lengths are a step function of h when events are rare and large)", tc.p0, tc.p1, h, got)
	}
}

func TestCalibrationAtProductionTargets(t *testing.T) {
	t.Parallel()
	// 2·λ_ref·T_FA calls at λ_ref = 1, 10, 100/s and T_FA = 30 days.
	for _, lambda := range []float64{1, 10, 100} {
		target := 2 * lambda * 30 * 86400
		for _, p0 := range []float64{0.002, 0.0125, 0.0625, 0.3} {
			p1 := min(0.95, max(0.2, 4*p0))
			h := calibrate(p0, p1, target)
			require.Greater(t, h, 5.0)
			require.LessOrEqual(t, h, closedFormThreshold(target)+1e-9, "λ=%v p0=%v", lambda, p0)
		}
	}
}

func TestGridUp(t *testing.T) {
	t.Parallel()
	for _, v := range []float64{0.002, 0.0123, 0.05, 0.3, 1, 7.3, 100} {
		g := gridUp(v, 1.05)
		require.GreaterOrEqual(t, g, v*(1-1e-9))
		require.Less(t, g, v*1.0500001)
	}
}

func TestFastLog2(t *testing.T) {
	t.Parallel()
	for _, x := range []float64{1e-4, 0.0123, 0.5, 1, 1.7, 3, 1000, 123456.7} {
		require.InDelta(t, math.Log2(x), fastLog2(x), 0.004, "x=%v", x)
	}
	require.Equal(t, 0, sketchIndex(math.NaN()))
	require.Equal(t, sketchBins-1, sketchIndex(1e12))
}

func TestSketchStaysExactAtHighRates(t *testing.T) {
	t.Parallel()
	var s sketch
	// 30 million samples, uniform over bins 100..199: the median stays in the middle.
	for i := 0; i < 30_000_000; i++ {
		s.addIndex(100 + i%100)
	}
	require.Less(t, s.Total, float32(sketchMaxTotal))
	q := s.quantile(0.5).Seconds()
	lo, hi := sketchMin*math.Pow(sketchGamma, 148), sketchMin*math.Pow(sketchGamma, 153)
	require.True(t, q > lo && q < hi, "median %v not in (%v, %v)", q, lo, hi)
	q95 := s.quantile(0.95).Seconds()
	require.Greater(t, q95, sketchMin*math.Pow(sketchGamma, 193))
}

// TestEnginesCalibrateIndependently: each engine owns its calibrations. A threshold one engine
// cached (here, deliberately wrong) is not what another engine uses.
func TestEnginesCalibrateIndependently(t *testing.T) {
	t.Parallel()
	a, err := NewEngine(DefaultConfig())
	require.NoError(t, err)
	b, err := NewEngine(DefaultConfig())
	require.NoError(t, err)
	c := Call{Provider: "anthropic", Model: "claude", Outcome: OutcomeOK}
	a.Observe(t0, &c, nil)
	require.NotEmpty(t, a.th.cache)
	for k := range a.th.cache {
		a.th.cache[k] = 1 // poison a's cache
	}
	b.Observe(t0, &c, nil)
	hb := b.series[SeriesKey{Provider: "anthropic", Model: "claude"}].members[mDown].h
	require.Greater(t, hb, 5.0, "b calibrated for itself")
	require.Len(t, b.th.cache, len(a.th.cache))
	for k, h := range b.th.cache {
		require.Equal(t, calibrate(k.p0, k.p1, k.target), h)
	}
}

func TestThresholdCacheIsBounded(t *testing.T) {
	t.Parallel()
	th := thresholds{} // closed form: cheap to fill
	for i := range maxCachedThresholds + 100 {
		h := th.get(0.01, 0.2, float64(1000+i))
		require.InDelta(t, closedFormThreshold(float64(1000+i)), h, 1e-12)
	}
	require.Len(t, th.cache, maxCachedThresholds)
}
