package health

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/outagewatch/outagewatch/detectors"
)

func TestBoardVersionsAndWaiters(t *testing.T) {
	t.Parallel()
	b := NewBoard()
	key := detectors.SeriesKey{Provider: "anthropic", Model: "claude"}
	st := []detectors.Status{{Series: key, State: detectors.StateHealthy}}
	b.Update(st, nil)
	require.Zero(t, b.Version(), "figures alone do not move the version")
	got, ok := b.Get(key)
	require.True(t, ok)
	require.Equal(t, detectors.StateHealthy, got.State)

	woke := make(chan uint64, 1)
	go func() { woke <- b.Wait(context.Background(), 0) }()
	time.Sleep(10 * time.Millisecond)
	st[0].State = detectors.StateDown
	b.Update(st, []detectors.Transition{{Series: key, From: detectors.StateHealthy, To: detectors.StateDown}})
	select {
	case v := <-woke:
		require.EqualValues(t, 1, v)
	case <-time.After(5 * time.Second):
		t.Fatal("waiter not woken")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	require.EqualValues(t, 1, b.Wait(ctx, 1), "times out at the current version")

	changes, complete := b.Since(0)
	require.True(t, complete)
	require.Len(t, changes, 1)
	require.Equal(t, detectors.StateDown, changes[0].Transition.To)
	changes, complete = b.Since(1)
	require.True(t, complete)
	require.Empty(t, changes)
}
