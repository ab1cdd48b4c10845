package main

// The figures the bench compares against. docs/bench.md ("The limit, the bound and the rules
// measured against") states them, says how they are computed, and shows them as the optimum and
// bound columns; these tables must agree with it. docs/detection.md describes the detector they
// measure. Each table is indexed by the baseline p0, the outage error rate p1 and the call rate
// λ; delays are mean seconds from the change to the alarm at one false alarm per 30 days per
// series.

// benchRates, benchP0s and benchP1s are the grid of both tables.
var (
	benchRates = []float64{0.1, 1, 10, 100}
	benchP0s   = []float64{0.01, 0.05}
	benchP1s   = []float64{0.2, 0.5, 1}
)

// optimumTable is Table A of docs/bench.md, the fastest possible mean detection delay
// (seconds): the optimal CUSUM for the true p0 and p1, exact Markov-chain solve. Rows are p0
// then p1 (in benchP0s × benchP1s order), columns λ = 0.1, 1, 10, 100.
var optimumTable = [2][3][4]float64{
	{ // p0 = 1%
		{234, 28.9, 3.42, 0.40},  // p1 = 20%
		{71.1, 8.51, 1.01, 0.12}, // p1 = 50%
		{30.0, 4.00, 0.40, 0.05}, // p1 = 100%
	},
	{ // p0 = 5%
		{655, 82.1, 9.85, 1.15},  // p1 = 20%
		{132, 16.0, 1.88, 0.22},  // p1 = 50%
		{50.0, 5.00, 0.60, 0.07}, // p1 = 100%
	},
}

// boundTable is the closed-form delay bound of docs/bench.md: E[delay] ≤ min over members of
// (h + a)/(λ·μ(p1)) for the two error members (p1d = max(0.20, 4·p0) and 0.80) with the
// closed-form threshold h = ln(2·λ·T_FA), rounded to two or three figures; TestBoundTable
// recomputes it. It is a guarantee, and the acceptance tests' limit.
var boundTable = [2][3][4]float64{
	{ // p0 = 1%
		{377, 43, 4.8, 0.54},
		{116, 13.3, 1.5, 0.17},
		{40, 4.5, 0.51, 0.056},
	},
	{ // p0 = 5%
		{1040, 121, 13.7, 1.53},
		{240, 28, 3.2, 0.35},
		{58, 6.6, 0.74, 0.082},
	},
}

// optimalRatio is the bar on the engine's mean delay relative to Table A (the design expected
// the bank at 0.99–1.20× the optimum with exact thresholds and ≤ 1.44× with the closed form,
// docs/bench.md; the bench allows 1.5×).
const optimalRatio = 1.5

// falseAlarmBar is the bar on false alarms per series per 30 days (docs/bench.md, "The
// false-alarm bar").
const falseAlarmBar = 1

// lookup returns the entry of table t for (p0, p1, rate), or false off the grid.
func lookup(t *[2][3][4]float64, p0, p1, rate float64) (float64, bool) {
	i, j, k := index(benchP0s, p0), index(benchP1s, p1), index(benchRates, rate)
	if i < 0 || j < 0 || k < 0 {
		return 0, false
	}
	return t[i][j][k], true
}

func index(xs []float64, x float64) int {
	for i, v := range xs {
		if v == x {
			return i
		}
	}
	return -1
}
