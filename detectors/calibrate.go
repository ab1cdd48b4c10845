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
// diagonal, A above), so banded elimination solves it in O(K·m·A); a calibration factors the
// largest system it may need once (runLengths).

// latticeSteps returns m, the cells a success steps down: at least 8, and enough that an event
// steps up at least 32 cells, so that rounding a costs at most 3%.
func latticeSteps(a, b float64) int {
	return min(64, max(8, int(math.Ceil(32*-b/a))))
}

// runLengths is the LU factorisation, without pivoting, of the run-length system (I − P)L = 1 of
// the lattice CUSUM with event probability p, steps +up and −m, and kmax cells below the
// threshold. The system of any K ≤ kmax cells is its leading K×K block (the event steps that
// would leave the block are exactly the ones that alarm), and the LU factors of a leading block
// are the leading blocks of the factors: one elimination, O(kmax·m·up), serves every threshold a
// calibration tries, and each then costs a back substitution, O(K·up). The operations on the
// leading block are those of eliminating the K-cell system alone, in the same order, so the run
// lengths are bit for bit those of separate solves (TestRunLengthsMatchSeparateSolves).
type runLengths struct {
	up, m, w int
	band     []float64 // row i holds columns i−m … i+up
	rhs, l   []float64
}

func factorRunLengths(p float64, up, m, kmax int) *runLengths {
	r := new(runLengths)
	r.factor(p, up, m, kmax)
	return r
}

func (r *runLengths) at(i, j int) *float64 { return &r.band[i*r.w+(j-i+r.m)] }

// factor sets r to the factors of the system of kmax cells, reusing r's memory.
func (r *runLengths) factor(p float64, up, m, kmax int) {
	w := m + up + 1
	r.up, r.m, r.w = up, m, w
	r.band = grow(r.band, kmax*w)
	r.rhs, r.l = grow(r.rhs, kmax), grow(r.l, kmax)
	q := 1 - p
	for i := 0; i < kmax; i++ {
		*r.at(i, i) += 1
		if i+up < kmax {
			*r.at(i, i+up) -= p
		}
		*r.at(i, max(i-m, 0)) -= q
		r.rhs[i] = 1
	}
	// Elimination without pivoting is stable here: I − P is a nonsingular M-matrix. Row i
	// subtracts f × row c over columns c … last; the rows are sliced from column c on, so that
	// the inner loop runs without index arithmetic or bounds checks.
	for c := 0; c < kmax; c++ {
		n := min(c+up, kmax-1) - c + 1
		rowC := r.band[c*w+m : c*w+m+n]
		piv := rowC[0]
		for i := c + 1; i <= min(c+m, kmax-1); i++ {
			rowI := r.band[i*w+c-i+m:]
			f := rowI[0] / piv
			if f == 0 {
				continue
			}
			rowI = rowI[:len(rowC)]
			for j, v := range rowC {
				rowI[j] -= f * v
			}
			r.rhs[i] -= f * r.rhs[c]
		}
	}
}

// grow returns s with length n, zeroed.
func grow(s []float64, n int) []float64 {
	if cap(s) < n {
		return make([]float64, n)
	}
	s = s[:n]
	clear(s)
	return s
}

// arl0 returns the average run length, from S = 0, of the lattice CUSUM with k cells below the
// threshold (k at most the kmax factored): a back substitution on the leading block.
func (r *runLengths) arl0(k int) float64 {
	l := r.l[:k]
	for i := k - 1; i >= 0; i-- {
		n := min(i+r.up, k-1) - i
		row := r.band[i*r.w+r.m : i*r.w+r.m+1+n]
		s := r.rhs[i]
		for j, v := range row[1:] {
			s -= v * l[i+1+j]
		}
		l[i] = s / row[0]
	}
	return l[0]
}

// calibrate returns the smallest threshold h on the lattice whose exact in-control ARL0 reaches
// target observations, for a CUSUM designed for p0 → p1 and run against true rate p0.
func calibrate(p0, p1, target float64) float64 {
	var r runLengths
	return r.calibrate(p0, p1, target)
}

// calibrate is calibrate with r's memory as scratch space. It searches the number of cells K
// (h = K·δ) for the smallest whose run length reaches target: ln ARL0 grows about linearly with
// h (by about δ per cell: ARL0 ≈ C·e^h), so a secant step on ln ARL0 lands within a cell or two
// of the answer, and bisection of the bracket takes over if it does not. Any search of the
// bracket finds the same K, ARL0 being increasing in K; the secant needs about 4 back
// substitutions where bisection took 11.
func (r *runLengths) calibrate(p0, p1, target float64) float64 {
	a, b := math.Log(p1/p0), math.Log((1-p1)/(1-p0))
	m := latticeSteps(a, b)
	delta := -b / float64(m)
	up := int(math.Ceil(a/delta - 1e-9))
	// ARL0 ≥ e^h (Lorden), so the threshold is at most ln(target): the bracket is [lo, hi],
	// with hi taken as reaching target (the answer when nothing below does).
	hi := int(math.Ceil(math.Log(target)/delta)) + 1
	lo := 1
	r.factor(p0, up, m, hi)
	lnTarget := math.Log(target)
	var prevK int
	var prevG float64
	k := hi - 1
	for step := 0; lo < hi; step++ {
		k = min(max(k, lo), hi-1)
		g := math.Log(r.arl0(k)) - lnTarget
		if g >= 0 {
			hi = k
		} else {
			lo = k + 1
		}
		slope := delta
		if step > 0 && k != prevK {
			if s := (g - prevG) / float64(k-prevK); s > 0 {
				slope = s
			}
		}
		prevK, prevG = k, g
		next := float64(k) - g/slope
		if step >= 6 || math.IsNaN(next) || math.IsInf(next, 0) {
			k = (lo + hi) / 2
			continue
		}
		// The smallest K at or above the root; past it by one when the root is a whole cell
		// (g = 0 there), which the bracket's next probe settles.
		k = int(math.Ceil(next))
		if g < 0 && k <= lo-1 {
			k = lo
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
	// scratch is calibrate's memory, kept between calibrations (under 1 MB at the default
	// false-alarm interval).
	scratch runLengths
}

func (t *thresholds) get(p0, p1, target float64) float64 {
	k := thresholdKey{p0, p1, target, t.exact}
	if h, ok := t.cache[k]; ok {
		return h
	}
	h := closedFormThreshold(target)
	if t.exact {
		h = t.scratch.calibrate(p0, p1, target)
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
