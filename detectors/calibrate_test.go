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

// arl0Separate solves the run-length system of k cells on its own, as calibrate did before it
// factored once per calibration (runLengths): the reference the factored solves must match.
func arl0Separate(p float64, up, m, k int) float64 {
	w := m + up + 1
	band := make([]float64, k*w)
	rhs := make([]float64, k)
	q := 1 - p
	at := func(i, j int) *float64 { return &band[i*w+(j-i+m)] }
	for i := 0; i < k; i++ {
		*at(i, i) += 1
		if i+up < k {
			*at(i, i+up) -= p
		}
		*at(i, max(i-m, 0)) -= q
		rhs[i] = 1
	}
	for c := 0; c < k; c++ {
		piv := *at(c, c)
		last := min(c+up, k-1)
		for i := c + 1; i <= min(c+m, k-1); i++ {
			f := *at(i, c) / piv
			if f == 0 {
				continue
			}
			for j := c; j <= last; j++ {
				*at(i, j) -= f * *at(c, j)
			}
			rhs[i] -= f * rhs[c]
		}
	}
	l := rhs
	for i := k - 1; i >= 0; i-- {
		s := l[i]
		for j := i + 1; j <= min(i+up, k-1); j++ {
			s -= *at(i, j) * l[j]
		}
		l[i] = s / *at(i, i)
	}
	return l[0]
}

// TestRunLengthsMatchSeparateSolves: the prefix sums of one factorisation give, for every
// threshold, the run length of solving that threshold's system alone (to rounding).
func TestRunLengthsMatchSeparateSolves(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ p0, p1 float64 }{{0.01, 0.2}, {0.0283, 0.2099}, {0.05, 0.8}, {0.002, 0.5}, {0.3, 0.95}} {
		a, b := math.Log(tc.p1/tc.p0), math.Log((1-tc.p1)/(1-tc.p0))
		m := latticeSteps(a, b)
		delta := -b / float64(m)
		up := int(math.Ceil(a/delta - 1e-9))
		kmax := int(math.Ceil(math.Log(1e8)/delta)) + 1
		var r runLengths
		r.factor(tc.p0, up, m, kmax)
		r.solve()
		for _, k := range []int{1, 2, up, kmax / 3, kmax / 2, kmax - 1, kmax} {
			if k < 1 || k > kmax {
				continue
			}
			want := arl0Separate(tc.p0, up, m, k)
			require.InEpsilon(t, want, r.arl[k-1], 1e-12, "p0=%v p1=%v k=%d", tc.p0, tc.p1, k)
		}
		for k := 1; k < kmax; k++ {
			require.GreaterOrEqual(t, r.arl[k], r.arl[k-1], "non-decreasing in the cells")
		}
	}
}

// calibrateBisect is calibrate as it was: bisection of the cells, from 1 to the Lorden bound,
// solving each system on its own.
func calibrateBisect(p0, p1, target float64) float64 {
	a, b := math.Log(p1/p0), math.Log((1-p1)/(1-p0))
	m := latticeSteps(a, b)
	delta := -b / float64(m)
	up := int(math.Ceil(a/delta - 1e-9))
	hi := int(math.Ceil(math.Log(target)/delta)) + 1
	lo := 1
	for lo < hi {
		if mid := (lo + hi) / 2; arl0Separate(p0, up, m, mid) >= target {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return float64(lo) * delta
}

// TestCalibrationMatchesSeparateSolves: calibrate finds the thresholds bisection with separate
// solves found, on the grids the engine designs on (baselines on a 2% grid, alternatives on a
// 5% grid, targets of 2 or 3 × λ_ref·T_FA with λ_ref on a 1.25 grid).
func TestCalibrationMatchesSeparateSolves(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(3, 4))
	n := 300
	if testing.Short() {
		n = 30
	}
	var r runLengths
	for range n {
		p0 := gridUp(0.002*math.Pow(150, rng.Float64()), baselineGrid)
		p1 := []float64{0.8, 0.2, alternative(p0, 0.2, 4*p0/1.25), alternative(p0, 0.5, 0), alternative(p0, 0.1, 10*p0), DefaultConfig().LatencyAlternative}[rng.IntN(6)]
		if p1 <= p0 {
			continue
		}
		lambda := gridUp(math.Pow(10, 3*rng.Float64()), 1.25)
		target := float64(2+rng.IntN(2)) * lambda * 30 * 86400
		require.Equal(t, calibrateBisect(p0, p1, target), r.calibrate(p0, p1, target), "p0=%v p1=%v target=%v", p0, p1, target)
	}
	for _, target := range []float64{1, 10, 100, 1e4} { // small targets: short brackets
		require.Equal(t, calibrateBisect(0.01, 0.2, target), calibrate(0.01, 0.2, target))
	}
}
