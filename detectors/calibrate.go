package detectors

import "math"

// A Bernoulli CUSUM S = max(0, S + (x ? a : b)), with a = ln(p1/p0) > 0 and b = ln((1−p1)/(1−p0))
// < 0, alarms when S ≥ h. Its in-control average run length ARL0(h) (in observations, when
// P(x=1) = p0) is what a threshold is calibrated for.
//
// The exact ARL0 comes from the CUSUM's Markov chain (Brook and Evans): S lives on a lattice of
// step δ = |b|/m, a success steps down m cells, an event steps up A = ⌈a/δ⌉ cells (rounding a up
// makes the chain alarm sooner than the real CUSUM, so the calibrated h errs on the safe side),
// and the run lengths L(i) from each cell solve (I − P)L = 1. The matrix is banded (m below the
// diagonal, A above), so banded elimination solves it in O(K·m·A).

// latticeSteps returns m, the cells a success steps down: at least 8, and enough that an event
// steps up at least 32 cells, so that rounding a costs at most 3%.
func latticeSteps(a, b float64) int {
	return min(64, max(8, int(math.Ceil(32*-b/a))))
}

// arl0 returns the average run length, from S = 0, of the lattice CUSUM with K cells below the
// threshold, event probability p, and steps +up and −m. buf is scratch space.
func arl0(p float64, up, m, k int, buf []float64) (float64, []float64) {
	w := m + up + 1 // band width: columns i−m … i+up
	need := k * w
	if cap(buf) < need {
		buf = make([]float64, need)
	}
	band := buf[:need]
	clear(band)
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
	// Elimination without pivoting is stable here: I − P is a nonsingular M-matrix.
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
	// Back substitution.
	l := rhs
	for i := k - 1; i >= 0; i-- {
		s := l[i]
		for j := i + 1; j <= min(i+up, k-1); j++ {
			s -= *at(i, j) * l[j]
		}
		l[i] = s / *at(i, i)
	}
	return l[0], buf
}

// calibrate returns the smallest threshold h on the lattice whose exact in-control ARL0 reaches
// target observations, for a CUSUM designed for p0 → p1 and run against true rate p0.
func calibrate(p0, p1, target float64) float64 {
	a, b := math.Log(p1/p0), math.Log((1-p1)/(1-p0))
	m := latticeSteps(a, b)
	delta := -b / float64(m)
	up := int(math.Ceil(a/delta - 1e-9))
	// ARL0 ≥ e^h (Lorden), so the threshold is at most ln(target).
	hi := int(math.Ceil(math.Log(target)/delta)) + 1
	lo := 1
	var buf []float64
	for lo < hi {
		mid := (lo + hi) / 2
		var l float64
		l, buf = arl0(p0, up, m, mid, buf)
		if l >= target {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return float64(lo) * delta
}

// closedFormThreshold is the guaranteed fallback h = ln(target): ARL0 ≥ e^h for any CUSUM of
// log-likelihood ratios (Lorden 1971).
func closedFormThreshold(target float64) float64 { return math.Log(target) }

// grid rounds v up to the next point of a log grid of ratio r: calibrations are cached per grid
// point, and rounding up is the conservative direction for both baselines and reference rates.
func gridUp(v, r float64) float64 {
	return math.Pow(r, math.Ceil(math.Log(v)/math.Log(r)-1e-9))
}

// thresholdKey identifies a calibration in the cache.
type thresholdKey struct {
	p0, p1, target float64
	exact          bool
}

// maxCachedThresholds bounds an engine's calibration cache: at the default caps (32 providers
// of 64 models, about 2,100 series) with a few distinct designs each, it holds every live
// design; an entry is about 100 bytes, so the cache stays under 2 MB.
const maxCachedThresholds = 1 << 14

// thresholds hands out calibrated thresholds, exact or closed-form. Calibrations are pure
// functions of their key and cost up to a few milliseconds each (calibrate), and every series
// redesigns its members each minute, so they are cached. The cache belongs to one engine (the
// engine is not safe for concurrent use, so neither is the cache) and is released with it:
// engines in one process share no mutable state. When full, an arbitrary entry is evicted;
// which one changes only the cost of a later calibration, never its result.
type thresholds struct {
	exact bool
	cache map[thresholdKey]float64
}

func (t *thresholds) get(p0, p1, target float64) float64 {
	k := thresholdKey{p0, p1, target, t.exact}
	if h, ok := t.cache[k]; ok {
		return h
	}
	h := closedFormThreshold(target)
	if t.exact {
		h = calibrate(p0, p1, target)
	}
	if t.cache == nil {
		t.cache = make(map[thresholdKey]float64)
	}
	if len(t.cache) >= maxCachedThresholds {
		for old := range t.cache {
			delete(t.cache, old)
			break
		}
	}
	t.cache[k] = h
	return h
}
