package main

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

// tFASeconds is T_FA, 30 days: at λ calls/s a series sees λ·tFASeconds calls in it.
const tFASeconds = 30 * 24 * 3600

// TestBoundTable recomputes the closed-form delay bound as docs/bench.md states it: for the two
// error members (p1d = max(0.20, 4·p0) and 0.80), a = ln(p1d/p0), b = ln((1−p1d)/(1−p0)),
// h = ln(2·λ·T_FA) and μ = p1·a + (1−p1)·b, the bound is the least (h + a)/(λ·μ) over the
// members with μ > 0.
func TestBoundTable(t *testing.T) {
	for i, p0 := range benchP0s {
		for j, p1 := range benchP1s {
			for k, rate := range benchRates {
				h := math.Log(2 * rate * tFASeconds)
				bound := math.Inf(1)
				for _, p1d := range []float64{max(0.20, 4*p0), 0.80} {
					a, b := math.Log(p1d/p0), math.Log((1-p1d)/(1-p0))
					if mu := p1*a + (1-p1)*b; mu > 0 {
						bound = min(bound, (h+a)/(rate*mu))
					}
				}
				// The entry is the bound to two or three figures (57.46 is written 58): half a
				// unit in the second figure, and 1%.
				got := boundTable[i][j][k]
				tol := 0.5*math.Pow(10, math.Floor(math.Log10(got))-1) + 0.01*bound
				require.InDelta(t, bound, got, tol, "p0=%v p1=%v λ=%v", p0, p1, rate)
			}
		}
	}
}

// TestOptimumTotalOutage checks Table A's column for p1 = 100%, where the optimal CUSUM is a run
// of consecutive errors: the shortest run n whose mean wait under p0,
// (1 − p0^n)/((1 − p0)·p0^n) calls, is at least λ·T_FA calls (one false alarm per 30 days), and
// the delay is n/λ.
func TestOptimumTotalOutage(t *testing.T) {
	j := index(benchP1s, 1)
	for i, p0 := range benchP0s {
		for k, rate := range benchRates {
			n := 1
			for (1-math.Pow(p0, float64(n)))/((1-p0)*math.Pow(p0, float64(n))) < rate*tFASeconds {
				n++
			}
			require.InDelta(t, float64(n)/rate, optimumTable[i][j][k], 1e-9, "p0=%v λ=%v", p0, rate)
		}
	}
}
