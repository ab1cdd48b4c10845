package dashboards_test

import (
	"fmt"
	"os"
	"testing"

	"go.uber.org/goleak"

	"github.com/outagewatch/outagewatch/internal/pgtest"
	"github.com/outagewatch/outagewatch/internal/watchertest"
)

// TestMain stops the shared Postgres cluster and removes the built binaries after the tests,
// then fails them if a goroutine outlived them (traffic, log readers, process waiters).
func TestMain(m *testing.M) {
	code := m.Run()
	pgtest.StopAll()
	watchertest.Cleanup()
	if code == 0 {
		if err := goleak.Find(
			// Keep-alive connections of HTTP clients, closed by the runtime later.
			goleak.IgnoreTopFunction("net/http.(*persistConn).readLoop"),
			goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"),
			goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"),
		); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}
	os.Exit(code)
}
