package engine

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/outagewatch/outagewatch/detectors"
)

// board records what the fan-out delivers. block, when set, holds every Update until it is
// closed (a consumer that cannot keep up).
type board struct {
	mu       sync.Mutex
	statuses []detectors.Status
	trans    []detectors.Transition
	updates  int
	block    chan struct{}
}

func (b *board) Update(statuses []detectors.Status, trs []detectors.Transition) {
	if b.block != nil {
		<-b.block
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.statuses = append(b.statuses[:0], statuses...)
	b.trans = append(b.trans, trs...)
	b.updates++
}

func (b *board) state(key detectors.SeriesKey) (detectors.State, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, s := range b.statuses {
		if s.Series == key {
			return s.State, true
		}
	}
	return detectors.StateUnknown, false
}

func (b *board) transitions() []detectors.Transition {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]detectors.Transition(nil), b.trans...)
}

// memSnapshots keeps snapshots in memory.
type memSnapshots struct {
	mu    sync.Mutex
	data  map[string][]byte
	saves int
}

func (m *memSnapshots) SaveBaselines(_ context.Context, name string, data []byte, _ time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.data == nil {
		m.data = map[string][]byte{}
	}
	m.data[name] = append([]byte(nil), data...)
	m.saves++
	return nil
}

func (m *memSnapshots) LoadBaselines(_ context.Context, name string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.data[name], nil
}

func (m *memSnapshots) saved() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.saves
}

// clock is a settable clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

var sonnet = detectors.SeriesKey{Provider: "anthropic", Model: "claude-sonnet-4-5"}

func newRunner(t *testing.T, b Board, snaps Snapshots, now func() time.Time, handlers ...TransitionHandler) (*Runner, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	cfg := DefaultConfig()
	cfg.FanoutQueue = 4
	r, err := New(cfg, Deps{Board: b, Transitions: handlers, Snapshots: snaps, Registerer: reg, Now: now})
	require.NoError(t, err)
	return r, reg
}

// outage feeds calls to sonnet, one every 100 ms of the clock, failing with 529 from the
// 600th on, until the board says down.
func outage(t *testing.T, r *Runner, c *clock, b *board, sleep func(time.Duration)) {
	t.Helper()
	for i := 0; i < 5000; i++ {
		call := detectors.Call{Time: r.now(), Provider: sonnet.Provider, Model: sonnet.Model, Outcome: detectors.OutcomeOK,
			FinishReason: detectors.FinishStop, Duration: time.Second, RequestID: uint64(i + 1)}
		if i >= 600 {
			call.Outcome, call.ErrorClass, call.HTTPStatus, call.FinishReason = detectors.OutcomeError, detectors.ClassOverloaded, 529, detectors.FinishNone
		}
		r.ConsumeCalls([]detectors.Call{call})
		if sleep != nil {
			sleep(100 * time.Millisecond)
		} else {
			c.advance(100 * time.Millisecond)
			if i%10 == 0 {
				r.Tick()
			}
		}
		r.Flush()
		if st, _ := b.state(sonnet); st == detectors.StateDown {
			return
		}
	}
	t.Fatal("sonnet never went down")
}

// savedOutage runs a runner until sonnet is down and saves its snapshot.
func savedOutage(t *testing.T) (*clock, *memSnapshots, *Runner, *board) {
	t.Helper()
	c := &clock{now: time.Date(2026, 6, 20, 9, 0, 0, 0, time.UTC)}
	snaps := &memSnapshots{}
	b1 := &board{}
	r1, _ := newRunner(t, b1, snaps, c.Now)
	outage(t, r1, c, b1, nil)
	require.NoError(t, r1.Save(context.Background()))
	return c, snaps, r1, b1
}

// TestRestartServesTheSameStates: a runner that saw sonnet go down saves its snapshot; a new
// runner on the same store publishes sonnet down to its board on Restore, before any call,
// with no transition of its own.
func TestRestartServesTheSameStates(t *testing.T) {
	t.Parallel()
	c, snaps, r1, b1 := savedOutage(t)

	b2 := &board{}
	r2, _ := newRunner(t, b2, snaps, c.Now)
	restored, err := r2.Restore(context.Background())
	require.NoError(t, err)
	require.True(t, restored)
	st, ok := b2.state(sonnet)
	require.True(t, ok, "the board knows sonnet before any call")
	require.Equal(t, detectors.StateDown, st)
	prov, _ := b2.state(detectors.SeriesKey{Provider: sonnet.Provider})
	want, _ := b1.state(detectors.SeriesKey{Provider: sonnet.Provider})
	require.Equal(t, want, prov, "the provider's state too")
	require.Empty(t, b2.transitions(), "a restore makes no transition")
	require.Equal(t, r1.Statuses(), r2.Statuses())
}

func TestRestoreWithNothingSavedIsAColdStart(t *testing.T) {
	t.Parallel()
	r, _ := newRunner(t, &board{}, &memSnapshots{}, time.Now)
	restored, err := r.Restore(context.Background())
	require.NoError(t, err)
	require.False(t, restored)
}

// TestRestoreAfterCallsKeepsWhatWasLearnt: a database that comes back after the first calls
// does not overwrite the engine.
func TestRestoreAfterCallsKeepsWhatWasLearnt(t *testing.T) {
	t.Parallel()
	c, snaps, _, _ := savedOutage(t)

	r2, _ := newRunner(t, &board{}, snaps, c.Now)
	r2.ConsumeCalls([]detectors.Call{{Time: c.Now(), Provider: "openai", Model: "gpt-5", Outcome: detectors.OutcomeOK, FinishReason: detectors.FinishStop}})
	restored, err := r2.Restore(context.Background())
	require.NoError(t, err)
	require.False(t, restored)
	for _, s := range r2.Statuses() {
		require.NotEqual(t, sonnet, s.Series, "nothing of the snapshot came back")
	}
}

// TestStateChangeSavesSoon: a state change asks for a snapshot, taken at most SnapshotMinGap
// after the one before, long before the interval; the snapshot holds the new state.
func TestStateChangeSavesSoon(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		snaps := &memSnapshots{}
		b := &board{}
		c := &clock{now: time.Now()}
		r, _ := newRunner(t, b, snaps, time.Now)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- r.Run(ctx) }()
		start := time.Now()
		outage(t, r, c, b, time.Sleep) // the bubble's clock: Run ticks along
		time.Sleep(DefaultConfig().SnapshotMinGap)
		synctest.Wait()
		require.Less(t, time.Since(start), DefaultConfig().SnapshotInterval, "before the first interval")
		require.Positive(t, snaps.saved())

		r2, _ := newRunner(t, &board{}, snaps, time.Now)
		_, err := r2.Restore(context.Background())
		require.NoError(t, err)
		st, _ := stateOf(r2.Statuses(), sonnet)
		require.Equal(t, detectors.StateDown, st, "the saved snapshot has sonnet down")
		cancel()
		require.NoError(t, <-done)
	})
}

func stateOf(statuses []detectors.Status, key detectors.SeriesKey) (detectors.State, bool) {
	for _, s := range statuses {
		if s.Series == key {
			return s.State, true
		}
	}
	return detectors.StateUnknown, false
}

// note is a Companion that keeps one string.
type note struct {
	name, text string
	bad        bool // Restore fails
}

func (n *note) SnapshotName() string      { return n.name }
func (n *note) Snapshot() ([]byte, error) { return []byte(n.text), nil }
func (n *note) Restore(data []byte) error {
	if n.bad {
		return context.DeadlineExceeded
	}
	n.text = string(data)
	return nil
}

// TestCompanionsAreSavedAndRestoredWithTheBaselines: a companion's state is saved under its
// own name with every snapshot and comes back on Restore; one that cannot restore leaves the
// baselines restored.
func TestCompanionsAreSavedAndRestoredWithTheBaselines(t *testing.T) {
	t.Parallel()
	snaps := &memSnapshots{}
	newWith := func(cs ...Companion) *Runner {
		r, err := New(DefaultConfig(), Deps{Board: &board{}, Snapshots: snaps, Companions: cs, Registerer: prometheus.NewRegistry()})
		require.NoError(t, err)
		return r
	}
	r1 := newWith(&note{name: "hosts", text: "llm-proxy.corp serves openai"})
	r1.ConsumeCalls([]detectors.Call{{Time: time.Now(), Provider: "openai", Model: "gpt-5", Outcome: detectors.OutcomeOK, FinishReason: detectors.FinishStop}})
	require.NoError(t, r1.Save(context.Background()))

	back := &note{name: "hosts"}
	restored, err := newWith(back).Restore(context.Background())
	require.NoError(t, err)
	require.True(t, restored)
	require.Equal(t, "llm-proxy.corp serves openai", back.text)

	r3 := newWith(&note{name: "hosts", bad: true})
	restored, err = r3.Restore(context.Background())
	require.NoError(t, err)
	require.True(t, restored, "the baselines come back without the companion")
	require.NotEmpty(t, r3.Statuses())
}

// TestReloadTakesOverTheSavedStates: a replica's engine that saw only its own calls (another
// model) reloads the snapshot the leader saved when it takes over: sonnet is down on its board
// at once, with no transition, and what it saw alone is gone.
func TestReloadTakesOverTheSavedStates(t *testing.T) {
	t.Parallel()
	c, snaps, r1, _ := savedOutage(t)
	b2 := &board{}
	r2, _ := newRunner(t, b2, snaps, c.Now)
	r2.ConsumeCalls([]detectors.Call{{Time: c.Now(), Provider: "openai", Model: "gpt-5", Outcome: detectors.OutcomeOK, FinishReason: detectors.FinishStop}})
	r2.Flush()
	before := len(b2.transitions())
	reloaded, err := r2.Reload(context.Background())
	require.NoError(t, err)
	require.True(t, reloaded)
	st, ok := b2.state(sonnet)
	require.True(t, ok)
	require.Equal(t, detectors.StateDown, st, "down stays down through the takeover")
	require.Len(t, b2.transitions(), before, "a reload makes no transition")
	require.Equal(t, r1.Statuses(), r2.Statuses())
}
