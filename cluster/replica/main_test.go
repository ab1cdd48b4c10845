package replica

import (
	"testing"
	"time"

	"github.com/outagewatch/outagewatch/internal/leaktest"
)

// TestMain fails the package's tests if a goroutine outlives them; nothing is ignored.
func TestMain(m *testing.M) { leaktest.Main(m) }

// hangGuard bounds waits for events that must come: it catches a hang, it is not a speed bound.
const hangGuard = time.Minute

// waitFor waits for ch to be closed or to deliver, failing the test after hangGuard.
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
