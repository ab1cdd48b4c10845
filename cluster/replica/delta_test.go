package replica

import (
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/outagewatch/outagewatch/detectors"
)

// TestDeltaRoundTrip: patch(old, diff(old, cur)) is cur, whatever moved (figures, a state, the
// evidence, a local verdict), and a board whose series changed is no delta.
func TestDeltaRoundTrip(t *testing.T) {
	t.Parallel()
	old := boardOf(1200)
	cur := slices.Clone(old)
	for i := range cur {
		if i%3 == 0 {
			cur[i].Figures.CallRate += 1
			cur[i].Figures.LatencyP95 += time.Millisecond
		}
	}
	cur[5].State, cur[5].Evidence = detectors.StateDown, downEvidence
	cur[700].Local = []detectors.Status{{Series: detectors.SeriesKey{Provider: cur[700].Series.Provider, Model: cur[700].Series.Model,
		Caller: detectors.Caller{Kind: detectors.CallerService, Name: "batch-jobs"}}, State: detectors.StateDown, Evidence: downEvidence}}
	cur[900].Evidence.Classes = []detectors.ClassCount{{Class: detectors.ClassTimeout, Count: 2}}

	changed, figures, ok := diff(old, cur)
	require.True(t, ok)
	require.Len(t, figures, 400)
	require.Len(t, changed, 3)
	got, err := patch(old, changed, figures)
	require.NoError(t, err)
	require.Equal(t, cur, got)
	require.NotEqual(t, cur[5].State, old[5].State, "patch leaves old as it was")

	changed, figures, ok = diff(old, old)
	require.True(t, ok)
	require.Empty(t, changed)
	require.Empty(t, figures)

	_, _, ok = diff(old, cur[1:])
	require.False(t, ok, "a series gone")
	moved := slices.Clone(cur)
	moved[3], moved[4] = moved[4], moved[3]
	_, _, ok = diff(old, moved)
	require.False(t, ok, "another order")

	_, err = patch(old[:10], changed, []figuresAt{{I: 10}})
	require.Error(t, err)
	_, err = patch(old, []statusAt{{I: 1, S: old[2]}}, nil)
	require.Error(t, err, "a status for another series")
}

// TestFiguresReachTheFollower: figures that move without a transition reach the follower's board
// (a delta frame), with its version unchanged.
func TestFiguresReachTheFollower(t *testing.T) {
	t.Parallel()
	lb, st := healthyBoard()
	l := startLeader(t, lb)
	r := startReplica(t, l.addr, testToken, 2*time.Second)
	r.waitFresh(t)
	st = slices.Clone(st)
	st[1].Figures.CallRate = 42
	gen := r.board.Generation()
	lb.Update(st, nil)
	for {
		ch := r.board.Updated()
		if s, _ := r.board.Get(modelKey); s.Figures.CallRate == 42 {
			break
		}
		waitFor(t, ch, "the figures on the follower")
	}
	require.Greater(t, r.board.Generation(), gen)
	require.EqualValues(t, 1, r.board.Version())
	_, statuses := r.board.Snapshot()
	_, want := lb.Snapshot()
	require.Equal(t, want, statuses)
}
