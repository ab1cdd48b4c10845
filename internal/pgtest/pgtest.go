package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvURL names the environment variable with the URL of an existing server to use instead of a
// throwaway cluster (its database is used only to create and drop the test databases).
const EnvURL = "OUTAGEWATCH_TEST_DATABASE_URL"

var (
	sharedOnce    sync.Once
	shared        *Cluster
	errShared     error
	clustersMu    sync.Mutex
	localClusters []*Cluster // every local cluster started, for StopAll
)

// Start returns the cluster shared by the tests of this binary, starting it on first use: the
// server at $OUTAGEWATCH_TEST_DATABASE_URL when set, else a throwaway local cluster. It fails the
// test when PostgreSQL cannot be found or started.
func Start(tb testing.TB) *Cluster {
	tb.Helper()
	sharedOnce.Do(func() {
		if u := os.Getenv(EnvURL); u != "" {
			shared, errShared = external(u)
			return
		}
		shared, errShared = newLocal()
	})
	if errShared != nil {
		tb.Fatalf("pgtest: %v", errShared)
	}
	return shared
}

// NewDatabase creates a fresh, empty database on the shared cluster, drops it when the test ends,
// and returns its DSN.
func NewDatabase(tb testing.TB) string {
	tb.Helper()
	return Start(tb).NewDatabase(tb)
}

// NewCluster starts a private local cluster, which the test may stop and start at will, and
// stops it when the test ends. It ignores OUTAGEWATCH_TEST_DATABASE_URL: a fault test needs a
// server it controls.
func NewCluster(tb testing.TB) *Cluster {
	tb.Helper()
	c, err := newLocal()
	if err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	tb.Cleanup(func() {
		if err := c.shutdown(); err != nil {
			tb.Errorf("pgtest: %v", err)
		}
	})
	return c
}

// StopAll stops every local cluster this binary started and removes its files. Call it from
// TestMain after m.Run; a server at OUTAGEWATCH_TEST_DATABASE_URL is left alone.
func StopAll() {
	clustersMu.Lock()
	cs := localClusters
	localClusters = nil
	clustersMu.Unlock()
	for _, c := range cs {
		if err := c.shutdown(); err != nil {
			fmt.Fprintf(os.Stderr, "pgtest: %v\n", err)
		}
	}
}

// NewDatabase creates a fresh, empty database t_<random> on c, drops it when the test ends
// (disconnecting whoever is still connected), and returns its DSN.
func (c *Cluster) NewDatabase(tb testing.TB) string {
	tb.Helper()
	name := "t_" + randomHex(8)
	if err := c.admin(fmt.Sprintf("CREATE DATABASE %s", name)); err != nil {
		tb.Fatalf("pgtest: create database: %v", err)
	}
	tb.Cleanup(func() {
		if err := c.admin(fmt.Sprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", name)); err != nil {
			tb.Errorf("pgtest: drop database: %v", err)
		}
	})
	return c.DSN(name)
}

// DSN returns the URL of database db on c.
func (c *Cluster) DSN(db string) string {
	u := *c.base
	u.Path = "/" + db
	return u.String()
}

// admin runs one statement on the cluster's maintenance database.
func (c *Cluster) admin(stmt string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, c.base.String())
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	_, err = conn.Exec(ctx, stmt)
	return err
}

// external returns a Cluster for the server at rawURL, whose database is the maintenance one.
func external(rawURL string) (*Cluster, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("%s: cannot parse URL", EnvURL) // the error would quote the password
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = "/postgres"
	}
	return &Cluster{base: u}, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}
