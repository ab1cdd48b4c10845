package pgtest_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/outagewatch/outagewatch/internal/pgtest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	pgtest.StopAll()
	os.Exit(code)
}

func TestNewDatabase(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	a, b := pgtest.NewDatabase(t), pgtest.NewDatabase(t)
	require.NotEqual(t, a, b)

	conn, err := pgx.Connect(ctx, a)
	require.NoError(t, err)
	defer conn.Close(context.WithoutCancel(ctx))
	_, err = conn.Exec(ctx, `CREATE TABLE marker (x int)`)
	require.NoError(t, err)

	var name string
	require.NoError(t, conn.QueryRow(ctx, `SELECT current_database()`).Scan(&name))
	require.Regexp(t, `^t_[0-9a-f]{16}$`, name)

	other, err := pgx.Connect(ctx, b)
	require.NoError(t, err)
	defer other.Close(context.WithoutCancel(ctx))
	var n int
	require.NoError(t, other.QueryRow(ctx, `SELECT count(*) FROM pg_tables WHERE tablename = 'marker'`).Scan(&n))
	require.Zero(t, n, "databases must be independent")
}

func TestStopStart(t *testing.T) {
	t.Parallel()
	c := pgtest.NewCluster(t)
	dsn := c.NewDatabase(t)
	ping := func() error {
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			return err
		}
		defer conn.Close(context.WithoutCancel(ctx))
		return conn.Ping(ctx)
	}
	require.NoError(t, ping())
	c.Stop(t)
	require.Error(t, ping())
	c.Start(t)
	require.NoError(t, ping(), "the data survives a restart on the same port")
}
