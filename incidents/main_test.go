package incidents

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine outlives them. Nothing is ignored: the
// tests use an in-memory store and no network, so every goroutine left behind is a leak.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
