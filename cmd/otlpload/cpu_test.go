package main

import (
	"os"
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

func TestProcessCPU(t *testing.T) {
	t.Parallel()
	m, err := startCPUMeter(os.Getpid())
	require.NoError(t, err)
	used, err := m.stop()
	require.NoError(t, err)
	require.GreaterOrEqual(t, used, time.Duration(0))

	_, err = startCPUMeter(1 << 30)
	require.ErrorContains(t, err, "read cpu time")
}
