package ingest

import (
	"fmt"
	"net/http"
	"os"
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine outlives them. Nothing is ignored: the
// keep-alive connections that the tests leave in http.DefaultClient's pool are closed first, so a
// goroutine still blocked on a socket afterwards is a leak (a server, listener or client left
// open), not a connection waiting for its peer to go away.
func TestMain(m *testing.M) {
	code := m.Run()
	http.DefaultClient.CloseIdleConnections()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}
	os.Exit(code)
}
