// Package cluster makes replicas that share a Postgres one outagewatch (docs/cluster.md):
// ingest anywhere, decide once, serve everywhere. Its rooms: lease (the leader and its term,
// the members, the shared secret), forward (each replica's calls to the leader), replica (the
// leader's board to every replica), frame (their gRPC codec). Node ties them to one replica's
// engine, incidents and board, and switches its role as the lease says.
package cluster

import (
	"context"
	"errors"
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

// Deps are a node's parts that exist before the replica binds its listeners; Attach gives it
// the others.
type Deps struct {
	Engine    Engine
	Incidents Incidents
	Board     Board
	Logger    *slog.Logger
}

// peers are the parts that need the replica's bound address: the lease, the forwarding client
// and the board's follower.
type peers struct {
	lease     *lease.Lease
	forwarder Forwarder
	follower  Follower
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
	p       atomic.Pointer[peers]
	leading atomic.Bool
	stale   atomic.Bool
	// other is set while another replica leads; then this one's transitions reach no incident.
	other atomic.Bool
	// reload is set until this replica takes the lead with the old leader's snapshot: at the
	// start, and whenever another replica has led since it last did.
	reload bool
}

// New returns a node. Until Attach, it leads nothing and serves its own engine's board (marked
// stale: it has no leader yet).
func New(d Deps) *Node {
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	n := &Node{d: d, logger: d.Logger.With("component", "cluster"), reload: true}
	n.stale.Store(true)
	return n
}

// SetEngine gives the node its engine, built after the node (the node is the engine's board
// and transition handler). Call it before anything runs.
func (n *Node) SetEngine(e Engine) { n.d.Engine = e }

// Attach gives the node the parts that need the replica's bound address. Call it once, before
// Run.
func (n *Node) Attach(l *lease.Lease, fwd Forwarder, fol Follower) {
	n.p.Store(&peers{lease: l, forwarder: fwd, follower: fol})
}

// Leading reports whether this replica leads now.
func (n *Node) Leading() bool { return n.leading.Load() }

// ConsumeCalls is the ingest pipeline's sink: the own engine always (the leader's decisions, or
// a follower's fallback), and the leader too while following.
func (n *Node) ConsumeCalls(calls []detectors.Call) {
	if p := n.p.Load(); p != nil && !n.leading.Load() {
		p.forwarder.ConsumeCalls(calls)
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
	if n.leading.Load() || n.lost() {
		n.d.Board.Update(statuses, transitions)
	}
}

// lost reports a follower that has lost its leader (or a node not attached yet): its own
// engine's statuses are served. Asked of the follower itself, not of the last settle, so that
// the first frame of a leader that is back stops the own engine's updates at once.
func (n *Node) lost() bool {
	p := n.p.Load()
	return p == nil || (!n.leading.Load() && p.follower.Stale())
}

// Handle passes the own engine's transitions to the incident manager unless another replica
// leads. While no one does (the database is unreachable, a takeover is under way) the manager
// keeps them; its writes are refused until this replica leads again (fenced), and if another
// one takes the lead first, the manager forgets them (Reset): the new leader decides.
func (n *Node) Handle(trs []detectors.Transition) {
	if !n.other.Load() {
		n.d.Incidents.Handle(trs)
	}
}

// Run follows the lease until ctx ends: it takes the leadership up (the engine reloads the old
// leader's saved states, the incidents resume from the store) and gives it up (the incident
// manager forgets what it had not written), and marks the board with the term and staleness.
func (n *Node) Run(ctx context.Context) error {
	p := n.p.Load()
	if p == nil {
		return errors.New("cluster node: run before attach")
	}
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		changed := p.lease.Changed()
		n.settle(ctx, p)
		select {
		case <-ctx.Done():
			return nil
		case <-changed:
		case <-t.C:
		}
	}
}

// settle applies the lease's state and the follower's staleness.
func (n *Node) settle(ctx context.Context, p *peers) {
	st := p.lease.State()
	other := st.Leader != "" && st.Leader != p.lease.ID()
	if other && !n.other.Swap(true) {
		// Another replica leads: what this one had not written is the new leader's to decide.
		n.logger.Info("following the cluster", "term", st.Term, "leader", st.Leader)
		n.d.Incidents.Reset()
		n.reload = true
	} else if !other {
		n.other.Store(false)
	}
	switch {
	case st.Leading && !n.leading.Load():
		n.logger.Info("leading the cluster", "term", st.Term)
		if n.reload {
			// Continue from the last leader's saved states and open incidents. A replica that
			// led last (the database was away) keeps its own: it decided all along.
			rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			if _, err := n.d.Engine.Reload(rctx); err != nil {
				n.logger.Warn("reload the old leader's snapshot; continuing from this replica's own", "err", err)
			}
			if err := n.d.Incidents.Resume(rctx); err != nil {
				n.logger.Warn("resume incidents", "err", err)
			}
			cancel()
			n.reload = false
		}
		n.leading.Store(true)
	case !st.Leading && n.leading.Load():
		n.logger.Warn("no longer leading the cluster", "term", st.Term)
		n.leading.Store(false)
	}
	stale := !st.Leading && p.follower.Stale()
	if stale != n.stale.Swap(stale) {
		if stale {
			n.logger.Warn("the leader is lost: serving this replica's own decisions, marked stale", "term", st.Term)
		} else {
			n.logger.Info("the leader's board is served again", "term", st.Term)
		}
	}
	if st.Leading || stale {
		// A following replica's board carries the term and staleness its follower sets from the
		// frames; a leader, or a replica that serves its own engine, says its own.
		n.d.Board.SetCluster(st.Term, stale)
	}
}

// Token is the cluster's shared secret the replicas authenticate with ("" before Attach, or
// before the lease has read it: every stream is refused then).
func (n *Node) Token() string {
	if p := n.p.Load(); p != nil {
		return p.lease.Secret()
	}
	return ""
}

// Term is the cluster's term as this replica knows it (0 before Attach).
func (n *Node) Term() int64 {
	if p := n.p.Load(); p != nil {
		return p.lease.State().Term
	}
	return 0
}

// Leader is the leader's advertised address, unless no one leads or this replica does.
func (n *Node) Leader() (string, bool) {
	if p := n.p.Load(); p != nil {
		return p.lease.Leader()
	}
	return "", false
}

// WriteTerm is the term this replica's writes are fenced with: its term while it leads, 0
// otherwise (before Attach too): store/postgres refuses them then.
func (n *Node) WriteTerm() int64 {
	if p := n.p.Load(); p != nil {
		return p.lease.Term()
	}
	return 0
}
