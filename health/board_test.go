package health

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/outagewatch/outagewatch/detectors"
)

func TestBoardVersionsAndWaiters(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
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
		synctest.Wait() // the waiter is blocked in Wait
		select {
		case <-woke:
			t.Fatal("woken before any change")
		default:
		}
		st[0].State = detectors.StateDown
		b.Update(st, []detectors.Transition{{Series: key, From: detectors.StateHealthy, To: detectors.StateDown}})
		require.EqualValues(t, 1, <-woke)

		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		start := time.Now()
		require.EqualValues(t, 1, b.Wait(ctx, 1), "times out at the current version")
		require.Equal(t, 20*time.Millisecond, time.Since(start), "waits until its context ends (bubble time)")

		changes, complete := b.Since(0)
		require.True(t, complete)
		require.Len(t, changes, 1)
		require.Equal(t, detectors.StateDown, changes[0].Transition.To)
		changes, complete = b.Since(1)
		require.True(t, complete)
		require.Empty(t, changes)
	})
}

// TestBoardCloseReleasesWaiters: Close wakes every blocked Wait with the current version, and a
// Wait after Close does not block, even with a context that never ends.
func TestBoardCloseReleasesWaiters(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		b, _ := fixture()
		const waiters = 3
		woke := make(chan uint64, waiters)
		for range waiters {
			go func() { woke <- b.Wait(context.Background(), b.Version()) }()
		}
		synctest.Wait()
		require.Empty(t, woke, "nothing changed: every waiter blocks")

		b.Close()
		for range waiters {
			require.EqualValues(t, 1, <-woke)
		}

		blocked := false
		b.testHookWaiting = func() { blocked = true } // no waiter left: set without a race
		require.EqualValues(t, 1, b.Wait(context.Background(), 1), "after Close: at once")
		require.False(t, blocked, "a Wait after Close never blocks")
	})
}

// TestBoardCloseIdempotentAndConcurrent: Close from many goroutines at once, and again, is
// safe; the board keeps its states and takes updates afterwards.
func TestBoardCloseIdempotentAndConcurrent(t *testing.T) {
	t.Parallel()
	b, statuses := fixture()
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(b.Close)
	}
	wg.Wait()
	b.Close()
	require.True(t, b.closed())

	got, ok := b.Get(statuses[2].Series)
	require.True(t, ok)
	require.Equal(t, detectors.StateDown, got.State, "reads go on after Close")
	statuses[2].State = detectors.StateHealthy
	b.Update(statuses, []detectors.Transition{{Series: statuses[2].Series, From: detectors.StateDown, To: detectors.StateHealthy}})
	require.EqualValues(t, 2, b.Version(), "updates go on after Close")
	got, _ = b.Get(statuses[2].Series)
	require.Equal(t, detectors.StateHealthy, got.State)
}

// TestBoardWaitAfterAVersionOfAnEarlierLife: a long-poll that comes back to a restarted daemon
// with a version of the process before is answered at once, with the new version.
func TestBoardWaitAfterAVersionOfAnEarlierLife(t *testing.T) {
	t.Parallel()
	b, _ := fixture()
	blocked := false
	b.testHookWaiting = func() { blocked = true }
	require.EqualValues(t, 1, b.Wait(context.Background(), 57), "a version from the future: at once")
	require.False(t, blocked)
}
