package incidents

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/outagewatch/outagewatch/detectors"
)

// memStore is a minimal in-memory Store with the documented open-or-attach semantics; fail,
// when set, makes Apply fail (an unreachable database).
type memStore struct {
	mu        sync.Mutex
	incidents []Incident
	events    []Event
	notifies  []string
	fail      bool
}

func (s *memStore) Apply(_ context.Context, c Change) (Incident, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail {
		return Incident{}, errors.New("connection refused")
	}
	i := -1
	if c.IncidentID != 0 {
		for j := range s.incidents {
			if s.incidents[j].ID == c.IncidentID {
				i = j
			}
		}
		if i < 0 {
			return Incident{}, ErrNotFound
		}
	} else {
		for j := range s.incidents {
			if s.incidents[j].Provider == c.Provider && s.incidents[j].Caller == c.Caller && s.incidents[j].State.Active() {
				i = j
			}
		}
		if i < 0 {
			if c.State == StateResolved {
				return Incident{}, nil
			}
			s.incidents = append(s.incidents, Incident{ID: int64(len(s.incidents) + 1), Provider: c.Provider, Caller: c.Caller, State: StateOpen, OpenedAt: c.At})
			i = len(s.incidents) - 1
		}
	}
	inc := &s.incidents[i]
	for _, m := range c.Models {
		if !slices.Contains(inc.Models, m) {
			inc.Models = append(inc.Models, m)
		}
	}
	slices.Sort(inc.Models)
	if c.Severity != "" {
		inc.Severity = c.Severity
	}
	if c.State != "" && inc.State != StateResolved {
		inc.State = c.State
		if c.State == StateResolved {
			inc.ResolvedAt, inc.ResolvedBy = c.At, c.Actor
		}
	}
	for _, e := range c.Events {
		e.IncidentID = inc.ID
		s.events = append(s.events, e.Event)
		for _, n := range e.Notify {
			s.notifies = append(s.notifies, string(e.Kind)+":"+n)
		}
	}
	return *inc, nil
}

func (s *memStore) Active(context.Context) ([]Incident, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Incident
	for _, inc := range s.incidents {
		if inc.State.Active() {
			out = append(out, inc)
		}
	}
	return out, nil
}

func (s *memStore) snapshot() ([]Incident, []Event, []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.incidents), slices.Clone(s.events), slices.Clone(s.notifies)
}

var t0 = time.Date(2026, 6, 20, 14, 0, 0, 0, time.UTC)

func tr(model string, from, to detectors.State, at time.Duration) detectors.Transition {
	return detectors.Transition{
		Series: detectors.SeriesKey{Provider: "anthropic", Model: model}, From: from, To: to, At: t0.Add(at),
		Evidence: detectors.Evidence{Detector: detectors.DetectorErrorDown, Observed: 0.9, CallRate: 4},
	}
}

func newManager(t *testing.T, store Store) *Manager {
	t.Helper()
	cfg := DefaultConfig()
	cfg.RetryMin, cfg.RetryMax = 5*time.Millisecond, 20*time.Millisecond
	mgr, err := NewManager(cfg, store, prometheus.NewRegistry(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.NoError(t, err)
	return mgr
}

const (
	H = detectors.StateHealthy
	U = detectors.StateUnknown
	G = detectors.StateDegraded
	D = detectors.StateDown
)

func TestLifecycleGroupsEscalatesResolves(t *testing.T) {
	t.Parallel()
	store := &memStore{}
	mgr := newManager(t, store)
	mgr.Handle([]detectors.Transition{tr("sonnet", H, G, 0), tr("", H, G, time.Second)})
	mgr.Handle([]detectors.Transition{tr("haiku", H, D, 3*time.Second)})
	mgr.tick(t0.Add(5 * time.Second))
	require.Empty(t, mgr.queue, "still in the group wait")
	mgr.tick(t0.Add(10 * time.Second))
	require.NoError(t, mgr.flush(context.Background()))
	incs, events, notifies := store.snapshot()
	require.Len(t, incs, 1, "the models failing together share one incident")
	require.Equal(t, []string{"haiku", "sonnet"}, incs[0].Models, "the provider's own series (model \"\") is no model")
	require.Equal(t, SeverityCritical, incs[0].Severity)
	require.Len(t, events, 3)
	require.Equal(t, EventOpened, events[0].Kind)
	require.Equal(t, []string{"opened:open"}, notifies, "one root message for the opening")

	mgr.Handle([]detectors.Transition{tr("haiku", D, G, time.Minute)})
	require.NoError(t, mgr.flush(context.Background()))
	incs, events, _ = store.snapshot()
	require.Equal(t, SeverityWarning, incs[0].Severity, "no series down any more: de-escalated")
	require.Equal(t, EventDeescalated, events[len(events)-1].Kind)

	mgr.Handle([]detectors.Transition{tr("haiku", G, H, 2*time.Minute), tr("sonnet", G, H, 2*time.Minute), tr("", G, H, 2*time.Minute)})
	require.NoError(t, mgr.flush(context.Background()))
	incs, events, notifies = store.snapshot()
	require.Equal(t, StateResolved, incs[0].State)
	require.Equal(t, EventResolved, events[len(events)-1].Kind)
	require.Equal(t, "resolved:resolve", notifies[len(notifies)-1])

	// A new failure after the resolution opens a new incident.
	mgr.Handle([]detectors.Transition{tr("sonnet", H, D, time.Hour)})
	mgr.tick(t0.Add(time.Hour + 11*time.Second))
	require.NoError(t, mgr.flush(context.Background()))
	incs, _, _ = store.snapshot()
	require.Len(t, incs, 2)
}

func TestStoreOutageQueuesInOrder(t *testing.T) {
	t.Parallel()
	store := &memStore{fail: true}
	mgr := newManager(t, store)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = mgr.Run(ctx) }()
	defer func() { cancel(); <-done }()

	mgr.Handle([]detectors.Transition{tr("sonnet", H, D, 0)})
	mgr.tick(t0.Add(11 * time.Second))
	mgr.Handle([]detectors.Transition{tr("sonnet", D, G, time.Minute)})
	mgr.Handle([]detectors.Transition{tr("sonnet", G, H, 2*time.Minute)})
	require.Eventually(t, func() bool { return mgr.Check(context.Background()) != nil }, 5*time.Second, 5*time.Millisecond)
	require.Equal(t, 3, mgr.QueueDepth())

	store.mu.Lock()
	store.fail = false
	store.mu.Unlock()
	require.Eventually(t, func() bool { return mgr.QueueDepth() == 0 }, 5*time.Second, 5*time.Millisecond)
	require.NoError(t, mgr.Check(context.Background()))
	incs, events, _ := store.snapshot()
	require.Len(t, incs, 1)
	require.Equal(t, StateResolved, incs[0].State)
	var kinds []EventKind
	for _, e := range events {
		kinds = append(kinds, e.Kind)
	}
	require.Equal(t, []EventKind{EventOpened, EventTransition, EventDeescalated, EventTransition, EventResolved}, kinds, "every event, in order, once")
}

func TestResumeContinuesTheActiveIncident(t *testing.T) {
	t.Parallel()
	store := &memStore{}
	openIncident(t, newManager(t, store))

	restarted := newManager(t, store)
	require.NoError(t, restarted.Resume(context.Background()))
	restarted.Handle([]detectors.Transition{tr("sonnet", U, D, time.Minute)})
	require.NoError(t, restarted.flush(context.Background()))
	restarted.Handle([]detectors.Transition{tr("sonnet", D, H, 2*time.Minute)})
	require.NoError(t, restarted.flush(context.Background()))
	incs, _, _ := store.snapshot()
	require.Len(t, incs, 1, "the restart continued the incident")
	require.Equal(t, StateResolved, incs[0].State)
}

// running starts mgr's writer for the rest of the test.
func running(t *testing.T, mgr *Manager) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})
}

func TestManualResolveAndAck(t *testing.T) {
	t.Parallel()
	store := &memStore{}
	mgr := newManager(t, store)
	openIncident(t, mgr)
	running(t, mgr)
	_, err := mgr.Acknowledge(context.Background(), 1, "alice")
	require.NoError(t, err)
	inc, err := mgr.Resolve(context.Background(), 1, "alice")
	require.NoError(t, err)
	require.Equal(t, StateResolved, inc.State)
	require.Equal(t, "alice", inc.ResolvedBy)
	_, err = mgr.Resolve(context.Background(), 99, "alice")
	require.ErrorIs(t, err, ErrNotFound)
}

// TestAPIChangesTakeTheirTurn: an acknowledgement waits behind the opening queued before it
// (while the store is down) instead of overtaking it and finding no incident.
func TestAPIChangesTakeTheirTurn(t *testing.T) {
	t.Parallel()
	store := &memStore{fail: true}
	mgr := newManager(t, store)
	mgr.Handle([]detectors.Transition{tr("sonnet", H, D, 0)})
	mgr.tick(t0.Add(11 * time.Second)) // the opening is queued; the store refuses it
	require.Error(t, mgr.flush(context.Background()))
	running(t, mgr)

	acked := make(chan error, 1)
	go func() {
		_, err := mgr.Acknowledge(context.Background(), 1, "alice")
		acked <- err
	}()
	require.Eventually(t, func() bool { return mgr.QueueDepth() == 2 }, 5*time.Second, time.Millisecond, "the ack queues behind the opening")
	select {
	case err := <-acked:
		t.Fatalf("the ack was answered before the opening was written: %v", err)
	default:
	}
	store.mu.Lock()
	store.fail = false
	store.mu.Unlock()
	require.NoError(t, <-acked)
	incs, events, _ := store.snapshot()
	require.Len(t, incs, 1)
	require.Equal(t, StateAcknowledged, incs[0].State)
	require.Equal(t, EventOpened, events[0].Kind)
	require.Equal(t, EventAcknowledged, events[len(events)-1].Kind)
}

// TestAPIChangeAbandonedWhileQueued: a caller that gives up before its change's turn leaves
// nothing behind.
func TestAPIChangeAbandonedWhileQueued(t *testing.T) {
	t.Parallel()
	store := &memStore{}
	mgr := newManager(t, store)
	openIncident(t, mgr)
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // gone before the writer runs
	_, err := mgr.Acknowledge(ctx, 1, "alice")
	require.ErrorIs(t, err, context.Canceled)
	require.NoError(t, mgr.flush(context.Background()))
	require.Zero(t, mgr.QueueDepth())
	incs, _, _ := store.snapshot()
	require.Equal(t, StateOpen, incs[0].State, "an abandoned ack is not written")
}

func TestResumedSeriesNeedConfirmation(t *testing.T) {
	t.Parallel()
	store := &memStore{}
	openIncident(t, newManager(t, store))

	restarted := newManager(t, store)
	require.NoError(t, restarted.Resume(context.Background()))
	// The restarted engine's first call says healthy: not a recovery yet.
	restarted.Handle([]detectors.Transition{tr("sonnet", U, H, time.Minute)})
	require.NoError(t, restarted.flush(context.Background()))
	incs, _, _ := store.snapshot()
	require.Equal(t, StateOpen, incs[0].State)
	restarted.tick(t0.Add(time.Minute + time.Second))
	require.NoError(t, restarted.flush(context.Background()))
	incs, _, _ = store.snapshot()
	require.Equal(t, StateOpen, incs[0].State)
	// Healthy for the confirmation time: resolved.
	restarted.tick(t0.Add(4 * time.Minute))
	require.NoError(t, restarted.flush(context.Background()))
	incs, _, _ = store.snapshot()
	require.Equal(t, StateResolved, incs[0].State)
}

func TestProviderSeriesIsNeverAModel(t *testing.T) {
	t.Parallel()
	store := &memStore{}
	mgr := newManager(t, store)
	// The provider's own series fails alone: the incident has no model.
	mgr.Handle([]detectors.Transition{tr("", H, D, 0)})
	mgr.tick(t0.Add(11 * time.Second))
	require.NoError(t, mgr.flush(context.Background()))
	// Then a model, and the provider's series again while the incident is under way.
	mgr.Handle([]detectors.Transition{tr("claude-sonnet-4-5", H, D, time.Minute), tr("", D, G, time.Minute)})
	require.NoError(t, mgr.flush(context.Background()))
	incs, events, _ := store.snapshot()
	require.Len(t, incs, 1)
	require.Equal(t, []string{"claude-sonnet-4-5"}, incs[0].Models)
	require.Equal(t, "", events[0].Model, "the timeline still names the provider's series")

	// An incident of the provider's series alone, resumed after a restart, still tracks it.
	store = &memStore{}
	mgr = newManager(t, store)
	mgr.Handle([]detectors.Transition{tr("", H, D, 0)})
	mgr.tick(t0.Add(11 * time.Second))
	require.NoError(t, mgr.flush(context.Background()))
	incs, _, _ = store.snapshot()
	require.Empty(t, incs[0].Models)
	restarted := newManager(t, store)
	require.NoError(t, restarted.Resume(context.Background()))
	restarted.Handle([]detectors.Transition{tr("", U, H, time.Minute)})
	require.NoError(t, restarted.flush(context.Background()))
	incs, _, _ = store.snapshot()
	require.Equal(t, StateOpen, incs[0].State, "the restarted engine's first judgement is no recovery")
	restarted.tick(t0.Add(4 * time.Minute))
	require.NoError(t, restarted.flush(context.Background()))
	incs, _, _ = store.snapshot()
	require.Equal(t, StateResolved, incs[0].State)
}

// openIncident takes "sonnet" down and lets the group wait pass: the store holds one incident.
func openIncident(t *testing.T, mgr *Manager) {
	t.Helper()
	mgr.Handle([]detectors.Transition{tr("sonnet", H, D, 0)})
	mgr.tick(t0.Add(11 * time.Second))
	require.NoError(t, mgr.flush(context.Background()))
}
