package engine

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/outagewatch/outagewatch/detectors"
)

// quiet advances the clock by d without calls, ticking every second, and delivers the fan-out.
func quiet(r *Runner, c *clock, d time.Duration) {
	for end := c.Now().Add(d); c.Now().Before(end); {
		c.advance(time.Second)
		r.Tick()
	}
	r.Flush()
}

// updateCount returns how many updates the board received.
func (b *board) updateCount() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.updates
}

// downRunner returns a runner whose sonnet is down, on its own clock and board.
func downRunner(t *testing.T) (*Runner, *clock, *board) {
	t.Helper()
	c := &clock{now: time.Date(2026, 6, 20, 9, 0, 0, 0, time.UTC)}
	b := &board{}
	r, _ := newRunner(t, b, nil, c.Now)
	outage(t, r, c, b, nil)
	return r, c, b
}

// TestReconfigureKeepsStatesAndAppliesTheNewSettings: sonnet is down when the detector
// settings change (a longer silence_min). The board and Statuses are as they were, with no
// transition, and every series' state and baselines are kept (the snapshot is the same); the
// new setting is in force: where the old settings make the silent sonnet unknown within five
// minutes (a control runner fed the same calls), the reconfigured one stays down until its ten
// minutes of silence have passed.
func TestReconfigureKeepsStatesAndAppliesTheNewSettings(t *testing.T) {
	t.Parallel()
	r, c, b := downRunner(t)
	control, cc, cb := downRunner(t)

	before := r.Statuses()
	snapBefore, err := r.Snapshot()
	require.NoError(t, err)
	trans := len(b.transitions())
	updates := b.updateCount()

	d := r.DetectorConfig()
	d.SilenceMin = 10 * time.Minute
	d.Limits = detectors.Limits{MaxProviders: 2, MaxModelsPerProvider: 2} // not the caller's to change
	require.NoError(t, r.Reconfigure(d))
	r.Flush()

	got := r.DetectorConfig()
	require.Equal(t, 10*time.Minute, got.SilenceMin)
	require.Equal(t, DefaultConfig().Detectors.Limits, got.Limits, "the running engine's limits are kept")
	require.Equal(t, before, r.Statuses(), "every series keeps its state")
	snapAfter, err := r.Snapshot()
	require.NoError(t, err)
	require.Equal(t, snapBefore, snapAfter, "every series keeps its state and baselines")
	st, ok := b.state(sonnet)
	require.True(t, ok)
	require.Equal(t, detectors.StateDown, st)
	require.Len(t, b.transitions(), trans, "a reconfiguration makes no transition")
	require.Greater(t, b.updateCount(), updates, "the statuses are published")

	quiet(control, cc, 5*time.Minute)
	quiet(r, c, 5*time.Minute)
	st, _ = cb.state(sonnet)
	require.Equal(t, detectors.StateUnknown, st, "the old silence_min: silent sonnet is unknown")
	st, _ = b.state(sonnet)
	require.Equal(t, detectors.StateDown, st, "the new silence_min: still down")
	quiet(r, c, 6*time.Minute)
	st, _ = b.state(sonnet)
	require.Equal(t, detectors.StateUnknown, st, "unknown after the new silence_min")
}

// TestReconfigureRefusesAnInvalidConfig: an invalid config is refused with the field's name and
// changes nothing; the same config again changes nothing and publishes nothing.
func TestReconfigureRefusesAnInvalidConfig(t *testing.T) {
	t.Parallel()
	r, _, b := downRunner(t)
	before, cfg := r.Statuses(), r.DetectorConfig()
	updates := b.updateCount()

	bad := cfg
	bad.HoldDegraded = 0
	bad.SilenceMin = time.Hour
	err := r.Reconfigure(bad)
	require.ErrorContains(t, err, "detectors.hold_degraded")
	require.Equal(t, cfg, r.DetectorConfig())
	require.Equal(t, before, r.Statuses())

	require.NoError(t, r.Reconfigure(cfg))
	r.Flush()
	require.Equal(t, updates, b.updateCount(), "an unchanged config publishes nothing")
	require.Equal(t, before, r.Statuses())
}

// TestReconfigureWhileRunning: calls, ticks and snapshots go on while the settings change back
// and forth from another goroutine; no call is lost or counted twice (run with -race).
func TestReconfigureWhileRunning(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, _ := newRunner(t, &board{}, &memSnapshots{}, time.Now)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- r.Run(ctx) }()

		const calls = 2000
		var wg sync.WaitGroup
		wg.Go(func() {
			for i := range calls {
				r.ConsumeCalls([]detectors.Call{{Time: time.Now(), Provider: sonnet.Provider, Model: sonnet.Model,
					Outcome: detectors.OutcomeOK, FinishReason: detectors.FinishStop, Duration: time.Second, RequestID: uint64(i + 1)}})
				time.Sleep(10 * time.Millisecond)
			}
		})
		wg.Go(func() {
			d := r.DetectorConfig()
			for i := range 40 {
				d.ConfineWait = time.Duration(i%3) * time.Second
				require.NoError(t, r.Reconfigure(d))
				time.Sleep(500 * time.Millisecond)
			}
		})
		wg.Wait()
		st, ok := stateOf(r.Statuses(), sonnet)
		require.True(t, ok)
		require.Equal(t, detectors.StateHealthy, st)
		for _, s := range r.Statuses() {
			if s.Series == sonnet {
				require.EqualValues(t, calls, s.Figures.Calls, "every call counted once")
			}
		}
		cancel()
		require.NoError(t, <-done)
	})
}
