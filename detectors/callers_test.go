package detectors

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestEvidenceNamesTheCallersTheFailuresComeFrom: three services call one model at 7 calls/s
// each; one service's calls start failing (95% timeouts) while the others stay at their 1%
// baseline. The alarm's evidence lists, since its change point, the failing service first with
// nearly all the events, and the others with their calls and few or no events.
func TestEvidenceNamesTheCallersTheFailuresComeFrom(t *testing.T) {
	t.Parallel()
	e, err := NewEngine(DefaultConfig())
	require.NoError(t, err)
	rng := rand.New(rand.NewPCG(3, 3))
	now := time.Date(2026, 6, 20, 9, 0, 0, 0, time.UTC)
	services := []string{"checkout", "search", "batch-jobs"}
	var alarm *Transition
	var trs []Transition
	for i := 0; i < 21*600 && alarm == nil; i++ {
		now = now.Add(time.Second / 21)
		svc := services[i%3]
		c := Call{Time: now, Provider: "anthropic", Model: "claude-sonnet-4-5", Service: svc, Outcome: OutcomeOK,
			FinishReason: FinishStop, Duration: time.Second, RequestID: uint64(i + 1)}
		p := 0.01
		if svc == "batch-jobs" && i > 21*300 {
			p = 0.95
		}
		if rng.Float64() < p {
			c.Outcome, c.ErrorClass, c.FinishReason = OutcomeError, ClassTimeout, FinishNone
		}
		trs = e.Tick(now, e.Observe(now, &c, trs[:0]))
		for j := range trs {
			if trs[j].Series.Model != "" && trs[j].To >= StateDegraded {
				alarm = &trs[j]
			}
		}
	}
	require.NotNil(t, alarm, "the failures alarm")
	t.Logf("callers since the change point: %+v", alarm.Evidence.Callers)
	callers := alarm.Evidence.Callers
	require.Len(t, callers, 3, "%+v", alarm.Evidence)
	require.Equal(t, "batch-jobs", callers[0].Caller)
	// A local verdict's figures are its caller's own; the list has everyone's.
	require.Equal(t, alarm.Evidence.Events, callers[0].K, "batch-jobs' events")
	require.Equal(t, alarm.Evidence.SampleSize, callers[0].N, "batch-jobs' calls")
	require.InDelta(t, float64(callers[0].K)/float64(callers[0].N), alarm.Evidence.Observed, 1e-9)
	require.GreaterOrEqual(t, callers[0].K, 4*(callers[1].K+callers[2].K), "the events are batch-jobs': %+v", callers)
	require.Equal(t, Caller{Kind: CallerService, Name: "batch-jobs"}, alarm.Evidence.ConfinedTo, "confined to batch-jobs: the others at their baseline")
	require.Equal(t, alarm.Evidence.ConfinedTo, alarm.Series.Caller, "the alarm is batch-jobs' local verdict")
	for _, c := range callers[1:] {
		require.Positive(t, c.N, "%s called during the excursion", c.Caller)
	}
}

func TestCallerCountsAreBounded(t *testing.T) {
	var cc callerCounts
	cc.add("checkout", true)
	require.Nil(t, cc.shares(), "one caller: no one to compare with")
	for i := range 20 {
		cc.add(string(rune('a'+i)), i%2 == 0)
	}
	sh := cc.shares()
	require.Len(t, sh, maxCallers)
	n := 0
	for _, s := range sh {
		n += s.N
	}
	require.Equal(t, 21, n, "every observation counted, the callers beyond the bound as other")
	require.Contains(t, []string{sh[0].Caller, sh[1].Caller, sh[2].Caller, sh[3].Caller}, OtherCaller)
}
