package main

import (
	"os"
	"testing"

	"github.com/outagewatch/outagewatch/internal/pgtest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	pgtest.StopAll()
	os.Exit(code)
}
