package main

import (
	"os"
	"testing"

	"github.com/outagewatch/outagewatch/internal/pgtest"
	"github.com/outagewatch/outagewatch/internal/watchertest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	pgtest.StopAll()
	watchertest.Cleanup()
	os.Exit(code)
}
