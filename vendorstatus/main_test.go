package vendorstatus

import (
	"os"
	"testing"

	"github.com/outagewatch/outagewatch/internal/leaktest"
)

func TestMain(m *testing.M) {
	if os.Getenv(proxyChildEnv) != "" {
		os.Exit(proxyChild())
	}
	leaktest.Main(m)
}
