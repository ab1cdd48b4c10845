package detectors

import (
	"bytes"
	"compress/gzip"
	"encoding/gob"
	"math/rand/v2"
	"os"
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
	require.NoError(t, restarted.Restore(data))
	key := SeriesKey{Provider: "anthropic", Model: "claude"}
	before, after := s.e.series[key], restarted.series[key]
	require.Equal(t, before.errBase, after.errBase)
	require.Equal(t, before.ttftBase, after.ttftBase)
	require.True(t, after.warm, "no second warm-up")

	// The restarted engine is healthy from the start and detects an outage at once.
	s.e, s.trans = restarted, nil
	s.run(time.Minute, errorsAt(s.rng, 0.02))
	require.Empty(t, statesOf(s.trans, "claude"), "healthy before and after the restart: no transition")
	start := s.now
	s.run(time.Minute, errorsAt(s.rng, 1))
	at, st, ok := s.firstAlarm(start)
	require.True(t, ok)
	require.Equal(t, StateDown, st)
	require.Less(t, at.Sub(start), 10*time.Second)

	_, err = restarted.Snapshot()
	require.NoError(t, err)
	require.Error(t, restarted.Restore(data), "restore into a running engine is refused")
	fresh, _ := NewEngine(DefaultConfig())
	require.Error(t, fresh.Restore([]byte("not a snapshot")))
}

// follow returns a stream that goes on from s's time with engine e and calls of its own seed,
// so that two engines can be given the same calls.
func follow(s *stream, e *Engine, seed uint64) *stream {
	f := &stream{e: e, rng: rand.New(rand.NewPCG(seed, 7)), now: s.now, lambda: s.lambda, req: s.req}
	f.next = f.now.Add(f.gap())
	return f
}

func restore(tb testing.TB, data []byte) *Engine {
	tb.Helper()
	e, err := NewEngine(DefaultConfig())
	require.NoError(tb, err)
	require.NoError(tb, e.Restore(data))
	return e
}

// TestRestoreKeepsTheState restarts an engine that is down, degraded or healthy: the restored
// engine answers the same Status at once, emits nothing on its own, and from then on makes the
// same transitions as the engine that was saved, given the same calls: a down series recovers
// only through the hold-down and the reverse test. A snapshot older than the silence timeout
// gives unknown on the first Tick, as a live engine would.
func TestRestoreKeepsTheState(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		lambda   float64
		seed     uint64
		fault    func(rng *rand.Rand) func(*Call)
		after    func(rng *rand.Rand) func(*Call)
		want     State
		wantNext []State // the model's transitions after the restart
	}{
		{
			name: "down", lambda: 5, seed: 51,
			fault:    func(rng *rand.Rand) func(*Call) { return errorsAt(rng, 1) },
			after:    func(rng *rand.Rand) func(*Call) { return errorsAt(rng, 0.01) },
			want:     StateDown,
			wantNext: []State{StateDegraded, StateHealthy},
		},
		{
			name: "degraded", lambda: 2, seed: 52,
			fault: func(rng *rand.Rand) func(*Call) { return truncations(rng, 1.0/3) },
			after: func(rng *rand.Rand) func(*Call) { return truncations(rng, 1.0/3) },
			want:  StateDegraded,
		},
		{
			name: "healthy", lambda: 3, seed: 53,
			fault: func(rng *rand.Rand) func(*Call) { return errorsAt(rng, 0.01) },
			after: func(rng *rand.Rand) func(*Call) { return errorsAt(rng, 0.01) },
			want:  StateHealthy,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			saved := func() *stream {
				s := newStream(t, DefaultConfig(), tc.lambda, tc.seed)
				s.run(2*time.Hour, errorsAt(s.rng, 0.01))
				s.run(3*time.Minute, tc.fault(s.rng))
				return s
			}
			s := saved()
			at := s.now
			want := s.e.Status(at, nil)
			require.Equal(t, tc.want, want[1].State, "%v", want[1])
			data, err := s.e.Snapshot()
			require.NoError(t, err)

			r := restore(t, data)
			require.Equal(t, want, r.Status(at, nil), "the same Status right after Restore")
			require.Empty(t, r.Tick(at, nil), "no transition of its own")
			require.Empty(t, s.e.Tick(at, nil))

			orig, next := follow(s, s.e, 99), follow(s, r, 99)
			orig.run(30*time.Minute, tc.after(orig.rng))
			next.run(30*time.Minute, tc.after(next.rng))
			require.Equal(t, orig.trans, next.trans, "the restored engine continues as the saved one")
			require.Equal(t, tc.wantNext, statesOf(next.trans, "claude"))
			if tc.want == StateDown {
				tr := next.trans[0]
				require.Equal(t, StateDegraded, tr.To)
				require.Equal(t, DetectorRecovery, tr.Evidence.Detector)
				require.Greater(t, tr.At.Sub(at), 25*time.Second, "the hold-down of down still holds")
			}
			require.Equal(t, orig.e.Status(orig.now, nil), next.e.Status(next.now, nil))

			// A snapshot older than the silence timeout: the first Tick gives unknown, for the
			// model and its provider, as it does for the engine that saw no call meanwhile.
			late := at.Add(2 * time.Hour)
			trans := restore(t, data).Tick(late, nil)
			require.Equal(t, saved().e.Tick(late, nil), trans)
			require.Len(t, trans, 2)
			for _, tr := range trans {
				require.Equal(t, tc.want, tr.From, "%v", tr)
				require.Equal(t, StateUnknown, tr.To, "%v", tr)
				if tr.Series.Model != "" {
					require.Equal(t, DetectorSilence, tr.Evidence.Detector)
				}
			}
		})
	}
}

// TestRestoreVersion1 restores a snapshot written by the engine before version 2 (a model
// that was down at the time): baselines come back, states do not.
func TestRestoreVersion1(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("testdata/snapshot-v1.gz")
	require.NoError(t, err)
	r := restore(t, data)
	saved := time.Date(2026, 6, 1, 2, 2, 0, 0, time.UTC)
	st := r.Status(saved, nil)
	require.Len(t, st, 2)
	for _, s := range st {
		require.Equal(t, StateUnknown, s.State, "%v", s)
	}
	claude := r.series[SeriesKey{Provider: "anthropic", Model: "claude"}]
	require.True(t, claude.warm)
	require.Positive(t, claude.errBase.Count)
	require.Empty(t, claude.latches)

	s := &stream{e: r, rng: rand.New(rand.NewPCG(1, 7)), now: saved, lambda: 2, req: 1 << 20}
	s.next = s.now.Add(s.gap())
	s.run(time.Minute, errorsAt(s.rng, 0.02))
	require.Equal(t, []State{StateHealthy}, statesOf(s.trans, "claude"), "judged at once, without a warm-up")
}

func TestRestoreKeepsTheLimitsMostRecentFirst(t *testing.T) {
	t.Parallel()
	e, err := NewEngine(DefaultConfig())
	require.NoError(t, err)
	for i, key := range []SeriesKey{{Provider: "b", Model: "m1"}, {Provider: "a", Model: "old"}, {Provider: "c", Model: "m1"}, {Provider: "a", Model: "m1"}, {Provider: "a", Model: "m2"}} {
		e.Observe(t0.Add(time.Duration(i)*time.Minute), &Call{Provider: key.Provider, Model: key.Model, Outcome: OutcomeOK, Duration: time.Second}, nil)
	}
	data, err := e.Snapshot()
	require.NoError(t, err)

	// "other" counts towards the caps, as in ingest: 3 and 3 leave room for two of each.
	cfg := DefaultConfig()
	cfg.Limits = Limits{MaxProviders: 3, MaxModelsPerProvider: 3}
	restarted, err := NewEngine(cfg)
	require.NoError(t, err)
	require.NoError(t, restarted.Restore(data))
	var got []SeriesKey
	for k := range restarted.series {
		got = append(got, k)
	}
	require.ElementsMatch(t, []SeriesKey{{Provider: "a", Model: "m1"}, {Provider: "a", Model: "m2"}, {Provider: "c", Model: "m1"}}, got,
		"the two most recently called providers (a, c), and of a's models the two most recent")
	require.Len(t, restarted.providers, 2)

	// What is beyond the caps after the restore folds into other, or is refused.
	restarted.Observe(t0.Add(time.Hour), &Call{Provider: "a", Model: "new", Outcome: OutcomeOK}, nil)
	restarted.Observe(t0.Add(time.Hour), &Call{Provider: "d", Model: "m1", Outcome: OutcomeOK}, nil)
	require.Contains(t, restarted.series, SeriesKey{Provider: "a", Model: OtherModel})
	require.NotContains(t, restarted.series, SeriesKey{Provider: "a", Model: "new"})
	require.NotContains(t, restarted.providers, "d")
	require.Equal(t, uint64(1), restarted.Folded())
	require.Equal(t, uint64(1), restarted.Refused())
}

// TestRestoreNewSeries restarts an engine whose series are still on their priors (ten minutes
// old): the restored engine continues exactly as the saved one, lagged counts included; the same
// snapshot written as version 2 (without them) is still restored.
func TestRestoreNewSeries(t *testing.T) {
	t.Parallel()
	s := newStream(t, DefaultConfig(), 2, 61)
	s.run(10*time.Minute, errorsAt(s.rng, 0.02))
	claude := s.e.series[SeriesKey{Provider: "anthropic", Model: "claude"}]
	require.False(t, claude.warm)
	require.Positive(t, claude.lag[0][rateErr].N, "lagged counts to keep")
	data, err := s.e.Snapshot()
	require.NoError(t, err)
	savedAt := s.now
	want := s.e.Status(savedAt, nil)
	r := restore(t, data)
	require.Equal(t, claude.lag, r.series[claude.key].lag)
	orig, next := follow(s, s.e, 98), follow(s, r, 98)
	orig.run(10*time.Minute, errorsAt(orig.rng, 0.3))
	next.run(10*time.Minute, errorsAt(next.rng, 0.3))
	require.NotEmpty(t, orig.trans)
	require.Equal(t, orig.trans, next.trans, "the restored engine continues as the saved one")

	snap, err := decodeSnapshot(data)
	require.NoError(t, err)
	snap.Version = 2
	for i := range snap.Series {
		snap.Series[i].Lag, snap.Series[i].LagAt = nil, 0
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	require.NoError(t, gob.NewEncoder(zw).Encode(snap))
	require.NoError(t, zw.Close())
	v2 := restore(t, buf.Bytes())
	require.Equal(t, want, v2.Status(savedAt, nil), "version 2: the same state")
	require.Zero(t, v2.series[claude.key].lag[0][rateErr].N, "version 2: no lagged counts, priors only")
}
