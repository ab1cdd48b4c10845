package health

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/outagewatch/outagewatch/detectors"
)

// Board holds the current status of every series and a version that increases with every state
// change. It is safe for concurrent use: one writer (the engine's runner) and any number of
// readers.
//
// Close is the first step of the daemon's shutdown: it releases every push client built on the
// board (long-polls, SSE streams, gRPC Watch streams) at once, while one-shot answers go on.
type Board struct {
	mu      sync.RWMutex
	version uint64
	// generation moves with every Update (figures change every second); caches key on it. It is
	// read without the lock on the hot path of the HTTP API.
	generation atomic.Uint64
	statuses   []detectors.Status // sorted by series key, providers before their models
	index      map[detectors.SeriesKey]int
	// callers are the callers of every local verdict on the board (detectors.Status.Local), so
	// that answers for other callers, which are the plain answers, are not cached per name.
	callers map[detectors.Caller]struct{}
	// changed is closed, and replaced, whenever the version moves: waiters select on it.
	changed chan struct{}
	// recent keeps the last transitions, for watchers that resume from a version. Its versions
	// follow on from each other within one life (below): it is cleared when a life starts.
	recent []Change
	// updated is closed, and replaced, at every Update, Replicate and SetCluster: replication
	// publishers select on it (figures move without the version).
	updated chan struct{}

	// The cluster side (replicate.go). life moves whenever the board's versions stop following
	// on from the ones before: a switch between the leader's board (Replicate) and the
	// replica's own engine (Update), a new term, or changes the follower missed. Push clients
	// holding a version of an earlier life start again from a snapshot. source says who wrote
	// the board last; term and stale are what answers carry; replTerm is the term of the last
	// Replicate.
	life     uint64
	source   source
	term     int64
	stale    bool
	replTerm int64

	// done is closed by Close; every waiter selects on it as well as on changed, so that
	// servers stopping gracefully are not held by clients that would wait for minutes.
	done      chan struct{}
	closeOnce sync.Once
	// testHookWaiting, when set by a test before the board is shared, is called each time Wait
	// is about to block: the signal that a long-poll is waiting.
	testHookWaiting func()
}

// Change is one transition with the board version it produced.
type Change struct {
	Version    uint64
	Transition detectors.Transition
}

// maxRecent bounds the transitions kept for resuming watchers.
const maxRecent = 1024

// NewBoard returns an empty board at version 0.
func NewBoard() *Board {
	return &Board{
		index: map[detectors.SeriesKey]int{}, callers: map[detectors.Caller]struct{}{},
		changed: make(chan struct{}), updated: make(chan struct{}), done: make(chan struct{}),
	}
}

// Close releases the board's push clients for shutdown (docs/health-api.md, "Shutdown"): at
// once, and for every request that comes later, Wait returns without waiting (so long-polls
// answer with the current version), SSE streams end with an "event: shutdown", and gRPC Watch
// streams end with UNAVAILABLE. Everything else goes on: Update, the reads, one-shot GETs and
// gRPC Check answer as before, until the servers stop. Close is idempotent and safe for
// concurrent use; a board is never reopened.
func (b *Board) Close() { b.closeOnce.Do(func() { close(b.done) }) }

// closed reports whether Close has been called.
func (b *Board) closed() bool {
	select {
	case <-b.done:
		return true
	default:
		return false
	}
}

// Update replaces the statuses (figures move all the time) and, for each transition, moves the
// version and wakes waiters. statuses must be sorted by key, as Engine.Status returns them; the
// board keeps its own copy.
//
// On a board that was replicating the leader's (Replicate), the first Update starts a new life:
// the replica's own engine takes over from the last replicated version, which moves by one
// (its statuses replace the leader's without a transition: long-polls must wake and ETags must
// change), and its transitions follow from there.
func (b *Board) Update(statuses []detectors.Status, transitions []detectors.Transition) {
	b.mu.Lock()
	defer b.mu.Unlock()
	wake := len(transitions) > 0
	if b.source == sourceReplicated {
		b.newLife()
		b.version++
		wake = true
	}
	b.source = sourceOwn
	b.setStatuses(statuses)
	for _, tr := range transitions {
		b.version++
		b.recent = append(b.recent, Change{Version: b.version, Transition: tr})
	}
	b.updatedLocked(wake)
}

// setStatuses installs a copy of statuses and moves the generation. b.mu is held.
func (b *Board) setStatuses(statuses []detectors.Status) {
	b.generation.Add(1)
	b.statuses = append(b.statuses[:0], statuses...)
	clear(b.index)
	clear(b.callers)
	for i, s := range b.statuses {
		b.index[s.Series] = i
		for _, l := range s.Local {
			b.callers[l.Series.Caller] = struct{}{}
		}
	}
}

// updatedLocked bounds the ring, wakes the version's waiters when wake is set, and the
// publishers always. b.mu is held.
func (b *Board) updatedLocked(wake bool) {
	if over := len(b.recent) - maxRecent; over > 0 {
		b.recent = slices.Delete(b.recent, 0, over)
	}
	if wake {
		close(b.changed)
		b.changed = make(chan struct{})
	}
	close(b.updated)
	b.updated = make(chan struct{})
}

// Snapshot returns the version and a copy of every status.
func (b *Board) Snapshot() (uint64, []detectors.Status) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.version, slices.Clone(b.statuses)
}

// Get returns the status of one series (a provider when key.Model is "").
func (b *Board) Get(key detectors.SeriesKey) (detectors.Status, bool) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	i, ok := b.index[key]
	if !ok {
		return detectors.Status{}, false
	}
	return b.statuses[i], true
}

// Version returns the current version.
func (b *Board) Version() uint64 {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.version
}

// Wait blocks until the version is not after, ctx ends, or the board is closed; it returns the
// current version. After Close it never blocks. A version above the board's comes from an
// earlier life of the daemon (versions start again at 0 in a new process): the caller's view is
// out of date, so Wait answers at once rather than wait for the new board to catch up. A new
// life of the board (replicate.go) ends the wait too, even at the same version number.
func (b *Board) Wait(ctx context.Context, after uint64) uint64 {
	b.mu.RLock()
	life := b.life
	b.mu.RUnlock()
	for {
		b.mu.RLock()
		v, l, ch := b.version, b.life, b.changed
		b.mu.RUnlock()
		if v != after || l != life || b.closed() {
			return v
		}
		if b.testHookWaiting != nil {
			b.testHookWaiting()
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return v
		case <-b.done:
			return b.Version()
		}
	}
}

// Since returns the changes after version after, oldest first, and whether they are complete
// (false when older changes have been dropped from memory, or after is not a version of this
// board).
func (b *Board) Since(after uint64) ([]Change, bool) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.sinceLocked(after)
}

func (b *Board) sinceLocked(after uint64) ([]Change, bool) {
	i, _ := slices.BinarySearchFunc(b.recent, after+1, func(c Change, v uint64) int {
		switch {
		case c.Version < v:
			return -1
		case c.Version > v:
			return 1
		}
		return 0
	})
	// A version from the future comes from an earlier life of the daemon: not resumable.
	complete := after == b.version || (after < b.version && len(b.recent) > 0 && b.recent[0].Version <= after+1)
	return slices.Clone(b.recent[i:]), complete
}

// Generation returns a counter that moves with every Update, Replicate and SetCluster change.
func (b *Board) Generation() uint64 { return b.generation.Load() }

// Provider returns the status of a provider and of each of its models, and the version.
func (b *Board) Provider(provider string) (detectors.Status, []detectors.Status, uint64, bool) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	i, ok := b.index[detectors.SeriesKey{Provider: provider}]
	if !ok {
		return detectors.Status{}, nil, b.version, false
	}
	j := i + 1
	for j < len(b.statuses) && b.statuses[j].Series.Provider == provider {
		j++
	}
	return b.statuses[i], slices.Clone(b.statuses[i+1 : j]), b.version, true
}

// Model returns the status of a model and of its provider, and the version.
func (b *Board) Model(provider, model string) (detectors.Status, detectors.Status, uint64, bool) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	i, ok := b.index[detectors.SeriesKey{Provider: provider, Model: model}]
	if !ok {
		return detectors.Status{}, detectors.Status{}, b.version, false
	}
	p := b.statuses[b.index[detectors.SeriesKey{Provider: provider}]]
	return b.statuses[i], p, b.version, true
}

// HasLocal reports whether some series on the board has a local verdict for caller c.
func (b *Board) HasLocal(c detectors.Caller) bool {
	b.mu.RLock()
	defer b.mu.RUnlock()
	_, ok := b.callers[c]
	return ok
}

// Changed returns a channel closed at the next version change.
func (b *Board) Changed() <-chan struct{} {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.changed
}
