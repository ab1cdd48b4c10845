package dashboards_test

import (
	"fmt"
	"os"
	"testing"

	"go.uber.org/goleak"

	"github.com/outagewatch/outagewatch/internal/pgtest"
)

// binDir holds the binaries the tests build (the watcher), for the whole test binary.
var binDir string

// TestMain stops the shared Postgres cluster and removes the built binaries after the tests,
// then fails them if a goroutine outlived them (traffic, log readers, process waiters).
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "outagewatch-dashboards-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	pgtest.StopAll()
	_ = os.RemoveAll(dir)
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
