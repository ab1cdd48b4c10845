package cluster

import (
	"context"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/outagewatch/outagewatch/cluster/lease"
	"github.com/outagewatch/outagewatch/detectors"
	"github.com/outagewatch/outagewatch/internal/pgtest"
	"github.com/outagewatch/outagewatch/store/postgres"
)

func TestMain(m *testing.M) {
	code := m.Run()
	pgtest.StopAll()
	os.Exit(code)
}

// parts records what a node does to the replica's engine, incidents and board, and stands in
// for its forwarder and follower.
type parts struct {
	mu                      sync.Mutex
	consumed, forwarded     int
	reloads, resumes, reset int
	handled                 int
	updates                 int
	term                    int64
	stale                   bool
	followerStale           atomic.Bool
}

func (p *parts) ConsumeCalls(calls []detectors.Call) {
	p.mu.Lock()
	p.consumed += len(calls)
	p.mu.Unlock()
}
func (p *parts) Reload(context.Context) (bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.reloads++
	return true, nil
}
func (p *parts) Handle(trs []detectors.Transition) { p.mu.Lock(); p.handled += len(trs); p.mu.Unlock() }
func (p *parts) Resume(context.Context) error      { p.mu.Lock(); p.resumes++; p.mu.Unlock(); return nil }
func (p *parts) Reset()                            { p.mu.Lock(); p.reset++; p.mu.Unlock() }
func (p *parts) Update([]detectors.Status, []detectors.Transition) {
	p.mu.Lock()
	p.updates++
	p.mu.Unlock()
}
func (p *parts) SetCluster(term int64, stale bool) {
	p.mu.Lock()
	p.term, p.stale = term, stale
	p.mu.Unlock()
}
func (p *parts) Stale() bool { return p.followerStale.Load() }

func (p *parts) get(f func(*parts) int) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return f(p)
}

type forwarder struct{ p *parts }

func (f forwarder) ConsumeCalls(calls []detectors.Call) {
	f.p.mu.Lock()
	f.p.forwarded += len(calls)
	f.p.mu.Unlock()
}

// replica is a node with a real lease on a shared Postgres.
type replica struct {
	node   *Node
	parts  *parts
	cancel context.CancelFunc
	done   chan struct{}
}

func startReplica(t *testing.T, dsn, id string) *replica {
	pool, err := pgxpool.New(context.Background(), dsn)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	l, err := lease.New(pool, lease.Options{ID: id, Advertise: id + ":4317", TTL: 600 * time.Millisecond, Renew: 100 * time.Millisecond})
	require.NoError(t, err)
	p := &parts{}
	p.followerStale.Store(false)
	n := New(Deps{Incidents: p, Board: p})
	n.SetEngine(p)
	n.Attach(l, forwarder{p}, p)
	ctx, cancel := context.WithCancel(context.Background())
	r := &replica{node: n, parts: p, cancel: cancel, done: make(chan struct{})}
	var wg sync.WaitGroup
	wg.Go(func() { _ = l.Run(ctx) })
	wg.Go(func() { _ = n.Run(ctx) })
	go func() { wg.Wait(); close(r.done) }()
	t.Cleanup(r.stop)
	return r
}

func (r *replica) stop() {
	r.cancel()
	<-r.done
}

// TestNodeRoles: of two replicas one leads. The leader's engine feeds the board and the
// incidents and takes the forwarded calls; the follower forwards its calls (and feeds its own
// engine), keeps its engine's statuses off the board and its transitions off the incidents,
// until its follower turns stale. When the leader dies the follower takes the lead: it reloads
// the old leader's snapshot and resumes the incidents.
func TestNodeRoles(t *testing.T) {
	t.Parallel()
	dsn := pgtest.NewDatabase(t)
	st, err := postgres.Open(context.Background(), dsn, nil)
	require.NoError(t, err)
	require.NoError(t, st.Close())
	a := startReplica(t, dsn, "a")
	require.Eventually(t, a.node.Leading, 5*time.Second, 5*time.Millisecond)
	b := startReplica(t, dsn, "b")
	require.Eventually(t, func() bool { _, ok := b.node.Leader(); return ok }, 5*time.Second, 5*time.Millisecond)
	require.Eventually(t, func() bool { return b.parts.get(func(p *parts) int { return p.reset }) == 1 },
		5*time.Second, 5*time.Millisecond, "the follower saw another leader: its incident manager forgets its queue")

	calls := []detectors.Call{{Provider: "anthropic", Model: "m"}}
	trs := []detectors.Transition{{Series: detectors.SeriesKey{Provider: "anthropic", Model: "m"}, To: detectors.StateDown}}
	for _, r := range []*replica{a, b} {
		r.node.ConsumeCalls(calls)
		r.node.Update(nil, trs)
		r.node.Handle(trs)
	}
	require.Equal(t, 1, a.parts.get(func(p *parts) int { return p.consumed }))
	require.Zero(t, a.parts.get(func(p *parts) int { return p.forwarded }), "the leader forwards nothing")
	require.Equal(t, 1, a.parts.get(func(p *parts) int { return p.updates }))
	require.Equal(t, 1, a.parts.get(func(p *parts) int { return p.handled }))
	require.NotNil(t, a.node.Sink(), "the leader takes forwarded calls")

	require.Equal(t, 1, b.parts.get(func(p *parts) int { return p.forwarded }), "the follower forwards")
	require.Equal(t, 1, b.parts.get(func(p *parts) int { return p.consumed }), "and feeds its own engine")
	require.Zero(t, b.parts.get(func(p *parts) int { return p.updates }), "the leader's board is served, not its own")
	require.Zero(t, b.parts.get(func(p *parts) int { return p.handled }), "its transitions open nothing")
	require.Nil(t, b.node.Sink())

	b.parts.followerStale.Store(true)
	b.node.Update(nil, nil)
	require.Equal(t, 1, b.parts.get(func(p *parts) int { return p.updates }), "a lost follower serves its own engine")
	require.Eventually(t, func() bool { b.parts.mu.Lock(); defer b.parts.mu.Unlock(); return b.parts.stale }, 5*time.Second, 5*time.Millisecond, "marked stale")
	b.parts.followerStale.Store(false)

	resumes := b.parts.get(func(p *parts) int { return p.resumes })
	a.stop()
	require.Eventually(t, b.node.Leading, 10*time.Second, 5*time.Millisecond, "the follower takes the lead")
	require.Equal(t, 1, b.parts.get(func(p *parts) int { return p.reloads }), "from the old leader's snapshot")
	require.Equal(t, resumes+1, b.parts.get(func(p *parts) int { return p.resumes }), "with the open incidents")
	b.node.Handle(trs)
	require.Equal(t, 1, b.parts.get(func(p *parts) int { return p.handled }))
	require.NotNil(t, b.node.Sink())
}
