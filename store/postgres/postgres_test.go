package postgres_test

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/outagewatch/outagewatch/incidents"
	"github.com/outagewatch/outagewatch/internal/pgtest"
	"github.com/outagewatch/outagewatch/store/postgres"
	"github.com/outagewatch/outagewatch/store/storetest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	pgtest.StopAll()
	os.Exit(code)
}

func open(t *testing.T, dsn string) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(t.Context(), dsn, nil)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	return s
}

func TestContract(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) storetest.Store {
		return open(t, pgtest.NewDatabase(t))
	})
}

// migrationVersions returns the versions goose recorded as applied.
func migrationVersions(t *testing.T, dsn string) []int64 {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), dsn)
	require.NoError(t, err)
	defer conn.Close(context.WithoutCancel(t.Context()))
	rows, err := conn.Query(t.Context(), `SELECT version_id FROM goose_db_version WHERE is_applied ORDER BY id`)
	require.NoError(t, err)
	versions, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	require.NoError(t, err)
	return versions
}

func TestReopenIsANoOp(t *testing.T) {
	t.Parallel()
	dsn := pgtest.NewDatabase(t)
	s := open(t, dsn)
	inc, err := s.Apply(t.Context(), incidents.Change{Provider: "openai", At: time.Now()})
	require.NoError(t, err)
	require.NoError(t, s.Close())

	again := open(t, dsn)
	active, err := again.Active(t.Context())
	require.NoError(t, err)
	require.Len(t, active, 1)
	require.Equal(t, inc.ID, active[0].ID)
	require.Equal(t, []int64{0, 1, 2, 3, 4, 5, 6}, migrationVersions(t, dsn), "each migration applied once")
}

// TestConcurrentOpen starts two replicas on a new database at once: the session lock lets one
// migrate while the other waits, then finds nothing to do.
func TestConcurrentOpen(t *testing.T) {
	t.Parallel()
	dsn := pgtest.NewDatabase(t)
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range errs {
		wg.Go(func() {
			s, err := postgres.Open(t.Context(), dsn, nil)
			if err == nil {
				err = s.Close()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	require.NoError(t, errs[0])
	require.NoError(t, errs[1])
	require.Equal(t, []int64{0, 1, 2, 3, 4, 5, 6}, migrationVersions(t, dsn))
}

func TestOpenBadDSN(t *testing.T) {
	t.Parallel()
	_, err := postgres.Open(t.Context(), "postgres://u:secret@127.0.0.1:1/x?sslmode=bogus", nil)
	require.Error(t, err)
	require.NotContains(t, err.Error(), "secret")
}

// TestServerRestart stops the server under an open store: calls fail with retryable errors while
// it is down and succeed again once it is back, without reopening the store.
func TestServerRestart(t *testing.T) {
	t.Parallel()
	cluster := pgtest.NewCluster(t)
	s := open(t, cluster.NewDatabase(t))
	ctx := t.Context()
	change := incidents.Change{Provider: "openai", At: time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)}
	inc, err := s.Apply(ctx, change)
	require.NoError(t, err)

	cluster.Stop(t)
	require.Error(t, s.Ping(ctx))
	_, err = s.Apply(ctx, change)
	require.Error(t, err)
	require.NotErrorIs(t, err, incidents.ErrNotFound)

	cluster.Start(t)
	require.Eventually(t, func() bool { return s.Ping(ctx) == nil }, 10*time.Second, 50*time.Millisecond)
	again, err := s.Apply(ctx, change)
	require.NoError(t, err)
	require.Equal(t, inc.ID, again.ID)
}
