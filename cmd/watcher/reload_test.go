package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/outagewatch/outagewatch/internal/tlsfiles/tlstest"
	"github.com/outagewatch/outagewatch/internal/watchertest"
)

// reloadBase is the first configuration of the reload tests: heartbeats on the SSE stream
// every 100 ms, so that a test sees the stream stay open across a reload.
const reloadBase = `
log: {level: info}
health: {sse_heartbeat: 100ms}
`

// rewrite replaces the watcher's configuration file.
func rewrite(t *testing.T, w *watchertest.Watcher, yaml string) {
	t.Helper()
	tmp := w.Config + ".new"
	require.NoError(t, os.WriteFile(tmp, []byte(yaml), 0o600))
	require.NoError(t, os.Rename(tmp, w.Config))
}

// plainMetric returns the value of a /metrics line that starts with prefix.
func plainMetric(t *testing.T, api, prefix string) string {
	t.Helper()
	_, body := get(t, "http://"+api+"/metrics")
	for line := range strings.Lines(body) {
		if strings.HasPrefix(line, prefix+" ") {
			return strings.TrimSpace(strings.TrimPrefix(line, prefix))
		}
	}
	t.Fatalf("no %s in /metrics", prefix)
	return ""
}

// TestReloadAppliesLiveAndKeepsConnections: with a stream client attached, SIGHUP applies a
// new log level, provider hosts and detector settings without dropping the stream; a changed
// listen address is reported as needing a restart and kept; an invalid file changes nothing,
// is logged and counted, and POST /-/reload answers why.
func TestReloadAppliesLiveAndKeepsConnections(t *testing.T) {
	t.Parallel()
	w := watchertest.StartWatcher(t, reloadBase, "OUTAGEWATCH_API_TOKEN=ops-secret")
	t.Cleanup(func() { w.Stop(t) })
	require.Equal(t, "1", plainMetric(t, w.API, "outagewatch_config_last_reload_successful"))

	// An SSE client, reading heartbeats all along.
	resp, err := http.Get("http://" + w.API + "/v1/health/stream")
	require.NoError(t, err)
	defer resp.Body.Close()
	lines := make(chan string, 1024)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	heartbeat := func() {
		t.Helper()
		deadline := time.After(10 * time.Second) // heartbeats come every 100 ms
		for {
			select {
			case l, ok := <-lines:
				require.True(t, ok, "the stream ended")
				if strings.HasPrefix(l, ":") || strings.HasPrefix(l, "event: heartbeat") {
					return
				}
			case <-deadline:
				t.Fatal("no heartbeat on the stream")
			}
		}
	}
	heartbeat()

	// A span to a host nobody maps is not an LLM call of a known provider yet.
	sendToHost(t, w.OTLPGRPC, "llm.gateway.internal")
	rewrite(t, w, `
log: {level: warn}
ingest:
  provider_hosts: {llm.gateway.internal: anthropic}
detectors: {confine_wait: 2s}
health: {sse_heartbeat: 100ms, grpc_addr: "127.0.0.1:0"}
`)
	require.NoError(t, w.Signal(syscall.SIGHUP))
	out := w.WaitLog(t, regexp.MustCompile(`level=WARN msg="configuration change needs a restart: the running value is kept" setting=health.grpc_addr`), 1)
	// The warn level is in force: the reload's own INFO line, logged after it applied the
	// level, is not there.
	require.NotContains(t, out, `msg="configuration reloaded"`)
	require.Equal(t, "1", plainMetric(t, w.API, "outagewatch_config_last_reload_successful"))
	require.Equal(t, "1", plainMetric(t, w.API, `outagewatch_config_reloads_total{result="success"}`))
	heartbeat()
	// The new provider host is used: a call to it counts for anthropic.
	sendToHost(t, w.OTLPGRPC, "llm.gateway.internal")
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(plainMetricsBody(t, w.API), `outagewatch_calls_total{error_class="",model="claude-sonnet",outcome="ok",provider="anthropic"}`) {
		require.True(t, time.Now().Before(deadline), "no anthropic call after the reload:\n%s", w.Output())
		<-time.After(50 * time.Millisecond) // the pipeline hands calls on within its batch interval
	}
	_, hostsBody := get(t, "http://"+w.API+"/v1/hosts")
	require.Contains(t, hostsBody, `"llm.gateway.internal"`, "/v1/hosts lists the reloaded hosts")

	// An invalid file: nothing changes, the failure is logged and counted.
	rewrite(t, w, "log: {level: loud}\nhealth: {sse_heartbeat: 100ms}\n")
	require.NoError(t, w.Signal(syscall.SIGHUP))
	w.WaitLog(t, regexp.MustCompile(`msg="configuration reload failed: the running configuration is kept".*log.level`), 1)
	require.Equal(t, "0", plainMetric(t, w.API, "outagewatch_config_last_reload_successful"))
	require.Equal(t, "1", plainMetric(t, w.API, `outagewatch_config_reloads_total{result="failure"}`))
	heartbeat()
	// POST /-/reload says why.
	req, err := http.NewRequest(http.MethodPost, "http://"+w.API+"/-/reload", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer ops-secret")
	r2, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	body, _ := io.ReadAll(r2.Body)
	r2.Body.Close()
	require.Equal(t, http.StatusInternalServerError, r2.StatusCode, string(body))
	require.Contains(t, string(body), "log.level")
	// A good file again, through the API: 200 with what it applied.
	rewrite(t, w, reloadBase)
	r3, err := http.DefaultClient.Do(req.Clone(context.Background()))
	require.NoError(t, err)
	var res reloadResult
	require.NoError(t, json.NewDecoder(r3.Body).Decode(&res))
	r3.Body.Close()
	require.Equal(t, http.StatusOK, r3.StatusCode)
	require.Contains(t, res.Applied, "log.level")
	require.Contains(t, res.Applied, "ingest.provider_hosts")
	require.Empty(t, res.NeedRestart, "health.grpc_addr is back to its running value")
	require.Equal(t, "1", plainMetric(t, w.API, "outagewatch_config_last_reload_successful"))
	w.WaitLog(t, regexp.MustCompile(`level=INFO msg="configuration reloaded"`), 1)
	heartbeat()
}

// plainMetricsBody is the API's /metrics.
func plainMetricsBody(t *testing.T, api string) string {
	t.Helper()
	_, body := get(t, "http://"+api+"/metrics")
	return body
}

// sendToHost exports one successful chat span of model claude-sonnet whose provider is known
// only by its server.address.
func sendToHost(t *testing.T, grpcAddr, host string) {
	t.Helper()
	exp, err := otlptracegrpc.New(t.Context(), otlptracegrpc.WithEndpoint(grpcAddr), otlptracegrpc.WithInsecure())
	require.NoError(t, err)
	defer func() { _ = exp.Shutdown(context.Background()) }()
	spans := tracetest.SpanStubs{{
		Name: "chat claude-sonnet", SpanKind: trace.SpanKindClient, StartTime: time.Now().Add(-time.Second), EndTime: time.Now(),
		Attributes: []attribute.KeyValue{
			attribute.String("gen_ai.operation.name", "chat"),
			attribute.String("gen_ai.request.model", "claude-sonnet"),
			attribute.String("server.address", host),
			attribute.StringSlice("gen_ai.response.finish_reasons", []string{"stop"}),
		},
		SpanContext: trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{7}, SpanID: trace.SpanID{7}}),
	}}.Snapshots()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	require.NoError(t, exp.ExportSpans(ctx, spans))
}

// TestRotatedCertificateIsServed: a certificate replaced on disk is served by new connections
// after a reload (and by itself within the reload interval), without a restart; an invalid one
// keeps the old and fails the reload.
func TestRotatedCertificateIsServed(t *testing.T) {
	t.Parallel()
	ca := tlstest.NewCA(t)
	first := ca.Issue(t, []string{"127.0.0.1"}, false)
	dir := t.TempDir()
	cert, key := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	tlstest.Replace(t, cert, first.CertPEM)
	tlstest.Replace(t, key, first.KeyPEM)
	w := watchertest.StartWatcher(t, "api: {tls: {cert_file: "+cert+", key_file: "+key+", reload_interval: 1h}}\n")
	t.Cleanup(func() { w.Stop(t) })
	serial := func() string {
		conn, err := tls.Dial("tcp", w.API, ca.ClientConfig(nil))
		require.NoError(t, err)
		defer conn.Close()
		return conn.ConnectionState().PeerCertificates[0].SerialNumber.String()
	}
	require.Equal(t, first.Cert.SerialNumber.String(), serial())

	second := ca.Issue(t, []string{"127.0.0.1"}, false)
	tlstest.Replace(t, key, second.KeyPEM)
	tlstest.Replace(t, cert, second.CertPEM)
	require.NoError(t, w.Signal(syscall.SIGHUP))
	w.WaitLog(t, regexp.MustCompile(`msg="configuration reloaded"`), 1)
	require.Equal(t, second.Cert.SerialNumber.String(), serial(), "the rotated certificate is served")

	tlstest.Replace(t, key, []byte("not a key"))
	require.NoError(t, w.Signal(syscall.SIGHUP))
	w.WaitLog(t, regexp.MustCompile(`msg="configuration reload failed`), 1)
	require.Equal(t, second.Cert.SerialNumber.String(), serial(), "an invalid key keeps the certificate in service")
}

// TestSystemdNotifications: under Type=notify the daemon says READY=1 once it listens,
// RELOADING=1 then READY=1 around a SIGHUP, and STOPPING=1 on SIGTERM.
func TestSystemdNotifications(t *testing.T) {
	t.Parallel()
	sock := filepath.Join(t.TempDir(), "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	require.NoError(t, err)
	defer conn.Close()
	next := func() string {
		t.Helper()
		buf := make([]byte, 4096)
		require.NoError(t, conn.SetReadDeadline(time.Now().Add(30*time.Second)))
		n, err := conn.Read(buf)
		require.NoError(t, err)
		return string(buf[:n])
	}
	w := watchertest.StartWatcher(t, "", "NOTIFY_SOCKET="+sock)
	ready := next()
	require.Contains(t, ready, "READY=1\n")
	// READY=1 comes after the listeners: the API answers.
	code, _ := get(t, "http://"+w.API+"/healthz")
	require.Equal(t, http.StatusOK, code)
	require.NoError(t, w.Signal(syscall.SIGHUP))
	require.Regexp(t, `^RELOADING=1\nMONOTONIC_USEC=\d+\n$`, next())
	require.Contains(t, next(), "READY=1\n")
	require.NoError(t, w.Signal(syscall.SIGTERM))
	require.Contains(t, next(), "STOPPING=1\n")
	<-w.Done()
	require.Equal(t, 0, w.ExitCode(), w.Output())
}
