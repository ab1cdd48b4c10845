package main

import (
	"os"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestParseStatCPU(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		stat    string
		want    int64
		wantErr bool
	}{
		{"plain", "1234 (watcher) S 1 1234 1234 0 -1 4194560 9000 0 0 0 250 75 0 0 20 0 12 0 100 0 0", 325, false},
		{"name with spaces and parens", "77 (my (odd) name) R 1 77 77 0 -1 0 0 0 0 0 3 4 0 0 20 0 1 0 5 0 0", 7, false},
		{"truncated", "77 (x) R 1 2 3", 0, true},
		{"no name", "garbage", 0, true},
		{"bad number", "77 (x) R 1 77 77 0 -1 0 0 0 0 0 x 4 0 0", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := parseStatCPU([]byte(tt.stat))
			if tt.wantErr {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

// TestProcessCPU has the meter watch this process while it burns 200 ms of CPU, as the kernel
// counts it for getrusage: the meter must see most of it (/proc counts in 10 ms ticks).
func TestProcessCPU(t *testing.T) {
	t.Parallel()
	m, err := startCPUMeter(os.Getpid())
	require.NoError(t, err)
	burned := burnCPU(t, 200*time.Millisecond)
	used, err := m.stop()
	require.NoError(t, err)
	require.GreaterOrEqual(t, used, burned/2, "the meter saw %s of the %s burned", used, burned)

	_, err = startCPUMeter(1 << 30)
	require.ErrorContains(t, err, "read cpu time")
}

// burnCPU spins until this process has used at least d of CPU time by getrusage's account, and
// returns how much it used.
func burnCPU(tb testing.TB, d time.Duration) time.Duration {
	tb.Helper()
	start := rusageCPU(tb)
	x := uint64(1)
	for {
		for range 100_000 {
			x = x*6364136223846793005 + 1442695040888963407
		}
		if used := rusageCPU(tb) - start; used >= d {
			runtime.KeepAlive(x)
			return used
		}
	}
}

// rusageCPU returns the user and system CPU time this process has used.
func rusageCPU(tb testing.TB) time.Duration {
	tb.Helper()
	var ru syscall.Rusage
	require.NoError(tb, syscall.Getrusage(syscall.RUSAGE_SELF, &ru))
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
