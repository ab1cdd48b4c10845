package watcherproc

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseStarted(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		line   string
		want   Addrs
		wantOK bool
	}{
		{
			"started",
			`{"time":"2026-01-02T03:04:05Z","level":"INFO","msg":"watcher started","api_addr":"127.0.0.1:1","otlp_grpc_addr":"127.0.0.1:2","otlp_http_addr":"127.0.0.1:3"}`,
			Addrs{API: "127.0.0.1:1", OTLPGRPC: "127.0.0.1:2", OTLPHTTP: "127.0.0.1:3"}, true,
		},
		{"other message", `{"level":"INFO","msg":"api listening","addr":"127.0.0.1:1"}`, Addrs{}, false},
		{"an address missing", `{"msg":"watcher started","api_addr":"127.0.0.1:1","otlp_grpc_addr":"127.0.0.1:2"}`, Addrs{}, false},
		{"not JSON", `watcher: listen api: address in use`, Addrs{}, false},
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
