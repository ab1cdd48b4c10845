package watcherproc

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// fakeWatcher writes a shell script into dir that stands in for cmd/watcher: it prints its
// environment's OUTAGEWATCH_DATA_DIR and the first line of its -config file, then runs body. It
// exits 0 on SIGTERM, as the watcher does; the trap comes first so that no SIGTERM beats it.
func fakeWatcher(t *testing.T, dir, body string) string {
	t.Helper()
	bin := filepath.Join(dir, "fake-watcher")
	script := "#!/bin/sh\ntrap 'exit 0' TERM\necho \"data=$OUTAGEWATCH_DATA_DIR\"\necho \"config=$(head -n1 \"$2\")\"\n" + body
	require.NoError(t, os.WriteFile(bin, []byte(script), 0o700))
	return bin
}

func TestStart(t *testing.T) {
	t.Parallel()
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/readyz" {
			http.NotFound(w, r)
		}
	}))
	defer api.Close()
	apiAddr := strings.TrimPrefix(api.URL, "http://")
	dir := t.TempDir()
	started := fmt.Sprintf(`{"level":"INFO","msg":"watcher started","api_addr":%q,"otlp_grpc_addr":"127.0.0.1:2","otlp_http_addr":"127.0.0.1:3"}`, apiAddr)
	bin := fakeWatcher(t, dir, "echo '"+started+"'\nwhile :; do sleep 0.05; done\n")

	p, err := Start(t.Context(), bin, dir, "log:\n  format: json\n", CleanEnv())
	require.NoError(t, err)
	require.Equal(t, Addrs{API: apiAddr, OTLPGRPC: "127.0.0.1:2", OTLPHTTP: "127.0.0.1:3"}, p.Addrs())
	require.Positive(t, p.PID())
	require.NoError(t, p.Exited())
	rss, err := p.RSS()
	require.NoError(t, err)
	require.Positive(t, rss)
	hwm, err := p.PeakRSS()
	require.NoError(t, err)
	require.GreaterOrEqual(t, hwm, rss)
	require.Contains(t, p.Output(), "data="+filepath.Join(dir, "data"))
	require.Contains(t, p.Output(), "config=log:")

	require.NoError(t, p.Stop())
	require.NoError(t, p.Stop(), "a second Stop")
	require.ErrorContains(t, p.Exited(), "watcher exited during the run")
	_, err = p.PeakRSS()
	require.ErrorContains(t, err, "watcher exited during the run")
}

func TestStartExitsBeforeListening(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bin := fakeWatcher(t, dir, "echo 'watcher: listen api: address in use'\nexit 1\n")
	_, err := Start(t.Context(), bin, dir, "", CleanEnv())
	require.ErrorContains(t, err, "watcher exited before listening: exit status 1")
	require.ErrorContains(t, err, "address in use")
}

func TestStartNotReady(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close()) // nothing answers /readyz there
	dir := t.TempDir()
	started := fmt.Sprintf(`{"msg":"watcher started","api_addr":%q,"otlp_grpc_addr":"127.0.0.1:2","otlp_http_addr":"127.0.0.1:3"}`, addr)
	bin := fakeWatcher(t, dir, "echo '"+started+"'\nsleep 0.2\nexit 3\n")
	_, err = Start(t.Context(), bin, dir, "", CleanEnv())
	require.ErrorContains(t, err, "watcher exited before ready: exit status 3")
}

func TestCleanEnv(t *testing.T) {
	t.Setenv("OUTAGEWATCH_DATABASE_URL", "postgres://secret")
	t.Setenv("GOMEMLIMIT", "1GiB")
	t.Setenv("GOGC", "50")
	env := strings.Join(CleanEnv(), "\n")
	require.NotContains(t, env, "OUTAGEWATCH_")
	require.Contains(t, env, "GOMEMLIMIT=1GiB")
	env = strings.Join(CleanEnv("GOMEMLIMIT", "GOGC"), "\n")
	require.NotContains(t, env, "OUTAGEWATCH_")
	require.NotContains(t, env, "GOMEMLIMIT")
	require.NotContains(t, env, "GOGC")
	require.Contains(t, env, "PATH=")
}
