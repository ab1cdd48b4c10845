package detectors

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestSampledCallsCountForRatesNotForEvidence: an engine that sees one call in ten, each of
// weight 10, shows the call rate of all of them; its statistics are those of the calls it saw
// (the same states, at the same moments, as with weight 1, for an outage well above the
// thresholds of either).
func TestSampledCallsCountForRatesNotForEvidence(t *testing.T) {
	t.Parallel()
	run := func(weight float64) ([]Transition, Status) {
		e, err := NewEngine(DefaultConfig())
		require.NoError(t, err)
		rng := rand.New(rand.NewPCG(7, 7))
		now := time.Date(2026, 6, 20, 9, 0, 0, 0, time.UTC)
		var trs []Transition
		for i := range 3000 {
			now = now.Add(time.Second)
			c := Call{Time: now, Provider: "anthropic", Model: "claude-sonnet-4-5", Outcome: OutcomeOK, FinishReason: FinishStop,
				Duration: time.Second, RequestID: uint64(i + 1), Weight: weight}
			if i >= 2400 && rng.Float64() < 0.9 {
				c.Outcome, c.ErrorClass, c.HTTPStatus, c.FinishReason = OutcomeError, ClassOverloaded, 529, FinishNone
			}
			trs = e.Observe(now, &c, trs)
			trs = e.Tick(now, trs)
		}
		for _, s := range e.Status(now, nil) {
			if s.Series.Model != "" {
				return trs, s
			}
		}
		t.Fatal("no model series")
		return nil, Status{}
	}
	trs1, st1 := run(0)
	trs10, st10 := run(10)
	require.NotEmpty(t, trs1)
	require.Equal(t, StateDown, st1.State)
	require.Equal(t, len(trs1), len(trs10))
	for i := range trs1 {
		require.Equal(t, trs1[i].Series, trs10[i].Series)
		require.Equal(t, trs1[i].To, trs10[i].To)
		require.Equal(t, trs1[i].At, trs10[i].At, "the same evidence, the same moment")
	}
	require.Equal(t, st1.Figures.Calls, st10.Figures.Calls, "calls seen")
	require.InDelta(t, 10*st1.Figures.CallRate, st10.Figures.CallRate, 1e-9*st10.Figures.CallRate, "calls stood for")
	require.Equal(t, st1.Figures.ErrorRate, st10.Figures.ErrorRate)
}
