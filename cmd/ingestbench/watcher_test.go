package main

import (
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseVmHWM(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		status  string
		want    int64
		wantErr string
	}{
		{"status", "Name:\twatcher\nVmPeak:\t 1262004 kB\nVmHWM:\t   46240 kB\nVmRSS:\t   40000 kB\n", 46240 << 10, ""},
		{"last line without newline", "Name:\twatcher\nVmHWM:\t12 kB", 12 << 10, ""},
		{"missing", "Name:\twatcher\nVmRSS:\t   40000 kB\n", 0, "no VmHWM"},
		{"other unit", "VmHWM:\t   46240 MB\n", 0, "unexpected value"},
		{"not a number", "VmHWM:\t   4x kB\n", 0, "VmHWM"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := parseVmHWM([]byte(tt.status))
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestParseVmHWMOfThisProcess(t *testing.T) {
	t.Parallel()
	status, err := os.ReadFile("/proc/self/status")
	require.NoError(t, err)
	rss, err := parseVmHWM(status)
	require.NoError(t, err)
	require.Positive(t, rss)
}

func TestParseStarted(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		line   string
		want   addrs
		wantOK bool
	}{
		{
			"started",
			`{"time":"2026-01-02T03:04:05Z","level":"INFO","msg":"watcher started","api_addr":"127.0.0.1:1","otlp_grpc_addr":"127.0.0.1:2","otlp_http_addr":"127.0.0.1:3"}`,
			addrs{API: "127.0.0.1:1", OTLPGRPC: "127.0.0.1:2", OTLPHTTP: "127.0.0.1:3"}, true,
		},
		{"other message", `{"level":"INFO","msg":"api listening","addr":"127.0.0.1:1"}`, addrs{}, false},
		{"an address missing", `{"msg":"watcher started","api_addr":"127.0.0.1:1","otlp_grpc_addr":"127.0.0.1:2"}`, addrs{}, false},
		{"not JSON", `watcher: listen api: address in use`, addrs{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok := parseStarted([]byte(tt.line))
			require.Equal(t, tt.wantOK, ok)
			if ok {
				require.Equal(t, tt.want, got)
			}
		})
	}
}

func TestWatcherConfigDecodePath(t *testing.T) {
	t.Parallel()
	require.Contains(t, watcherConfig(true), "fast_path: true")
	require.Contains(t, watcherConfig(false), "fast_path: false")
}
