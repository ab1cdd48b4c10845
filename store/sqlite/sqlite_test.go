package sqlite_test

import (
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/outagewatch/outagewatch/incidents"
	"github.com/outagewatch/outagewatch/store/sqlite"
	"github.com/outagewatch/outagewatch/store/storetest"
)

func open(t *testing.T, path string) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(t.Context(), path, nil)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	return s
}

func TestContract(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) storetest.Store {
		return open(t, filepath.Join(t.TempDir(), "outagewatch.db"))
	})
}

func TestOpenCreatesDirectory(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "data", "nested", "outagewatch.db")
	s := open(t, path)
	require.NoError(t, s.Ping(t.Context()))
	require.FileExists(t, path)
}

func TestReopenIsANoOp(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "outagewatch.db")
	s := open(t, path)
	inc, err := s.Apply(t.Context(), incidents.Change{Provider: "openai", At: time.Now()})
	require.NoError(t, err)
	require.NoError(t, s.Close())

	again := open(t, path)
	active, err := again.Active(t.Context())
	require.NoError(t, err)
	require.Len(t, active, 1)
	require.Equal(t, inc.ID, active[0].ID)
}

// TestTwoHandles opens the file twice, as two processes would: the writers' transactions wait
// for each other (busy_timeout) instead of failing, and still make one incident.
func TestTwoHandles(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "outagewatch.db")
	stores := []*sqlite.Store{open(t, path), open(t, path)}
	var wg sync.WaitGroup
	ids := make([]int64, 8)
	errs := make([]error, len(ids))
	for i := range ids {
		wg.Go(func() {
			inc, err := stores[i%2].Apply(t.Context(), incidents.Change{Provider: "openai", At: time.Now()})
			ids[i], errs[i] = inc.ID, err
		})
	}
	wg.Wait()
	for i := range ids {
		require.NoError(t, errs[i])
		require.Equal(t, ids[0], ids[i])
	}
}

func TestOpenRejectsBadPaths(t *testing.T) {
	t.Parallel()
	for _, path := range []string{"", "a?b.db", "a#b.db"} {
		_, err := sqlite.Open(t.Context(), path, nil)
		require.Error(t, err, path)
	}
}
