package dashboards_test

import (
	"fmt"
	"net/http"
	"os"
	"testing"

	"go.uber.org/goleak"

	"github.com/outagewatch/outagewatch/internal/pgtest"
	"github.com/outagewatch/outagewatch/internal/watchertest"
)

// TestMain stops the shared Postgres cluster and removes the built binaries after the tests,
// then fails them if a goroutine outlived them (traffic, log readers, process waiters). Nothing
// is ignored: the keep-alive connections that the tests' http.Get calls leave in
// http.DefaultClient's pool are closed here first, so a goroutine still reading a socket is a
// leak, not a connection waiting for its peer to go away.
func TestMain(m *testing.M) {
	code := m.Run()
	pgtest.StopAll()
	watchertest.Cleanup()
	http.DefaultClient.CloseIdleConnections()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}
	os.Exit(code)
}
