// Package leaktest fails a test binary whose goroutines outlive its tests, with nothing ignored.
// It must not be imported by anything but tests.
package leaktest

import (
	"fmt"
	"net/http"
	"os"
	"testing"

	"go.uber.org/goleak"
)

// Main runs the tests of m, then cleanups (servers and clusters the tests share), then closes the
// keep-alive connections that the tests left in http.DefaultClient's pool, and fails the binary
// if any goroutine is left: with the idle connections closed, a goroutine still blocked on a
// socket is a leak (a server, listener or client left open), not a connection waiting for its
// peer to go away. It exits the process; call it from TestMain.
func Main(m *testing.M, cleanups ...func()) {
	code := m.Run()
	for _, c := range cleanups {
		c()
	}
	http.DefaultClient.CloseIdleConnections()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}
	os.Exit(code)
}
