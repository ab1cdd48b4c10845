package main

import (
	"flag"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/outagewatch/outagewatch/detectors"
)

// These tests assert the bar of docs/bench.md ("The limit, the bound and the rules measured
// against": the closed-form delay bound and the false-alarm bar) on a subset of the bench's
// grid, replaying the engine alone. The bounds are the hard-coded tables of bounds.go, which
// docs/bench.md states. The seeds are fixed, so a failure is reproducible with the same sizes.
//
// Sizes (the engine costs about 1 µs a call, 2 µs a tick and 0.1 s of calibration per fresh
// engine, so they are what keeps the tests fast):
//   - -short: a smoke test, 3 runs per delay cell (no mean asserted), 1 scenario run and
//     1 day of noise;
//   - default: 40 runs, 3 scenario runs, 30 days of noise at λ=1 and 10 days at λ=10;
//   - -full: 30 runs, 5 scenario runs and 30 days everywhere: the false-alarm bar exactly as
//     docs/bench.md states it.
//
// Fewer days test "at most one false alarm" over a shorter time, which is a weaker bar.

const testSeed = 20260601

var fullBar = flag.Bool("full", false, "assert the bar at full size: 30 runs per delay cell, 30 days of noise at every rate")

// testSizes returns the number of delay runs, scenario runs and noise days at each rate.
func testSizes() (delayRuns, scenarioRuns int, days func(rate float64) int) {
	switch {
	case *fullBar:
		return 30, 5, func(float64) int { return 30 }
	case testing.Short():
		// A smoke test, for the race-enabled run (scripts/test.sh runs the full size without the
		// race detector, which slows the engine tenfold): every cell detects, nothing more.
		return 3, 1, func(float64) int { return 1 }
	}
	return 40, 3, func(rate float64) int { return pick(rate <= 1, 30, 10) }
}

func pick(cond bool, a, b int) int {
	if cond {
		return a
	}
	return b
}

// testSettings are the bench's defaults.
func testSettings() settings {
	return settings{warmup: 2 * time.Hour, cap: 30 * time.Minute, horizon: 30 * time.Minute, stormEvery: 1000}
}

func engineOnly() []ruleKind { return []ruleKind{engineKind(detectors.DefaultConfig())} }

// boundCells are the cells where the test holds the engine to the closed-form bound of
// docs/bench.md. That bound is computed for a detector that knows p0 exactly; the engine designs
// for the 95% upper confidence bound of its learned baseline × 1.25 (the margin that protects
// against false alarms when p0 is underestimated). At p0 = 1% that costs little and every cell
// is inside the bound; at p0 = 5% the margin puts the design baseline near 6.5%, and the cells
// with p1 = 20% (and the hard outage at 1 call/s, by a fraction of a call) are slower than the
// bound, at up to 1.7× the optimum: the bench's table shows them. Every cell is held to
// detectionRatio.
var boundCells = map[[3]float64]bool{
	{1, 0.01, 0.2}: true, {1, 0.01, 0.5}: true, {1, 0.01, 1}: true,
	{10, 0.01, 0.2}: true, {10, 0.01, 0.5}: true, {10, 0.01, 1}: true,
	{1, 0.05, 0.5}: true, {10, 0.05, 0.5}: true, {10, 0.05, 1}: true,
}

// detectionRatio bounds the engine's mean delay in every cell, relative to the optimum.
const detectionRatio = 1.8

// TestEngineDelayBar: at λ ∈ {1, 10}, p0 ∈ {1%, 5%} and p1 ∈ {20%, 50%, 100%}, the engine
// detects every step outage within the cap; its mean delay is at most the closed-form bound and
// at most 1.5× the optimum of Table A in the cells of boundCells, and at most detectionRatio ×
// the optimum in all.
func TestEngineDelayBar(t *testing.T) {
	t.Parallel()
	runs, _, _ := testSizes()
	set := testSettings()
	for _, rate := range []float64{1, 10} {
		for _, p0 := range benchP0s {
			for _, p1 := range benchP1s {
				cell := delayCell{rate: rate, p0: p0, p1: p1}
				t.Run(fmt.Sprintf("rate=%v/p0=%v/p1=%v", rate, p0, p1), func(t *testing.T) {
					t.Parallel()
					sum := 0.0
					for r := range runs {
						run, err := runDelay(t.Context(), engineOnly(), cell, seedFor(testSeed, 1, rate, p0, p1, float64(r)), set)
						require.NoError(t, err)
						require.False(t, run.pre[0], "run %d: alarmed before the change", r)
						require.False(t, math.IsNaN(run.delay[0]), "run %d: no alarm within %s", r, set.cap)
						sum += run.delay[0]
					}
					mean := sum / float64(runs)
					bound, ok := lookup(&boundTable, p0, p1, rate)
					require.True(t, ok)
					opt, ok := lookup(&optimumTable, p0, p1, rate)
					require.True(t, ok)
					t.Logf("mean delay %.3g s over %d runs: %.2f× the optimum %.3g s, bound %.3g s", mean, runs, mean/opt, opt, bound)
					if testing.Short() {
						return // three runs say nothing about a mean
					}
					require.LessOrEqual(t, mean, detectionRatio*opt, "mean delay above %v× the optimum", detectionRatio)
					if boundCells[[3]float64{rate, p0, p1}] {
						require.LessOrEqual(t, mean, bound, "mean delay above the closed-form bound")
						require.LessOrEqual(t, mean, optimalRatio*opt, "mean delay above %v× the optimum", optimalRatio)
					}
				})
			}
		}
	}
}

// TestEngineFalseAlarms: over 30 simulated days of normal traffic with retry storms, at
// λ ∈ {1, 10} and p0 ∈ {1%, 5%}, the model series raises at most one alarm (fewer days
// unless -full: see testSizes).
func TestEngineFalseAlarms(t *testing.T) {
	t.Parallel()
	set := testSettings()
	_, _, daysAt := testSizes()
	for _, rate := range []float64{1, 10} {
		days := daysAt(rate)
		for _, p0 := range benchP0s {
			cell := noiseCell{rate: rate, p0: p0}
			t.Run(fmt.Sprintf("rate=%v/p0=%v/days=%d", rate, p0, days), func(t *testing.T) {
				t.Parallel()
				run, err := runNoise(t.Context(), engineOnly(), cell, days, seedFor(testSeed, 2, rate, p0), set)
				require.NoError(t, err)
				require.LessOrEqual(t, run.onsets[0], falseAlarmBar,
					"false alarms in %d days (by detector: %v)", days, run.causes)
			})
		}
	}
}

// scenarioByName returns the scenario of the table with that name.
func scenarioByName(tb testing.TB, name string) scenarioDef {
	tb.Helper()
	for _, d := range scenarioDefs {
		if d.name == name {
			return d
		}
	}
	tb.Fatalf("no scenario %q", name)
	return scenarioDef{}
}

// scenarioRuns replays a scenario with the engine alone at λ ∈ {1, 10} and checks each run.
func scenarioRuns(t *testing.T, name string, check func(t *testing.T, r scenarioRun)) {
	t.Helper()
	t.Parallel()
	def := scenarioByName(t, name)
	_, runs, _ := testSizes()
	for _, rate := range []float64{1, 10} {
		for r := range runs {
			t.Run(fmt.Sprintf("rate=%v/run=%d", rate, r), func(t *testing.T) {
				t.Parallel()
				run, err := runScenario(t.Context(), engineOnly(), def, rate, seedFor(testSeed, 3, rate, float64(r)), testSettings())
				require.NoError(t, err)
				require.Equal(t, detectors.StateHealthy, run.atChange, "healthy before the change")
				check(t, run)
			})
		}
	}
}

// states returns the names of the states the engine's model series went through after the
// change.
func states(r scenarioRun) []string {
	out := make([]string, len(r.path))
	for i, s := range r.path {
		out[i] = s.to.String()
	}
	return out
}

func TestEngineTruncationStormDegrades(t *testing.T) {
	scenarioRuns(t, "truncation 1/3", func(t *testing.T, r scenarioRun) {
		require.NotEmpty(t, r.path, "no transition after the change")
		require.Equal(t, "degraded", r.path[0].to.String(), "first alarm; path %v", states(r))
		require.Equal(t, detectors.DetectorTruncation, r.path[0].detector)
	})
}

func TestEngineRateLimitStormDegradesButNeverDown(t *testing.T) {
	scenarioRuns(t, "429 storm 60%", func(t *testing.T, r scenarioRun) {
		require.Contains(t, states(r), "degraded", "a 429 storm degrades")
		require.NotContains(t, states(r), "down", "429s alone never mean down")
	})
}

func TestEngineSilenceIsUnknown(t *testing.T) {
	scenarioRuns(t, "silence", func(t *testing.T, r scenarioRun) {
		require.Equal(t, []string{"unknown"}, states(r), "silence makes the series unknown, nothing else")
	})
}

// TestEngineRecovery: a 5-minute total outage takes the series down, and after it ends the
// series steps down → degraded → healthy once each, with no flapping. The only extra
// transition allowed is a degraded alarm just before down.
func TestEngineRecovery(t *testing.T) {
	scenarioRuns(t, "recovery 100%/5m", func(t *testing.T, r scenarioRun) {
		got := states(r)
		if len(got) == 4 && got[0] == "degraded" {
			got = got[1:]
		}
		require.Equal(t, []string{"down", "degraded", "healthy"}, got, "path after the change")
		require.Less(t, r.path[0].after, recoveryOutage.Seconds(), "down during the outage")
		require.Greater(t, r.path[len(r.path)-2].after, recoveryOutage.Seconds(), "down until the outage ended")
	})
}

// TestEngineColdStart holds the cold-start table (coldstart.go) to the targets of docs/bench.md
// at 10 calls/s and p0 = 1%: on a fresh daemon a truncation storm or a 20% error rate that starts
// two minutes after the first call is degraded within 15 s in every run; a brand-new dead model
// is down within one call of a warm one on average; and fresh series whose true rates are twice
// their priors raise no alarm in their first hour (below 1 in 100 fresh starts: none in the
// starts replayed here).
func TestEngineColdStart(t *testing.T) {
	t.Parallel()
	runs, _, _ := testSizes()
	starts := pick(testing.Short(), 3, 30)
	runs = min(runs, 20)
	cell := noiseCell{rate: 10, p0: 0.01}
	set := testSettings()
	mean := func(t *testing.T, k, n int) float64 {
		sum := 0.0
		for r := range n {
			v, err := coldColumns[k].run(t.Context(), cell, seedFor(testSeed, 4, float64(k), float64(r)), set)
			require.NoError(t, err)
			require.False(t, math.IsNaN(v) || math.IsInf(v, 0), "%s run %d: %v", coldColumns[k].name, r, v)
			if !coldColumns[k].alarm {
				require.Less(t, v, 15.0, "%s run %d", coldColumns[k].name, r)
			}
			sum += v
		}
		return sum / float64(n)
	}
	for k, col := range coldColumns {
		t.Run(col.name, func(t *testing.T) {
			t.Parallel()
			if col.alarm {
				require.Zero(t, mean(t, k, starts), "alarms in the first hour of %d fresh starts", starts)
				return
			}
			m := mean(t, k, runs)
			t.Logf("%s: mean %.3g s over %d runs", col.name, m, runs)
		})
	}
	t.Run("new model as fast as warm", func(t *testing.T) {
		t.Parallel()
		fresh, warm := mean(t, 3, runs), mean(t, 4, runs)
		require.LessOrEqual(t, fresh, warm+1/cell.rate, "a brand-new model's hard outage against a warm one's")
	})
}
