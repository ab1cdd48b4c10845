// Package await is the tests' bounded wait for an event that must come: it catches a hang, it
// is not a speed bound. For tests only.
package await

import (
	"testing"
	"time"
)

// HangGuard bounds every wait.
const HangGuard = time.Minute

// Recv returns the next value of ch, failing the test if none comes within HangGuard.
func Recv[T any](tb testing.TB, ch <-chan T, what string) T {
	tb.Helper()
	t := time.NewTimer(HangGuard)
	defer t.Stop()
	select {
	case v := <-ch:
		return v
	case <-t.C:
		tb.Fatalf("waited %s for %s", HangGuard, what)
		var zero T
		return zero
	}
}
