package detectors

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// callersRun is a replay of k services calling one model at 7 calls/s each (p0 1%, warm for
// 30 minutes), then a fault from faultAt: on svc-a alone (95% timeouts) or on every service
// (529 on every call). It records the first provider verdict (the model degraded or down) and
// the first local verdict after the fault.
type callersRun struct {
	provider, local time.Duration // from the fault; -1 when none came
	localCaller     Caller
	beforeFault     bool // a verdict of either kind before the fault
}

func replayCallers(t *testing.T, cfg Config, k int, all bool, seed uint64, fault time.Duration) callersRun {
	t.Helper()
	e, err := NewEngine(cfg)
	require.NoError(t, err)
	rng := rand.New(rand.NewPCG(seed, uint64(k)))
	start := time.Date(2026, 6, 20, 9, 0, 0, 0, time.UTC)
	faultAt := start.Add(30 * time.Minute)
	run := callersRun{provider: -1, local: -1}
	var trs []Transition
	now := start
	for i := 0; now.Before(faultAt.Add(fault)); i++ {
		now = now.Add(time.Duration(rng.ExpFloat64() / (7 * float64(k)) * float64(time.Second)))
		svc := fmt.Sprintf("svc-%c", 'a'+rng.IntN(k))
		c := Call{Time: now, Provider: "anthropic", Model: "m", Service: svc, Outcome: OutcomeOK, FinishReason: FinishStop,
			Duration: time.Second, RequestID: uint64(i + 1)}
		p, class := 0.01, ClassOverloaded
		inFault := !now.Before(faultAt)
		switch {
		case inFault && all:
			p = 1
		case inFault && svc == "svc-a":
			p, class = 0.95, ClassTimeout
		}
		if rng.Float64() < p {
			c.Outcome, c.ErrorClass, c.FinishReason = OutcomeError, class, FinishNone
		}
		trs = e.Tick(now, e.Observe(now, &c, trs[:0]))
		for _, tr := range trs {
			if tr.Series.Model != "m" || tr.To < StateDegraded {
				continue
			}
			if !inFault {
				run.beforeFault = true
				continue
			}
			switch {
			case tr.Series.Caller.IsZero() && run.provider < 0:
				run.provider = now.Sub(faultAt)
			case !tr.Series.Caller.IsZero() && run.local < 0:
				run.local, run.localCaller = now.Sub(faultAt), tr.Series.Caller
			}
		}
	}
	return run
}

// TestWhoseFailures: a fault of one service among 2, 3 and 10 is that service's local verdict
// and never the provider's (the model stays healthy for everyone); a fault of every service is
// the provider's verdict, and never a local one first. 20 seeded runs per cell, 60 s of fault;
// the delays are logged (detectbench's multi-caller section measures them at more seeds).
func TestWhoseFailures(t *testing.T) {
	t.Parallel()
	seeds := uint64(20)
	if testing.Short() {
		seeds = 2 // -race -short: scripts/test.sh runs the 20 seeds without -race
	}
	svcA := Caller{Kind: CallerService, Name: "svc-a"}
	for _, k := range []int{2, 3, 10} {
		t.Run(fmt.Sprintf("%d callers", k), func(t *testing.T) {
			t.Parallel()
			var local, everyone, today time.Duration
			off := DefaultConfig()
			off.ConfineWait = 0
			for seed := uint64(1); seed <= seeds; seed++ {
				one := replayCallers(t, DefaultConfig(), k, false, seed, time.Minute)
				require.False(t, one.beforeFault, "seed %d: a verdict before the fault", seed)
				require.Negative(t, one.provider, "seed %d: one service failing must not fail the model over", seed)
				require.GreaterOrEqual(t, one.local, time.Duration(0), "seed %d: svc-a's local verdict", seed)
				require.Equal(t, svcA, one.localCaller)
				local += one.local

				all := replayCallers(t, DefaultConfig(), k, true, seed, time.Minute)
				require.False(t, all.beforeFault, "seed %d", seed)
				require.GreaterOrEqual(t, all.provider, time.Duration(0), "seed %d: every service failing is the provider's", seed)
				require.True(t, all.local < 0 || all.local > all.provider, "seed %d: no local verdict before the provider's: %+v", seed, all)
				everyone += all.provider
				today += replayCallers(t, off, k, true, seed, time.Minute).provider
			}
			n := time.Duration(seeds)
			t.Logf("%d callers: one failing → local verdict in %v on average, provider verdicts 0/%d; all failing → provider verdict in %v on average (%v with the verdict off)",
				k, local/n, seeds, everyone/n, today/n)
		})
	}
}

// TestOneCallerIsTheProvidersVerdict: with one calling service there is no one to compare with,
// and with the verdict's wait off every verdict is the provider's: both as fast as before.
func TestOneCallerIsTheProvidersVerdict(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		k    int
		wait time.Duration
	}{{"one caller", 1, 5 * time.Second}, {"confine_wait 0", 3, 0}} {
		cfg := DefaultConfig()
		cfg.ConfineWait = tc.wait
		run := replayCallers(t, cfg, tc.k, false, 7, time.Minute)
		require.GreaterOrEqual(t, run.provider, time.Duration(0), "%s: the provider's verdict", tc.name)
		require.Negative(t, run.local, "%s: no local verdict", tc.name)
		require.Less(t, run.provider, 5*time.Second, tc.name)
	}
}

// verdictEngine is an engine fed by hand: services call model m at 7 calls/s each, round
// robin, failing as fail says.
type verdictEngine struct {
	t    *testing.T
	e    *Engine
	now  time.Time
	rng  *rand.Rand
	id   uint64
	seen []Transition
}

func newVerdictEngine(t *testing.T) *verdictEngine {
	e, err := NewEngine(DefaultConfig())
	require.NoError(t, err)
	return &verdictEngine{t: t, e: e, now: time.Date(2026, 6, 20, 9, 0, 0, 0, time.UTC), rng: rand.New(rand.NewPCG(11, 11))}
}

// run calls for d; call gives the service and endpoint of call i and whether it fails.
func (v *verdictEngine) run(d time.Duration, call func(i int) (svc, endpoint string, fails bool)) {
	end := v.now.Add(d)
	var trs []Transition
	for i := 0; v.now.Before(end); i++ {
		v.now = v.now.Add(time.Second / 21)
		svc, ep, fails := call(i)
		v.id++
		c := Call{Time: v.now, Provider: "anthropic", Model: "m", Service: svc, Endpoint: ep, Outcome: OutcomeOK,
			FinishReason: FinishStop, Duration: time.Second, RequestID: v.id}
		if fails {
			c.Outcome, c.ErrorClass, c.FinishReason = OutcomeError, ClassTimeout, FinishNone
		}
		trs = v.e.Tick(v.now, v.e.Observe(v.now, &c, trs[:0]))
		v.seen = append(v.seen, trs...)
	}
}

func (v *verdictEngine) status(key SeriesKey) Status {
	for _, s := range v.e.Status(v.now, nil) {
		if s.Series == key {
			return s
		}
	}
	v.t.Fatalf("no series %v", key)
	return Status{}
}

// first returns the first transition of key to a state, and whether there was one.
func (v *verdictEngine) first(key SeriesKey, to State) (Transition, bool) {
	for _, tr := range v.seen {
		if tr.Series == key && tr.To == to {
			return tr, true
		}
	}
	return Transition{}, false
}

// TestLocalVerdictWidensWhenASecondCallerFails: batch-jobs fails alone → its local verdict,
// the model healthy; then search fails too → the model is down at once and batch-jobs' local
// verdict ends as widened; then everyone recovers → the model is healthy again.
func TestLocalVerdictWidensWhenASecondCallerFails(t *testing.T) {
	t.Parallel()
	v := newVerdictEngine(t)
	services := []string{"checkout", "search", "batch-jobs"}
	base := func(i int) (string, string, bool) { return services[i%3], "", v.rng.Float64() < 0.01 }
	v.run(30*time.Minute, base)
	model := SeriesKey{Provider: "anthropic", Model: "m"}
	batch := SeriesKey{Provider: "anthropic", Model: "m", Caller: Caller{Kind: CallerService, Name: "batch-jobs"}}
	require.Equal(t, StateHealthy, v.status(model).State)

	v.run(time.Minute, func(i int) (string, string, bool) {
		svc := services[i%3]
		return svc, "", v.rng.Float64() < map[bool]float64{true: 0.95, false: 0.01}[svc == "batch-jobs"]
	})
	tr, ok := v.first(batch, StateDown)
	require.True(t, ok, "batch-jobs' local verdict: %+v", v.seen)
	require.Equal(t, batch.Caller, tr.Evidence.ConfinedTo)
	st := v.status(model)
	require.Equal(t, StateHealthy, st.State, "the model stays usable for the others")
	require.Len(t, st.Local, 1)
	require.Equal(t, batch, st.Local[0].Series)
	require.Equal(t, StateDown, st.Local[0].State)
	_, down := v.first(model, StateDown)
	require.False(t, down, "no provider verdict while batch-jobs fails alone")
	require.Equal(t, StateHealthy, v.status(SeriesKey{Provider: "anthropic"}).State, "nor the provider's")

	spread := v.now
	v.run(30*time.Second, func(i int) (string, string, bool) {
		svc := services[i%3]
		return svc, "", svc != "checkout" && v.rng.Float64() < 0.95
	})
	tr, ok = v.first(model, StateDown)
	require.True(t, ok, "search failing too: the provider's verdict")
	t.Logf("the provider's verdict %v after search started failing", tr.At.Sub(spread))
	require.Less(t, tr.At.Sub(spread), 3*time.Second, "at once")
	end, ok := v.first(batch, StateHealthy)
	require.True(t, ok, "batch-jobs' local verdict ends")
	require.Equal(t, DetectorWidened, end.Evidence.Detector)
	require.Empty(t, v.status(model).Local)

	v.run(15*time.Minute, base)
	require.Equal(t, StateHealthy, v.status(model).State, "recovered")
}

// TestLocalVerdictRecovers: batch-jobs fails alone for a minute, then recovers: its local
// verdict ends with the recovery's evidence, and the model never left healthy.
func TestLocalVerdictRecovers(t *testing.T) {
	t.Parallel()
	v := newVerdictEngine(t)
	services := []string{"checkout", "search", "batch-jobs"}
	base := func(i int) (string, string, bool) { return services[i%3], "", v.rng.Float64() < 0.01 }
	v.run(30*time.Minute, base)
	v.run(time.Minute, func(i int) (string, string, bool) {
		svc := services[i%3]
		return svc, "", svc == "batch-jobs" && v.rng.Float64() < 0.95
	})
	v.run(15*time.Minute, base)
	batch := SeriesKey{Provider: "anthropic", Model: "m", Caller: Caller{Kind: CallerService, Name: "batch-jobs"}}
	_, ok := v.first(batch, StateDown)
	require.True(t, ok)
	end, ok := v.first(batch, StateHealthy)
	require.True(t, ok, "the local verdict ends: %+v", v.seen)
	require.Equal(t, DetectorRecovery, end.Evidence.Detector)
	for _, tr := range v.seen {
		require.False(t, tr.Series.Caller.IsZero() == false && tr.Series.Caller != batch.Caller, "only batch-jobs: %+v", tr)
		require.False(t, tr.Series.Caller.IsZero() && tr.To >= StateDegraded, "the model and provider stay healthy: %+v", tr)
	}
	require.Empty(t, v.status(SeriesKey{Provider: "anthropic", Model: "m"}).Local)
}

// TestOneEndpointFailing: one service calls the model through two regions; the eu host fails
// (95% timeouts) while us stays at its baseline: the endpoint's local verdict, not the model's.
func TestOneEndpointFailing(t *testing.T) {
	t.Parallel()
	v := newVerdictEngine(t)
	hosts := []string{"us.api.example.com", "eu.api.example.com"}
	v.run(30*time.Minute, func(i int) (string, string, bool) { return "checkout", hosts[i%2], v.rng.Float64() < 0.01 })
	v.run(time.Minute, func(i int) (string, string, bool) {
		h := hosts[i%2]
		return "checkout", h, v.rng.Float64() < map[bool]float64{true: 0.95, false: 0.01}[h == hosts[1]]
	})
	eu := SeriesKey{Provider: "anthropic", Model: "m", Caller: Caller{Kind: CallerEndpoint, Name: hosts[1]}}
	tr, ok := v.first(eu, StateDown)
	require.True(t, ok, "the eu endpoint's local verdict: %+v", v.seen)
	require.Len(t, tr.Evidence.Endpoints, 2)
	require.Equal(t, hosts[1], tr.Evidence.Endpoints[0].Caller)
	_, down := v.first(SeriesKey{Provider: "anthropic", Model: "m"}, StateDown)
	require.False(t, down, "the model stays usable through us")
}

// TestLocalVerdictSurvivesARestart: a snapshot taken during a local verdict restores it: Status
// lists it, and the widening CUSUM goes on.
func TestLocalVerdictSurvivesARestart(t *testing.T) {
	t.Parallel()
	v := newVerdictEngine(t)
	services := []string{"checkout", "search", "batch-jobs"}
	v.run(30*time.Minute, func(i int) (string, string, bool) { return services[i%3], "", v.rng.Float64() < 0.01 })
	v.run(20*time.Second, func(i int) (string, string, bool) {
		svc := services[i%3]
		return svc, "", svc == "batch-jobs" && v.rng.Float64() < 0.95
	})
	model := SeriesKey{Provider: "anthropic", Model: "m"}
	require.Len(t, v.status(model).Local, 1)
	data, err := v.e.Snapshot()
	require.NoError(t, err)
	restored, err := NewEngine(DefaultConfig())
	require.NoError(t, err)
	require.NoError(t, restored.Restore(data))
	v.e = restored
	st := v.status(model)
	require.Equal(t, StateHealthy, st.State)
	require.Len(t, st.Local, 1, "the local verdict is restored")
	require.Equal(t, Caller{Kind: CallerService, Name: "batch-jobs"}, st.Local[0].Series.Caller)
	spread := v.now
	v.seen = nil
	v.run(30*time.Second, func(i int) (string, string, bool) { return services[i%3], "", v.rng.Float64() < 0.95 })
	tr, ok := v.first(model, StateDown)
	require.True(t, ok, "everyone failing after the restart: the provider's verdict")
	require.Less(t, tr.At.Sub(spread), 3*time.Second)
}
