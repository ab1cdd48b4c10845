package migrations_test

import (
	"io/fs"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/outagewatch/outagewatch/migrations"
)

// TestDialectsInStep checks that both dialects hold the same migration files, so that a version
// added to one is not forgotten in the other.
func TestDialectsInStep(t *testing.T) {
	t.Parallel()
	pg, err := fs.Glob(migrations.Postgres, "*.sql")
	require.NoError(t, err)
	lite, err := fs.Glob(migrations.SQLite, "*.sql")
	require.NoError(t, err)
	require.NotEmpty(t, pg)
	require.Equal(t, pg, lite)
	for _, name := range pg {
		for _, fsys := range []fs.FS{migrations.Postgres, migrations.SQLite} {
			body, err := fs.ReadFile(fsys, name)
			require.NoError(t, err)
			require.Contains(t, string(body), "-- +goose Up", name)
			require.Contains(t, string(body), "-- +goose Down", name)
		}
	}
}
