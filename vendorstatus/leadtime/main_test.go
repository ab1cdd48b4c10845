package leadtime_test

import (
	"testing"

	"github.com/outagewatch/outagewatch/internal/leaktest"
)

func TestMain(m *testing.M) { leaktest.Main(m) }
