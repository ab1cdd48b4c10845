// Package cluster makes replicas that share a Postgres one outagewatch (docs/cluster.md):
// ingest anywhere, decide once, serve everywhere. Its rooms: lease (the leader and its term,
// the members, the shared secret), forward (each replica's calls to the leader), replica (the
// leader's board to every replica), frame (their gRPC codec). Node ties them to one replica's
// engine, incidents and board, and switches its role as the lease says.
package cluster

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/outagewatch/outagewatch/cluster/lease"
	"github.com/outagewatch/outagewatch/detectors"
)

// Engine is the replica's own detection engine (engine.Runner).
type Engine interface {
	ConsumeCalls(calls []detectors.Call)
	Reload(ctx context.Context) (bool, error)
}

// Incidents is the replica's incident manager (incidents.Manager).
type Incidents interface {
	Handle(trs []detectors.Transition)
	Resume(ctx context.Context) error
	Reset()
}

// Board is the replica's health board (health.Board).
type Board interface {
	Update(statuses []detectors.Status, transitions []detectors.Transition)
	SetCluster(term int64, stale bool)
}

// Forwarder sends a follower's calls to the leader (forward.Client).
type Forwarder interface {
	ConsumeCalls(calls []detectors.Call)
}

// Follower replicates the leader's board (replica.Follower).
type Follower interface {
	Stale() bool
}

// Deps are a node's parts.
type Deps struct {
	Lease     *lease.Lease
	Engine    Engine
	Incidents Incidents
	Board     Board
	Forwarder Forwarder
	Follower  Follower
	Logger    *slog.Logger
}

// Node is one replica's role in its cluster. While it leads, its engine decides over its own
// calls and those the others forward, its transitions reach the incident manager, and its
// board is the one every replica serves. While it follows, its calls go to the leader (and to
// its own engine, which decides nothing anyone sees), and its board is the leader's, replicated;
// when the leader has been gone longer than the follower's staleness bound, its own engine's
// statuses fill the board (marked stale) until the leader is back: the signal never goes dark.
type Node struct {
	d       Deps
	logger  *slog.Logger
	leading atomic.Bool
	stale   atomic.Bool
}

// New returns a node; it starts following. Call Run.
func New(d Deps) *Node {
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	return &Node{d: d, logger: d.Logger.With("component", "cluster")}
}

// Leading reports whether this replica leads now.
func (n *Node) Leading() bool { return n.leading.Load() }

// ConsumeCalls is the ingest pipeline's sink: the own engine always (the leader's decisions, or
// a follower's fallback), and the leader too while following.
func (n *Node) ConsumeCalls(calls []detectors.Call) {
	if !n.leading.Load() {
		n.d.Forwarder.ConsumeCalls(calls)
	}
	n.d.Engine.ConsumeCalls(calls)
}

// Sink is what the forwarding server hands the calls other replicas send: the engine, while
// this replica leads.
func (n *Node) Sink() Engine {
	if n.leading.Load() {
		return n.d.Engine
	}
	return nil
}

// Update is the own engine's board: it reaches the served board while leading, or while the
// leader is lost (stale); otherwise the leader's board is served.
func (n *Node) Update(statuses []detectors.Status, transitions []detectors.Transition) {
	if n.leading.Load() || n.stale.Load() {
		n.d.Board.Update(statuses, transitions)
	}
}

// Handle passes the own engine's transitions to the incident manager while leading only.
func (n *Node) Handle(trs []detectors.Transition) {
	if n.leading.Load() {
		n.d.Incidents.Handle(trs)
	}
}

// Run follows the lease until ctx ends: it takes the leadership up (the engine reloads the old
// leader's saved states, the incidents resume from the store) and gives it up (the incident
// manager forgets what it had not written), and marks the board with the term and staleness.
func (n *Node) Run(ctx context.Context) error {
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		changed := n.d.Lease.Changed()
		n.settle(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-changed:
		case <-t.C:
		}
	}
}

// settle applies the lease's state and the follower's staleness.
func (n *Node) settle(ctx context.Context) {
	st := n.d.Lease.State()
	switch {
	case st.Leading && !n.leading.Load():
		n.logger.Info("leading the cluster", "term", st.Term)
		rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		if _, err := n.d.Engine.Reload(rctx); err != nil {
			n.logger.Warn("reload the old leader's snapshot; continuing from this replica's own", "err", err)
		}
		if err := n.d.Incidents.Resume(rctx); err != nil {
			n.logger.Warn("resume incidents", "err", err)
		}
		cancel()
		n.leading.Store(true)
	case !st.Leading && n.leading.Load():
		n.logger.Info("following the cluster", "term", st.Term, "leader", st.Leader)
		n.leading.Store(false)
		n.d.Incidents.Reset()
	}
	stale := !st.Leading && n.d.Follower.Stale()
	if stale != n.stale.Swap(stale) {
		if stale {
			n.logger.Warn("the leader is lost: serving this replica's own decisions, marked stale", "term", st.Term)
		} else {
			n.logger.Info("the leader's board is served again", "term", st.Term)
		}
	}
	n.d.Board.SetCluster(st.Term, stale)
}
