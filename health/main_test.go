package health

import (
	"fmt"
	"net/http"
	"os"
	"testing"
	"time"

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

// hangGuard bounds waits for events that must come: it catches a hang, it is not a speed bound.
const hangGuard = time.Minute

// waitFor returns the next value of ch, failing the test if none comes within hangGuard.
func waitFor[T any](tb testing.TB, ch <-chan T, what string) T {
	tb.Helper()
	t := time.NewTimer(hangGuard)
	defer t.Stop()
	select {
	case v := <-ch:
		return v
	case <-t.C:
		tb.Fatalf("waited %s for %s", hangGuard, what)
		var zero T
		return zero
	}
}
