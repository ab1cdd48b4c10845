package watcherproc

import (
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestStatusField(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		status  string
		field   string
		want    int64
		wantErr string
	}{
		{"VmHWM", "Name:\twatcher\nVmPeak:\t 1262004 kB\nVmHWM:\t   46240 kB\nVmRSS:\t   40000 kB\n", "VmHWM", 46240 << 10, ""},
		{"VmRSS", "Name:\twatcher\nVmHWM:\t  409600 kB\nVmRSS:\t  204800 kB\n", "VmRSS", 200 << 20, ""},
		{"last line without newline", "Name:\twatcher\nVmHWM:\t12 kB", "VmHWM", 12 << 10, ""},
		{"missing", "Name:\twatcher\nVmRSS:\t   40000 kB\n", "VmHWM", 0, "VmHWM: no such field"},
		{"other unit", "VmHWM:\t   46240 MB\n", "VmHWM", 0, "unexpected value"},
		{"not a number", "VmHWM:\t   4x kB\n", "VmHWM", 0, "VmHWM"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := statusField([]byte(tt.status), tt.field)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
	_, err := statusField([]byte("VmRSS:\t1 kB\n"), "VmSwap")
	require.ErrorIs(t, err, errNoField)
}

func TestStatusFieldOfThisProcess(t *testing.T) {
	t.Parallel()
	status, err := os.ReadFile("/proc/self/status")
	require.NoError(t, err)
	for _, field := range []string{"VmHWM", "VmRSS"} {
		n, err := statusField(status, field)
		require.NoError(t, err)
		require.Positive(t, n, field)
	}
}
