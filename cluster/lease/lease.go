// Package lease elects the leader of a cluster of outagewatch replicas through the Postgres
// they share (docs/cluster.md): a lease row with a term that grows at every change of leader,
// renewed by its holder and taken over by another replica once it has expired. The database's
// clock decides expiry; the holder stops acting as leader by its own monotonic clock before the
// database would let another take over, and every write it makes is fenced by the database
// (store/postgres calls outagewatch_fence(term)), so that a paused leader that wakes up cannot
// write once it has been deposed.
package lease

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
)

// Options configure a Lease.
type Options struct {
	// ID names this replica in the cluster (unique per process).
	ID string
	// Advertise is the address (host:port) the other replicas reach this one's gRPC server at.
	Advertise string
	// TTL is how long a lease lasts without renewal. 2 s when zero.
	TTL time.Duration
	// Grace is how long after a lease expired another replica may take it; until then its last
	// holder may take it back (a leader whose database was unreachable for a while keeps the
	// lead, with its queued writes, instead of losing it to whichever replica reconnects first).
	// A new leader takes over at most TTL + Grace + Renew after the old one stopped renewing
	// (4.5 s by default). TTL when zero.
	Grace time.Duration
	// Renew is how often the holder renews and the others look. 500 ms when zero.
	Renew      time.Duration
	Registerer prometheus.Registerer
	Logger     *slog.Logger
	// Now is the monotonic clock of the holder's own view (tests); time.Now when nil.
	Now func() time.Time
}

// Member is one replica of the cluster, as it last recorded itself.
type Member struct {
	ID        string    `json:"id"`
	Advertise string    `json:"advertise"`
	StartedAt time.Time `json:"started_at"`
	SeenAt    time.Time `json:"seen_at"`
	Leader    bool      `json:"leader"`
}

// State is what a replica knows of the lease.
type State struct {
	// Term is the lease's term as last read (the cluster's); Leading whether this replica
	// holds it, and may act as leader, now.
	Term    int64
	Leading bool
	// Leader is the holder's ID and Advertise its address; "" when no one holds the lease.
	Leader, Advertise string
	// Members is how many replicas recorded themselves in the last 10 TTLs.
	Members int
}

// Lease runs the election for one replica. Its methods are safe for concurrent use.
type Lease struct {
	pool    *pgxpool.Pool
	opts    Options
	started time.Time
	logger  *slog.Logger

	mu      sync.Mutex
	state   State
	validTo time.Time // by opts.Now: when this replica must stop acting as leader
	changed chan struct{}
	secret  string

	m *metrics
}

// New returns a lease over pool (a database migrated by store/postgres). It starts nothing:
// call Run.
func New(pool *pgxpool.Pool, opts Options) (*Lease, error) {
	if opts.ID == "" || opts.Advertise == "" {
		return nil, errors.New("lease: an ID and an advertise address are required")
	}
	if opts.TTL == 0 {
		opts.TTL = 2 * time.Second
	}
	if opts.Grace == 0 {
		opts.Grace = opts.TTL
	}
	if opts.Renew == 0 {
		opts.Renew = 500 * time.Millisecond
	}
	if opts.Renew*2 > opts.TTL {
		return nil, fmt.Errorf("lease: renew %s must be at most half the ttl %s", opts.Renew, opts.TTL)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	l := &Lease{pool: pool, opts: opts, started: opts.Now(), logger: opts.Logger.With("component", "cluster"),
		changed: make(chan struct{})}
	if opts.Registerer != nil {
		l.m = newMetrics(opts.Registerer, l)
	}
	return l, nil
}

// NewID returns a replica ID: host name and a random suffix.
func NewID(host string) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return host + "-" + hex.EncodeToString(b[:])
}

// Secret returns the cluster's shared secret (read or created at the first Run step); "" before.
func (l *Lease) Secret() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.secret
}

// State returns what this replica knows of the lease now. Leading turns false as soon as the
// replica's own clock says its lease may have expired, renewed or not.
func (l *Lease) State() State {
	l.mu.Lock()
	defer l.mu.Unlock()
	st := l.state
	if st.Leading && !l.opts.Now().Before(l.validTo) {
		st.Leading = false
	}
	return st
}

// Term returns the term this replica writes with: its term while it leads, else 0.
func (l *Lease) Term() int64 {
	if st := l.State(); st.Leading {
		return st.Term
	}
	return 0
}

// Leader returns the leader's advertised address, unless no one leads or this replica does.
func (l *Lease) Leader() (string, bool) {
	st := l.State()
	if st.Leader == "" || st.Leading || st.Leader == l.opts.ID {
		return "", false
	}
	return st.Advertise, true
}

// Changed returns a channel closed at the next change of the state's leader, term or Leading.
func (l *Lease) Changed() <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.changed
}

// ID is this replica's ID.
func (l *Lease) ID() string { return l.opts.ID }

// Advertise is this replica's advertised address.
func (l *Lease) Advertise() string { return l.opts.Advertise }

// Run takes part in the election until ctx ends: every Renew it renews its lease or tries to
// take an expired one, and records itself as a member. Database errors are logged and retried
// at the next step; meanwhile a leader stops leading when its lease may have expired. It keeps
// the lease on return: the daemon's last writes (baselines, incidents) still need it; call
// Release after them.
func (l *Lease) Run(ctx context.Context) error {
	t := time.NewTicker(l.opts.Renew)
	defer t.Stop()
	failing := false
	for {
		err := l.step(ctx)
		switch {
		case err != nil && ctx.Err() == nil && !failing:
			l.logger.Warn("cluster lease: database unreachable, will retry", "err", err)
			failing = true
		case err == nil && failing:
			l.logger.Info("cluster lease: database reachable again")
			failing = false
		}
		l.expire()
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// step renews or takes the lease and reads it.
func (l *Lease) step(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, l.opts.TTL/2)
	defer cancel()
	if l.Secret() == "" {
		if err := l.loadSecret(ctx); err != nil {
			return err
		}
	}
	sent := l.opts.Now()
	ttl := l.opts.TTL.Seconds()
	cur := l.State()
	var term int64
	var err error
	if cur.Leading {
		err = l.pool.QueryRow(ctx, `UPDATE cluster_lease SET expires_at = clock_timestamp() + make_interval(secs => $3)
			WHERE id = 1 AND holder = $1 AND term = $2 RETURNING term`, l.opts.ID, cur.Term, ttl).Scan(&term)
		if errors.Is(err, pgx.ErrNoRows) {
			l.logger.Warn("cluster lease: lost", "term", cur.Term)
			err = nil
		}
	}
	if term == 0 && err == nil {
		err = l.pool.QueryRow(ctx, `UPDATE cluster_lease SET term = term + 1, holder = $1, advertise = $2,
				expires_at = clock_timestamp() + make_interval(secs => $3)
			WHERE id = 1 AND (holder = $1 AND expires_at <= clock_timestamp()
				OR expires_at <= clock_timestamp() - make_interval(secs => $4))
			RETURNING term`, l.opts.ID, l.opts.Advertise, ttl, l.opts.Grace.Seconds()).Scan(&term)
		if err == nil {
			l.logger.Info("cluster lease: leading", "term", term)
		}
		if errors.Is(err, pgx.ErrNoRows) {
			err = nil
		}
	}
	if err != nil {
		return fmt.Errorf("cluster lease: %w", err)
	}
	var st State
	var valid bool
	if err := l.pool.QueryRow(ctx, `SELECT term, holder, advertise, expires_at > clock_timestamp() FROM cluster_lease WHERE id = 1`).
		Scan(&st.Term, &st.Leader, &st.Advertise, &valid); err != nil {
		return fmt.Errorf("cluster lease: read: %w", err)
	}
	if !valid {
		st.Leader, st.Advertise = "", ""
	}
	st.Leading = term != 0 && st.Term == term && st.Leader == l.opts.ID
	st.Members = cur.Members // counted below
	// A lease renewed at `sent` or later lasts TTL by the database's clock; this replica acts as
	// leader until TTL less a margin by its own, so that it stops before another may start.
	l.set(st, sent.Add(l.opts.TTL-l.opts.Renew))
	_, err = l.pool.Exec(ctx, `INSERT INTO cluster_members (id, advertise, started_at, seen_at)
		VALUES ($1, $2, $3, clock_timestamp())
		ON CONFLICT (id) DO UPDATE SET advertise = excluded.advertise, seen_at = excluded.seen_at`,
		l.opts.ID, l.opts.Advertise, l.started)
	if err != nil {
		return fmt.Errorf("cluster lease: record member: %w", err)
	}
	if err := l.pool.QueryRow(ctx, `SELECT count(*) FROM cluster_members
		WHERE seen_at > clock_timestamp() - make_interval(secs => $1)`, 10*l.opts.TTL.Seconds()).Scan(&st.Members); err != nil {
		return fmt.Errorf("cluster lease: count members: %w", err)
	}
	l.set(st, sent.Add(l.opts.TTL-l.opts.Renew))
	return nil
}

// loadSecret reads the cluster's secret, creating it if this is the first replica.
func (l *Lease) loadSecret(ctx context.Context) error {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return err
	}
	var secret string
	err := l.pool.QueryRow(ctx, `WITH ins AS (INSERT INTO cluster_secret (id, secret) VALUES (1, $1)
			ON CONFLICT (id) DO NOTHING RETURNING secret)
		SELECT secret FROM ins UNION ALL SELECT secret FROM cluster_secret WHERE id = 1 LIMIT 1`,
		hex.EncodeToString(b[:])).Scan(&secret)
	if err != nil {
		return fmt.Errorf("cluster secret: %w", err)
	}
	l.mu.Lock()
	l.secret = secret
	l.mu.Unlock()
	return nil
}

// set installs a new state, signalling a change.
func (l *Lease) set(st State, validTo time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if st.Leading {
		l.validTo = validTo
	}
	if st != l.state {
		l.state = st
		close(l.changed)
		l.changed = make(chan struct{})
	}
}

// expire turns Leading off once the replica's own clock says its lease may be over.
func (l *Lease) expire() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.state.Leading && !l.opts.Now().Before(l.validTo) {
		l.logger.Warn("cluster lease: not renewed in time, no longer leading", "term", l.state.Term)
		l.state.Leading = false
		close(l.changed)
		l.changed = make(chan struct{})
	}
}

// Release gives the lease up (at the end of shutdown, after Run), so that another replica takes
// over at once instead of after the lease's TTL.
func (l *Lease) Release() {
	st := l.State()
	if !st.Leading {
		return
	}
	l.mu.Lock()
	l.state.Leading = false
	close(l.changed)
	l.changed = make(chan struct{})
	l.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), l.opts.TTL/2)
	defer cancel()
	if _, err := l.pool.Exec(ctx, `UPDATE cluster_lease SET expires_at = '-infinity' WHERE id = 1 AND holder = $1 AND term = $2`,
		l.opts.ID, st.Term); err != nil {
		l.logger.Warn("cluster lease: not released; another replica takes over when it expires", "err", err)
		return
	}
	l.logger.Info("cluster lease: released", "term", st.Term)
}

// Members lists the replicas seen in the last 10 TTLs, the leader marked.
func (l *Lease) Members(ctx context.Context) ([]Member, error) {
	rows, err := l.pool.Query(ctx, `SELECT m.id, m.advertise, m.started_at, m.seen_at,
			m.id = c.holder AND c.expires_at > clock_timestamp()
		FROM cluster_members m, cluster_lease c
		WHERE c.id = 1 AND m.seen_at > clock_timestamp() - make_interval(secs => $1)
		ORDER BY m.id`, 10*l.opts.TTL.Seconds())
	if err != nil {
		return nil, fmt.Errorf("cluster members: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Member, error) {
		var m Member
		err := r.Scan(&m.ID, &m.Advertise, &m.StartedAt, &m.SeenAt, &m.Leader)
		return m, err
	})
}
