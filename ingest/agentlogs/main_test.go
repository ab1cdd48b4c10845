package agentlogs

import (
	"testing"

	"github.com/outagewatch/outagewatch/internal/leaktest"
)

// TestMain fails the package's tests if a goroutine outlives them; nothing is ignored.
func TestMain(m *testing.M) { leaktest.Main(m) }
