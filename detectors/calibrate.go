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
// diagonal, A above), so banded elimination solves it in O(K·m·A); one elimination gives the
// run lengths of every threshold up to the largest a calibration may need (runLengths).

// latticeSteps returns m, the cells a success steps down: at least 8, and enough that an event
// steps up at least 32 cells, so that rounding a costs at most 3%.
func latticeSteps(a, b float64) int {
	return min(64, max(8, int(math.Ceil(32*-b/a))))
}

// runLengths solves the run-length systems (I − P)L = 1 of the lattice CUSUM with event
// probability p and steps +up and −m, for every number of cells K ≤ kmax at once.
//
// The system of K cells is the leading K×K block of the system of kmax (the event steps that
// would leave the block are exactly the ones that alarm), and the LU factors of a leading block
// are the leading blocks of the factors. So with one elimination, O(kmax·m·up), L_K(0) =
// e0ᵀ·U_K⁻¹·y_K, where y = L⁻¹·1 is the eliminated right-hand side; and zᵀ = e0ᵀ·U⁻¹ solves a
// lower-triangular system (Uᵀz = e0) whose first K entries do not depend on kmax. Hence
// L_K(0) = Σ_{i<K} z_i·y_i: every threshold's run length is a prefix sum, O(kmax·up) for all of
// them. I − P is a nonsingular M-matrix, so z and y are non-negative: the sums have no
// cancellation, and the run length is non-decreasing in K by construction.
type runLengths struct {
	up, m, w int
	band     []float64 // row i holds columns i−m … i+up; U after factor
	rhs      []float64 // y after factor
	arl      []float64 // arl[K−1] = L_K(0)
}

func (r *runLengths) at(i, j int) *float64 { return &r.band[i*r.w+(j-i+r.m)] }

// factor sets r to the factors of the system of kmax cells, reusing r's memory.
func (r *runLengths) factor(p float64, up, m, kmax int) {
	w := m + up + 1
	r.up, r.m, r.w = up, m, w
	r.band = grow(r.band, kmax*w)
	r.rhs = grow(r.rhs, kmax)
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

// solve fills r.arl: arl[K−1] is the average run length, from S = 0, of the lattice CUSUM with
// K cells below the threshold, for every K up to the factored kmax.
func (r *runLengths) solve() {
	k := len(r.rhs)
	r.arl = grow(r.arl, k)
	acc := r.arl // Σ_{j<i} U_ji·z_j, accumulated row by row (U's rows are contiguous)
	var sum float64
	for i := 0; i < k; i++ {
		row := r.band[i*r.w+r.m : i*r.w+r.m+1+min(r.up, k-1-i)]
		z := -acc[i] / row[0]
		if i == 0 {
			z = 1 / row[0]
		}
		for j, u := range row[1:] {
			acc[i+1+j] += u * z
		}
		sum += z * r.rhs[i]
		r.arl[i] = sum // acc[i] is no longer needed
	}
}

// calibrate returns the smallest threshold h on the lattice whose exact in-control ARL0 reaches
// target observations, for a CUSUM designed for p0 → p1 and run against true rate p0.
func calibrate(p0, p1, target float64) float64 {
	var r runLengths
	return r.calibrate(p0, p1, target)
}

// calibrate is calibrate with r's memory as scratch space.
func (r *runLengths) calibrate(p0, p1, target float64) float64 {
	a, b := math.Log(p1/p0), math.Log((1-p1)/(1-p0))
	m := latticeSteps(a, b)
	delta := -b / float64(m)
	up := int(math.Ceil(a/delta - 1e-9))
	// ARL0 ≥ e^h (Lorden), so the threshold is at most ln(target): hi cells, taken as reaching
	// the target when nothing below does.
	hi := int(math.Ceil(math.Log(target)/delta)) + 1
	r.factor(p0, up, m, hi-1)
	r.solve()
	for k, l := range r.arl {
		if l >= target {
			return float64(k+1) * delta
		}
	}
	return float64(hi) * delta
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
