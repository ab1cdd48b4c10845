package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/outagewatch/outagewatch/alerts"
	"github.com/outagewatch/outagewatch/cluster"
	"github.com/outagewatch/outagewatch/cluster/forward"
	"github.com/outagewatch/outagewatch/cluster/lease"
	"github.com/outagewatch/outagewatch/cluster/replica"
	"github.com/outagewatch/outagewatch/incidents"
	"github.com/outagewatch/outagewatch/internal/supervisor"
)

// The wiring of a replica of a cluster (docs/cluster.md): a Postgres DSN and an OTLP gRPC
// listener make one. cluster.Node stands between the engine and what it feeds (the board, the
// incidents, the snapshots) and the ingest pipeline; the forwarding and replication services
// share the OTLP gRPC server; the lease, the forwarding client and the board's follower need
// the bound address, and are made in start.

// clusterParts are a replica's cluster parts; nil on a single node.
type clusterParts struct {
	node     *cluster.Node
	pool     *pgxpool.Pool
	lease    *lease.Lease
	forward  *forward.Client
	follower *replica.Follower
	// leasePart runs the lease; stopCluster stops it before giving the lease up.
	leasePart *supervisor.Part
}

// staleAfter is how long a follower goes without its leader's frames before it serves its own
// engine, marked stale: longer than a takeover (at most 4.5 s, docs/cluster.md), so that a
// failover never shows a follower's partial view.
const staleAfter = 8 * time.Second

// snapshotGate saves the engine's snapshot while this replica leads only: the leader's is the
// cluster's. Loading always reads the store (a starting follower's fallback engine, a new
// leader's reload).
type snapshotGate struct {
	store interface {
		SaveBaselines(ctx context.Context, name string, data []byte, at time.Time) error
		LoadBaselines(ctx context.Context, name string) ([]byte, error)
	}
	node *cluster.Node
}

func (g snapshotGate) SaveBaselines(ctx context.Context, name string, data []byte, at time.Time) error {
	if !g.node.Leading() {
		return nil
	}
	return g.store.SaveBaselines(ctx, name, data, at)
}

func (g snapshotGate) LoadBaselines(ctx context.Context, name string) ([]byte, error) {
	return g.store.LoadBaselines(ctx, name)
}

// outboxGate lets the alert worker claim notifications while this replica leads only.
type outboxGate struct {
	alerts.Outbox
	node *cluster.Node
}

func (g outboxGate) Claim(ctx context.Context, now time.Time, limit int, lease time.Duration) ([]incidents.OutboxRow, error) {
	if !g.node.Leading() {
		return nil, nil
	}
	return g.Outbox.Claim(ctx, now, limit, lease)
}

// registerCluster registers the forwarding and replication services on the OTLP gRPC server;
// they answer once the node is attached and the lease has read the cluster's secret.
func (a *app) registerCluster() error {
	reg := a.reg
	err := forward.Register(a.ingest.GRPC(), forward.ServerOptions{
		Token: a.cluster.node.Token,
		Sink: func() forward.Sink {
			if e := a.cluster.node.Sink(); e != nil {
				return e
			}
			return nil
		},
		Registerer: reg, Logger: a.logger,
	})
	if err != nil {
		return fmt.Errorf("cluster forwarding: %w", err)
	}
	_, err = replica.RegisterPublisher(a.ingest.GRPC(), replica.PublisherOptions{
		Board: a.board, Term: a.cluster.node.Term, Token: a.cluster.node.Token, Leading: a.cluster.node.Leading,
		Registerer: reg, Logger: a.logger,
	})
	if err != nil {
		return fmt.Errorf("cluster replication: %w", err)
	}
	return nil
}

// advertise is the address the other replicas reach this one's OTLP gRPC listener at.
func (a *app) advertise() (string, error) {
	if a.cfg.Cluster.Advertise != "" {
		return a.cfg.Cluster.Advertise, nil
	}
	host, port, err := net.SplitHostPort(a.ingest.GRPCAddr())
	if err != nil {
		return "", fmt.Errorf("cluster: advertise address of %q: %w", a.ingest.GRPCAddr(), err)
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		if host, err = os.Hostname(); err != nil {
			return "", fmt.Errorf("cluster: advertise address: %w (set cluster.advertise)", err)
		}
	}
	return net.JoinHostPort(host, port), nil
}

// startCluster makes the parts that need the bound address and attaches them to the node.
func (a *app) startCluster(ctx context.Context) error {
	addr, err := a.advertise()
	if err != nil {
		return err
	}
	pcfg, err := pgxpool.ParseConfig(string(a.cfg.Store.PostgresDSN))
	if err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	pcfg.MaxConns = 4
	if a.cluster.pool, err = pgxpool.NewWithConfig(ctx, pcfg); err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	host, _ := os.Hostname()
	id := lease.NewID(host)
	c := a.cluster
	if c.lease, err = lease.New(c.pool, lease.Options{ID: id, Advertise: addr, Registerer: a.reg, Logger: a.logger}); err != nil {
		return err
	}
	if c.forward, err = forward.NewClient(forward.ClientOptions{Leader: c.node.Leader, Token: c.node.Token, Registerer: a.reg, Logger: a.logger}); err != nil {
		return err
	}
	// A takeover takes up to the lease's 2 s, its grace's 2 s and a step; a follower keeps the
	// last board it had through it, and serves its own engine only past staleAfter.
	if c.follower, err = replica.NewFollower(replica.FollowerOptions{ID: id, Board: a.board, Leader: c.node.Leader, Token: c.node.Token,
		StaleAfter: staleAfter, Registerer: a.reg, Logger: a.logger}); err != nil {
		return err
	}
	c.node.Attach(c.lease, c.forward, c.follower)
	a.logger.Info("cluster replica", "id", id, "advertise", addr)
	return nil
}

// superviseCluster runs the cluster's parts, and gives the lease up at the end of shutdown,
// after the last writes (snapshot, incidents), so that another replica takes over at once.
func (a *app) superviseCluster() {
	c := a.cluster
	s := a.sup
	c.leasePart = s.Go("cluster lease", c.lease.Run)
	s.Go("cluster node", c.node.Run)
	s.Go("cluster forwarding", c.forward.Run)
	s.Go("cluster follower", c.follower.Run)
}

// stopCluster stops renewing the lease, gives it up and closes its pool.
func (a *app) stopCluster(ctx context.Context) error {
	c := a.cluster
	if c == nil || c.pool == nil {
		return nil
	}
	var err error
	if c.leasePart != nil {
		err = c.leasePart.Stop(ctx)
	}
	if c.lease != nil {
		c.lease.Release()
	}
	c.pool.Close()
	return err
}
