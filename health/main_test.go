package health

import (
	"testing"
	"time"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine outlives them.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// Keep-alive connections of http.DefaultClient, closed by the runtime later.
		goleak.IgnoreTopFunction("net/http.(*persistConn).readLoop"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"),
	)
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
