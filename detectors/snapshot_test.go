package detectors

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestSnapshotRestoreResumesWithoutColdStart(t *testing.T) {
	t.Parallel()
	s := newStream(t, DefaultConfig(), 5, 31)
	s.run(2*time.Hour, errorsAt(s.rng, 0.02))
	data, err := s.e.Snapshot()
	require.NoError(t, err)
	t.Logf("snapshot of %d series: %d bytes", len(s.e.ordered), len(data))

	restarted, err := NewEngine(DefaultConfig())
	require.NoError(t, err)
	require.NoError(t, restarted.Restore(data, Limits{}))
	key := SeriesKey{Provider: "anthropic", Model: "claude"}
	before, after := s.e.series[key], restarted.series[key]
	require.Equal(t, before.errBase, after.errBase)
	require.Equal(t, before.ttftBase, after.ttftBase)
	require.True(t, after.warm, "no second warm-up")

	// The restarted engine is healthy on its first call and detects an outage at once.
	s.e, s.trans = restarted, nil
	s.run(time.Minute, errorsAt(s.rng, 0.02))
	require.Equal(t, []State{StateHealthy}, statesOf(s.trans, "claude"))
	start := s.now
	s.run(time.Minute, errorsAt(s.rng, 1))
	at, st, ok := s.firstAlarm(start)
	require.True(t, ok)
	require.Equal(t, StateDown, st)
	require.Less(t, at.Sub(start), 10*time.Second)

	_, err = restarted.Snapshot()
	require.NoError(t, err)
	require.Error(t, restarted.Restore(data, Limits{}), "restore into a running engine is refused")
	fresh, _ := NewEngine(DefaultConfig())
	require.Error(t, fresh.Restore([]byte("not a snapshot"), Limits{}))
}

func TestRestoreKeepsTheLimitsMostRecentFirst(t *testing.T) {
	e, err := NewEngine(DefaultConfig())
	require.NoError(t, err)
	t0 := time.Unix(1_782_000_000, 0)
	for i, key := range []SeriesKey{{"b", "m1"}, {"a", "old"}, {"c", "m1"}, {"a", "m1"}, {"a", "m2"}} {
		e.Observe(t0.Add(time.Duration(i)*time.Minute), &Call{Provider: key.Provider, Model: key.Model, Outcome: OutcomeOK, Duration: time.Second}, nil)
	}
	data, err := e.Snapshot()
	require.NoError(t, err)

	restarted, err := NewEngine(DefaultConfig())
	require.NoError(t, err)
	require.NoError(t, restarted.Restore(data, Limits{MaxProviders: 2, MaxModelsPerProvider: 2}))
	var got []SeriesKey
	for k := range restarted.series {
		got = append(got, k)
	}
	require.ElementsMatch(t, []SeriesKey{{"a", "m1"}, {"a", "m2"}, {"c", "m1"}}, got,
		"the two most recently called providers (a, c), and of a's models the two most recent")
}
