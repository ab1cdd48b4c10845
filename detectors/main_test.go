package detectors

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine outlives them; nothing is ignored (the
// package does no I/O, so nothing can be blocked on a socket).
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
