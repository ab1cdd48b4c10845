package lease

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/outagewatch/outagewatch/incidents"
	"github.com/outagewatch/outagewatch/internal/pgtest"
	"github.com/outagewatch/outagewatch/store/postgres"
)

func TestMain(m *testing.M) {
	code := m.Run()
	pgtest.StopAll()
	os.Exit(code)
}

// cluster is a migrated database and the pools of its replicas.
type cluster struct {
	t   *testing.T
	dsn string
	// grace is the replicas' Options.Grace (their TTL when zero).
	grace time.Duration
}

func newCluster(t *testing.T) *cluster {
	dsn := pgtest.NewDatabase(t)
	st, err := postgres.Open(context.Background(), dsn, nil)
	require.NoError(t, err)
	require.NoError(t, st.Close())
	return &cluster{t: t, dsn: dsn}
}

func (c *cluster) pool() *pgxpool.Pool {
	p, err := pgxpool.New(context.Background(), c.dsn)
	require.NoError(c.t, err)
	c.t.Cleanup(p.Close)
	return p
}

// frozenClock is a clock a test can stop, as a paused process's view of time stops.
type frozenClock struct {
	mu     sync.Mutex
	frozen time.Time
}

func (f *frozenClock) now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.frozen.IsZero() {
		return f.frozen
	}
	return time.Now()
}

func (f *frozenClock) freeze() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.frozen = time.Now()
}

// replica runs a lease until the test ends or stop is called.
type replica struct {
	*Lease
	cancel context.CancelFunc
	done   chan error
}

func (c *cluster) replica(id string, now func() time.Time) *replica {
	l, err := New(c.pool(), Options{ID: id, Advertise: id + ":4317", TTL: 900 * time.Millisecond, Renew: 100 * time.Millisecond, Grace: c.grace, Now: now})
	require.NoError(c.t, err)
	ctx, cancel := context.WithCancel(context.Background())
	r := &replica{Lease: l, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- l.Run(ctx) }()
	c.t.Cleanup(r.stop)
	return r
}

func (r *replica) stop() {
	if r.cancel != nil {
		r.cancel()
		<-r.done
		r.cancel = nil
	}
}

func leaderOf(rs ...*replica) *replica {
	var out *replica
	for _, r := range rs {
		if r.State().Leading {
			if out != nil {
				return nil // two leaders: never
			}
			out = r
		}
	}
	return out
}

// TestOneLeaderAndTakeover: of three replicas exactly one leads; the others know its address
// and the cluster's secret; when the leader stops renewing (its process dies), another takes
// over within the TTL and a renewal, with a higher term; a released lease is taken at once.
func TestOneLeaderAndTakeover(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	a, b, d := c.replica("a", nil), c.replica("b", nil), c.replica("d", nil)
	var first *replica
	require.Eventually(t, func() bool { first = leaderOf(a, b, d); return first != nil }, 5*time.Second, 10*time.Millisecond)
	term := first.State().Term
	require.Equal(t, int64(1), term)
	for _, r := range []*replica{a, b, d} {
		require.Eventually(t, func() bool { return r.Secret() != "" }, 5*time.Second, 10*time.Millisecond)
		require.Equal(t, a.Secret(), r.Secret(), "one secret")
		if r != first {
			require.Eventually(t, func() bool { addr, ok := r.Leader(); return ok && addr == first.ID()+":4317" }, 5*time.Second, 10*time.Millisecond)
		}
	}
	members, err := a.Members(context.Background())
	require.NoError(t, err)
	require.Len(t, members, 3)

	died := time.Now()
	first.stop() // no release: as a kill -9
	var second *replica
	require.Eventually(t, func() bool {
		second = leaderOf(a, b, d)
		return second != nil && second != first
	}, 5*time.Second, 10*time.Millisecond)
	t.Logf("takeover %v after the leader stopped renewing (ttl 900ms, renew 100ms)", time.Since(died).Round(time.Millisecond))
	require.Greater(t, second.State().Term, term)

	released := time.Now()
	second.stop()
	second.Release()
	require.Eventually(t, func() bool { l := leaderOf(a, b, d); return l != nil && l != first && l != second }, 5*time.Second, 10*time.Millisecond)
	t.Logf("takeover %v after a release", time.Since(released).Round(time.Millisecond))
}

// TestDeposedLeaderCannotWrite: a leader whose process pauses (its clock stops: it still
// believes it leads) is deposed when its lease expires; when it wakes, its fenced writes are
// refused by the database, and the new leader's succeed.
func TestDeposedLeaderCannotWrite(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	clock := &frozenClock{}
	old := c.replica("old", clock.now)
	require.Eventually(t, func() bool { return old.State().Leading }, 5*time.Second, 10*time.Millisecond)
	store := func(l *Lease) *postgres.Store {
		st, err := postgres.Open(context.Background(), c.dsn, nil)
		require.NoError(t, err)
		t.Cleanup(func() { _ = st.Close() })
		st.SetFence(l.Term)
		return st
	}
	oldStore := store(old.Lease)
	change := incidents.Change{Provider: "anthropic", Severity: incidents.SeverityCritical, At: time.Now(),
		Events: []incidents.EventSpec{{Event: incidents.Event{Kind: incidents.EventOpened, Model: "m", From: "healthy", To: "down"}}}}
	_, err := oldStore.Apply(context.Background(), change)
	require.NoError(t, err, "the leader writes")

	clock.freeze() // the process pauses: its view of time stops, it believes it still leads
	old.stop()
	term := old.Term()
	require.NotZero(t, term)
	niu := c.replica("new", nil)
	require.Eventually(t, func() bool { return niu.State().Leading }, 5*time.Second, 10*time.Millisecond)
	require.Greater(t, niu.State().Term, term)

	require.Equal(t, term, old.Term(), "the paused leader still believes it leads")
	change.At = time.Now()
	_, err = oldStore.Apply(context.Background(), change)
	require.ErrorIs(t, err, postgres.ErrFenced, "the database refuses the deposed leader's write")
	require.ErrorIs(t, oldStore.SaveBaselines(context.Background(), "engine", []byte("old"), time.Now()), postgres.ErrFenced)
	require.NoError(t, store(niu.Lease).SaveBaselines(context.Background(), "engine", []byte("new"), time.Now()), "the new leader writes")
	data, err := oldStore.LoadBaselines(context.Background(), "engine")
	require.NoError(t, err)
	require.Equal(t, "new", string(data))
}

// TestFollowerCannotWrite: a replica that does not lead writes nothing (refused before the
// database).
func TestFollowerCannotWrite(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	leader := c.replica("leader", nil)
	require.Eventually(t, func() bool { return leader.State().Leading }, 5*time.Second, 10*time.Millisecond)
	follower := c.replica("follower", nil)
	require.Eventually(t, func() bool { _, ok := follower.Leader(); return ok }, 5*time.Second, 10*time.Millisecond)
	st, err := postgres.Open(context.Background(), c.dsn, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	st.SetFence(follower.Term)
	require.ErrorIs(t, st.SaveBaselines(context.Background(), "engine", []byte("x"), time.Now()), postgres.ErrFenced)
}

// TestLastLeaderTakesItsLeaseBack: when the database was unreachable for every replica (here:
// none ran) past the lease's expiry, the replica that led last takes the lease back, with a new
// term, while the others wait out the grace: it keeps its queued writes and its engine.
func TestLastLeaderTakesItsLeaseBack(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	c.grace = time.Minute // longer than the test: b can only wait
	a := c.replica("a", nil)
	require.Eventually(t, func() bool { return a.State().Leading }, 5*time.Second, 10*time.Millisecond)
	term := a.State().Term
	a.stop()
	pool := c.pool()
	require.Eventually(t, func() bool {
		var expired bool
		require.NoError(t, pool.QueryRow(context.Background(), `SELECT expires_at <= clock_timestamp() FROM cluster_lease`).Scan(&expired))
		return expired
	}, 5*time.Second, 10*time.Millisecond, "the lease expires")
	b := c.replica("b", nil) // comes back first
	require.Eventually(t, func() bool { _, ok := b.Leader(); st := b.State(); return !ok && st.Leader == "" && st.Members > 0 }, 5*time.Second, 10*time.Millisecond)
	a2 := c.replica("a", nil)
	require.Eventually(t, func() bool { return a2.State().Leading }, 5*time.Second, 10*time.Millisecond, "the last leader takes its lease back")
	require.False(t, b.State().Leading)
	require.Greater(t, a2.State().Term, term)
}
