package incidents

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/outagewatch/outagewatch/detectors"
)

// TestResetDropsWhatAFormerLeaderQueued: a replica that stops leading while its store refuses
// its writes forgets its queued changes and its lifecycle; an API call waiting in the queue is
// answered ErrNotLeading; Resume then starts from the store.
func TestResetDropsWhatAFormerLeaderQueued(t *testing.T) {
	t.Parallel()
	store := &memStore{fail: true}
	mgr := newManager(t, store)
	mgr.Handle([]detectors.Transition{tr("sonnet", H, D, 0)})
	mgr.tick(t0.Add(11 * time.Second))
	require.Equal(t, 1, mgr.QueueDepth())
	ack := make(chan error, 1)
	go func() {
		_, err := mgr.Acknowledge(context.Background(), 7, "sam")
		ack <- err
	}()
	require.Eventually(t, func() bool { return mgr.QueueDepth() == 2 }, 5*time.Second, time.Millisecond)

	mgr.Reset()
	require.Zero(t, mgr.QueueDepth())
	require.ErrorIs(t, <-ack, ErrNotLeading)
	mgr.mu.Lock()
	require.Empty(t, mgr.active)
	require.Empty(t, mgr.pending)
	mgr.mu.Unlock()

	store.mu.Lock()
	store.fail = false
	store.mu.Unlock()
	require.NoError(t, mgr.flush(context.Background()))
	incs, _, _ := store.snapshot()
	require.Empty(t, incs, "nothing of the former leader's queue was written")
}
