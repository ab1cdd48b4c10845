package incidents

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// enqueue appends a change to the write queue; when the queue is full the change is dropped,
// logged and counted (the only way incident work is lost: a store down for very long).
func (mgr *Manager) enqueue(c Change) {
	if !mgr.push(queued{Change: c}) {
		mgr.m.dropped.Inc()
		mgr.logger.Error("incident change dropped", "provider", c.Provider, "caller", c.Caller, "err", ErrQueueFull)
	}
}

// queued is a change in the write queue; w, when set, is the API caller waiting for it.
type queued struct {
	Change
	w *waiter
}

// push appends q to the write queue and wakes the writer; false when the queue is full.
func (mgr *Manager) push(q queued) bool {
	mgr.qmu.Lock()
	if len(mgr.queue) >= mgr.cfg.QueueSize {
		mgr.qmu.Unlock()
		return false
	}
	mgr.queue = append(mgr.queue, q)
	mgr.qmu.Unlock()
	select {
	case mgr.wake <- struct{}{}:
	default:
	}
	return true
}

// waiter is an API caller waiting for its change to be written. It may give up while the
// change waits in the queue, never once the writer has started on it (the caller then waits
// for the answer, bounded by the store's timeout).
type waiter struct {
	mu    sync.Mutex
	state waiterState
	reply chan applied // buffered: the writer never blocks on it
}

type waiterState int

const (
	waiting waiterState = iota
	writing
	abandoned
)

type applied struct {
	inc Incident
	err error
}

// begin marks the change as being written; false when the caller gave up.
func (w *waiter) begin() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.state == abandoned {
		return false
	}
	w.state = writing
	return true
}

// abandon gives up on a change still waiting; false when it is being written.
func (w *waiter) abandon() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.state == writing {
		return false
	}
	w.state = abandoned
	return true
}

// act queues a change on behalf of an API caller and waits for the writer's answer, or ctx.
// The change takes its turn behind the transitions queued before it. A store failure answers
// the caller (who may retry) instead of holding the change for later: an acknowledgement
// written minutes after the caller saw an error would surprise everyone.
func (mgr *Manager) act(ctx context.Context, c Change) (Incident, error) {
	w := &waiter{reply: make(chan applied, 1)}
	if !mgr.push(queued{Change: c, w: w}) {
		return Incident{}, ErrQueueFull
	}
	select {
	case r := <-w.reply:
		return r.inc, r.err
	case <-ctx.Done():
		if w.abandon() {
			return Incident{}, fmt.Errorf("waiting for the incident writer: %w", ctx.Err())
		}
		r := <-w.reply
		return r.inc, r.err
	}
}

// Run opens incidents after their group wait and writes queued changes in order, until ctx
// ends; then it makes a last attempt to write what is queued (bounded by drain).
func (mgr *Manager) Run(ctx context.Context) error {
	ticker := time.NewTicker(200 * time.Millisecond)
	defer ticker.Stop()
	backoff := time.Duration(0)
	var retry <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
			mgr.tick(mgr.now())
		case <-mgr.wake:
		case <-retry:
			retry = nil
		}
		if retry != nil {
			continue // waiting out a backoff
		}
		if err := mgr.flush(ctx); err != nil {
			backoff = nextBackoff(backoff, mgr.cfg.RetryMin, mgr.cfg.RetryMax)
			retry = time.After(backoff)
			continue
		}
		backoff = 0
	}
}

// Drain makes one bounded attempt to write the queued changes, for shutdown.
func (mgr *Manager) Drain(ctx context.Context) error {
	mgr.tick(mgr.now().Add(mgr.cfg.GroupWait)) // open what is waiting: its evidence is in
	return mgr.flush(ctx)
}

// flush writes queued changes in order until the queue is empty or the store fails.
func (mgr *Manager) flush(ctx context.Context) error {
	for {
		mgr.qmu.Lock()
		if len(mgr.queue) == 0 {
			mgr.qmu.Unlock()
			return nil
		}
		q := mgr.queue[0]
		mgr.qmu.Unlock()
		if q.w != nil {
			if !q.w.begin() {
				mgr.pop() // its caller gave up before its turn
				continue
			}
			inc, err := mgr.apply(ctx, q.Change)
			mgr.pop()
			q.w.reply <- applied{inc, err}
			if err == nil {
				mgr.applied(q.Change, inc)
			}
			continue
		}
		c := q.Change
		inc, err := mgr.apply(ctx, c)
		if err != nil && !errors.Is(err, ErrNotFound) {
			mgr.m.storeErrors.Inc()
			mgr.qmu.Lock()
			first := mgr.lastErr == nil
			mgr.lastErr, mgr.failedAt = err, mgr.now()
			depth := len(mgr.queue)
			mgr.qmu.Unlock()
			if first {
				mgr.logger.Warn("store unreachable, incident changes queued", "err", err, "queued", depth)
			}
			return err
		}
		mgr.qmu.Lock()
		if len(mgr.queue) > 0 {
			mgr.queue[0] = queued{}
			mgr.queue = mgr.queue[1:]
		}
		if mgr.lastErr != nil {
			mgr.logger.Info("store reachable again, writing queued incident changes", "queued", len(mgr.queue))
		}
		mgr.lastErr = nil
		mgr.qmu.Unlock()
		mgr.learnID(c, inc)
		if len(c.Events) > 0 && c.Events[0].Kind == EventOpened && inc.ID != 0 {
			mgr.logger.Info("incident opened", "incident_id", inc.ID, "provider", inc.Provider, "caller", inc.Caller, "models", inc.Models, "severity", string(inc.Severity))
		}
		if c.State == StateResolved && inc.ID != 0 {
			mgr.logger.Info("incident resolved", "incident_id", inc.ID, "provider", inc.Provider, "caller", inc.Caller, "duration", inc.ResolvedAt.Sub(inc.OpenedAt).Round(time.Second))
		}
	}
}

// apply writes one change, bounded by the store's timeout.
func (mgr *Manager) apply(ctx context.Context, c Change) (Incident, error) {
	actx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return mgr.store.Apply(actx, c)
}

// pop removes the head of the write queue (unless Reset emptied it meanwhile).
func (mgr *Manager) pop() {
	mgr.qmu.Lock()
	if len(mgr.queue) > 0 {
		mgr.queue[0] = queued{}
		mgr.queue = mgr.queue[1:]
	}
	mgr.qmu.Unlock()
}

// applied updates the lifecycle after an API change was written: a manual resolution ends the
// tracking of its incident (if the provider fails again, a new incident opens).
func (mgr *Manager) applied(c Change, inc Incident) {
	if c.State != StateResolved {
		return
	}
	mgr.mu.Lock()
	defer mgr.mu.Unlock()
	k := key{provider: inc.Provider, caller: inc.Caller}
	if t, ok := mgr.active[k]; ok && t.id == inc.ID {
		delete(mgr.active, k)
	}
}

// learnID gives the tracked incident its ID once the store has written it.
func (mgr *Manager) learnID(c Change, inc Incident) {
	if inc.ID == 0 {
		return
	}
	mgr.mu.Lock()
	defer mgr.mu.Unlock()
	if t, ok := mgr.active[key{provider: c.Provider, caller: c.Caller}]; ok && t.id == 0 && inc.State.Active() {
		t.id = inc.ID
	}
}

// Check reports the store's health for /readyz: not ready while changes wait because the store
// failed.
func (mgr *Manager) Check(context.Context) error {
	mgr.qmu.Lock()
	defer mgr.qmu.Unlock()
	if mgr.lastErr != nil {
		return fmt.Errorf("store unreachable since %s, %d incident changes queued: %w", mgr.failedAt.UTC().Format(time.RFC3339), len(mgr.queue), mgr.lastErr)
	}
	return nil
}

// QueueDepth returns the number of changes waiting for the store.
func (mgr *Manager) QueueDepth() int {
	mgr.qmu.Lock()
	defer mgr.qmu.Unlock()
	return len(mgr.queue)
}

// Acknowledge records that actor acknowledged incident id. The change takes its turn in the
// write queue behind the transitions before it.
func (mgr *Manager) Acknowledge(ctx context.Context, id int64, actor string) (Incident, error) {
	at := mgr.now()
	return mgr.act(ctx, Change{IncidentID: id, At: at, State: StateAcknowledged, Actor: actor, Events: []EventSpec{{
		Event: Event{At: at, Kind: EventAcknowledged, Actor: actor}, Notify: []string{NotifyEvent, NotifyUpdate},
	}}})
}

// Resolve resolves incident id on actor's word, in its turn in the write queue. If its
// provider fails again, a new incident opens.
func (mgr *Manager) Resolve(ctx context.Context, id int64, actor string) (Incident, error) {
	at := mgr.now()
	return mgr.act(ctx, Change{IncidentID: id, At: at, State: StateResolved, Actor: actor, Events: []EventSpec{{
		Event: Event{At: at, Kind: EventResolved, Actor: actor}, Notify: []string{NotifyResolve},
	}}})
}
