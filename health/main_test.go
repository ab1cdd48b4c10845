package health

import (
	"testing"

	"github.com/outagewatch/outagewatch/internal/await"
	"github.com/outagewatch/outagewatch/internal/leaktest"
)

// TestMain fails the package's tests if a goroutine outlives them; nothing is ignored.
func TestMain(m *testing.M) { leaktest.Main(m) }

// hangGuard bounds waits for events that must come: it catches a hang, it is not a speed bound.
const hangGuard = await.HangGuard

// waitFor returns the next value of ch, failing the test if none comes within hangGuard.
func waitFor[T any](tb testing.TB, ch <-chan T, what string) T {
	tb.Helper()
	return await.Recv(tb, ch, what)
}
