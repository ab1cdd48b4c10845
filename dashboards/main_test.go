package dashboards_test

import (
	"testing"

	"github.com/outagewatch/outagewatch/internal/leaktest"
	"github.com/outagewatch/outagewatch/internal/pgtest"
	"github.com/outagewatch/outagewatch/internal/watchertest"
)

// TestMain stops the shared Postgres cluster and removes the built binaries after the tests,
// then fails them if a goroutine outlived them (traffic, log readers, process waiters).
func TestMain(m *testing.M) { leaktest.Main(m, pgtest.StopAll, watchertest.Cleanup) }
