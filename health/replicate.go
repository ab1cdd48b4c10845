package health

import (
	"slices"

	"github.com/outagewatch/outagewatch/detectors"
)

// The cluster side of the board (issue 19, DESIGN.md "Scale and availability"): a replica serves
// the leader's board, installed by Replicate, and says with SetCluster which term it serves and
// whether it lost its leader. cluster/replica moves the board between replicas; which engine
// writes a replica's board (the leader's through Replicate, or its own through Update) is the
// wiring's choice.
//
// Versions and resuming. Within one life the board's versions follow on from each other and the
// recent-changes ring holds them, so long-polls (?after=), SSE (Last-Event-ID) and the ETag
// behave as on a single daemon. A new life starts, and every push client is woken, when:
//   - Replicate follows an Update (the leader came back after the replica served its own
//     engine's board), Replicate comes with a new term (another leader), or its first version
//     is not the board's (the follower missed changes: it reconnected after a gap);
//   - Update follows Replicate (the replica falls back to its own engine): the version moves
//     by one from the last replicated one, and its own transitions follow.
// In a new life the ring is cleared: a stream resuming from a version of the life before gets
// a fresh snapshot, and SSE streams send one at once. The leader's versions may be below the
// board's (a replica whose own engine moved further while it was on its own): that is the
// existing "version from another life" case, answered at once with the full state. One case is
// not told apart: an ETag (W/"VERSION") of the earlier life that names the same number as the
// new life's version gets 304 until the next change.

// source is who wrote the board last.
type source uint8

const (
	sourceNone       source = iota // nothing yet
	sourceOwn                      // Update: this replica's engine
	sourceReplicated               // Replicate: the leader's board
)

// Replicate installs the leader's board: its statuses (sorted by key, as Update's; the board keeps
// its own copy), its version, and the transitions that led to it, which are numbered
// version-len(transitions)+1 … version in the recent-changes ring, as on the leader. Waiters wake
// when there are transitions or a new life starts (see above); the generation always moves.
// Replicate with no transitions installs a full board (a follower's first frame).
func (b *Board) Replicate(version uint64, statuses []detectors.Status, transitions []detectors.Transition) {
	if n := uint64(len(transitions)); n > version {
		transitions = transitions[n-version:] // versions start at 1: older ones cannot be numbered
	}
	first := version - uint64(len(transitions))
	b.mu.Lock()
	defer b.mu.Unlock()
	wake := len(transitions) > 0
	if b.source != sourceReplicated || b.replTerm != b.term || first != b.version {
		b.newLife()
		wake = true
	}
	b.source, b.replTerm = sourceReplicated, b.term
	b.setStatuses(statuses)
	for i, tr := range transitions {
		b.recent = append(b.recent, Change{Version: first + uint64(i) + 1, Transition: tr})
	}
	b.version = version
	b.updatedLocked(wake)
}

// newLife starts a new life: the ring's versions no longer follow on. b.mu is held.
func (b *Board) newLife() {
	b.life++
	b.recent = b.recent[:0]
}

// SetCluster says what every answer carries: term, the leader's term (0 outside a cluster: the
// field and header are left out), and stale, set while the replica serves without its leader
// (from its own engine, or the last board it got). Answers outside a cluster (term 0, not stale)
// are unchanged. Call Replicate's term first: a new term starts a new life. It moves the
// generation, so that cached answers are rebuilt, but does not wake long-polls.
func (b *Board) SetCluster(term int64, stale bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.term == term && b.stale == stale {
		return
	}
	b.term, b.stale = term, stale
	b.generation.Add(1)
	close(b.updated)
	b.updated = make(chan struct{})
}

// Cluster returns what SetCluster set: the term and whether the replica is stale.
func (b *Board) Cluster() (term int64, stale bool) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.term, b.stale
}

// Updated returns a channel closed at the next Update, Replicate or SetCluster change: a
// publisher selects on it, then reads the board (Export).
func (b *Board) Updated() <-chan struct{} {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.updated
}

// Done returns a channel closed by Close: a replication publisher ends its streams on it, so
// that they do not hold a graceful stop up.
func (b *Board) Done() <-chan struct{} { return b.done }

// lifeNow returns the board's life.
func (b *Board) lifeNow() uint64 {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.life
}

// Export is a consistent copy of the board for a replication publisher.
type Export struct {
	Version uint64
	// Life moves when the versions stop following on (see Replicate): a publisher that sees
	// another life than the one it sent last sends the full board.
	Life     uint64
	Term     int64
	Statuses []detectors.Status
	// Changes are the changes after the version asked for, and Complete says whether they are
	// all of them (as Since).
	Changes  []Change
	Complete bool
}

// Export returns the board and the changes after version after, read at once.
func (b *Board) Export(after uint64) Export {
	b.mu.RLock()
	defer b.mu.RUnlock()
	changes, complete := b.sinceLocked(after)
	return Export{
		Version: b.version, Life: b.life, Term: b.term, Statuses: slices.Clone(b.statuses),
		Changes: changes, Complete: complete,
	}
}
