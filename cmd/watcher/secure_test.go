package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"

	"github.com/outagewatch/outagewatch/internal/tlsfiles/tlstest"
	"github.com/outagewatch/outagewatch/internal/watchertest"
)

// secureDaemon is a real watcher with TLS (mTLS on OTLP), and bearer tokens on OTLP and on
// the API's mutations, with the files it was given.
type secureDaemon struct {
	*watchertest.Watcher
	ca                      *tlstest.CA
	server, client, foreign *tlstest.Pair
	otlpToken, apiToken     string
	dir                     string
}

func startSecureDaemon(t *testing.T) *secureDaemon {
	t.Helper()
	d := &secureDaemon{ca: tlstest.NewCA(t), dir: t.TempDir(), otlpToken: "otlp-token-1", apiToken: "ops-token-1"}
	hosts := []string{"127.0.0.1", "localhost"}
	d.server, d.client = d.ca.Issue(t, hosts, false), d.ca.Issue(t, hosts, true)
	d.foreign = tlstest.NewCA(t).Issue(t, hosts, true) // a client certificate of another CA
	write := func(name, content string) string {
		p := filepath.Join(d.dir, name)
		require.NoError(t, os.WriteFile(p, []byte(content+"\n"), 0o600))
		return p
	}
	cfg := fmt.Sprintf(`
api:
  tls: {cert_file: %[1]s, key_file: %[2]s}
  auth:
    tokens: [{name: ops, file: %[4]s}]
ingest:
  tls: {cert_file: %[1]s, key_file: %[2]s, client_ca_file: %[3]s}
  auth:
    tokens: [{name: checkout, file: %[5]s}, {name: search, file: %[6]s}]
`, d.server.CertFile, d.server.KeyFile, d.ca.CertFile, write("ops.token", d.apiToken), write("checkout.token", d.otlpToken), write("search.token", "otlp-token-2"))
	d.Watcher = watchertest.StartWatcher(t, cfg)
	t.Cleanup(func() { d.Stop(t) })
	return d
}

// https returns a client of the API that trusts the test CA.
func (d *secureDaemon) https() *http.Client {
	return &http.Client{Transport: &http.Transport{TLSClientConfig: d.ca.ClientConfig(nil)}, Timeout: 10 * time.Second}
}

// metric returns the sum of the samples of a /metrics line prefix.
func (d *secureDaemon) metric(t *testing.T, prefix string) float64 {
	t.Helper()
	resp, err := d.https().Get("https://" + d.API + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var sum float64
	for line := range strings.Lines(string(body)) {
		if strings.HasPrefix(line, prefix) {
			f := strings.Fields(line)
			v, err := strconv.ParseFloat(f[len(f)-1], 64)
			require.NoError(t, err)
			sum += v
		}
	}
	return sum
}

// oneSpan is one GenAI chat span.
func oneSpan() []sdktrace.ReadOnlySpan {
	return tracetest.SpanStubs{{
		Name: "chat claude-sonnet", SpanKind: trace.SpanKindClient, StartTime: time.Now(), EndTime: time.Now(),
		Attributes:  chatAttributes("claude-sonnet", false),
		SpanContext: trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{9}, SpanID: trace.SpanID{9}}),
	}}.Snapshots()
}

func (d *secureDaemon) exportGRPC(t *testing.T, tlsCfg *tls.Config, token string) error {
	t.Helper()
	opts := []otlptracegrpc.Option{
		otlptracegrpc.WithEndpoint(d.OTLPGRPC), otlptracegrpc.WithTLSCredentials(credentials.NewTLS(tlsCfg)),
		otlptracegrpc.WithRetry(otlptracegrpc.RetryConfig{Enabled: false}),
	}
	if token != "" {
		opts = append(opts, otlptracegrpc.WithHeaders(map[string]string{"authorization": "Bearer " + token}))
	}
	exp, err := otlptracegrpc.New(t.Context(), opts...)
	require.NoError(t, err)
	defer func() { _ = exp.Shutdown(context.Background()) }()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	return exp.ExportSpans(ctx, oneSpan())
}

func (d *secureDaemon) exportHTTP(t *testing.T, tlsCfg *tls.Config, token string) error {
	t.Helper()
	opts := []otlptracehttp.Option{
		otlptracehttp.WithEndpoint(d.OTLPHTTP), otlptracehttp.WithTLSClientConfig(tlsCfg),
		otlptracehttp.WithRetry(otlptracehttp.RetryConfig{Enabled: false}),
	}
	if token != "" {
		opts = append(opts, otlptracehttp.WithHeaders(map[string]string{"Authorization": "Bearer " + token}))
	}
	exp, err := otlptracehttp.New(t.Context(), opts...)
	require.NoError(t, err)
	defer func() { _ = exp.Shutdown(context.Background()) }()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	return exp.ExportSpans(ctx, oneSpan())
}

// TestOTLPWithTLSAndTokens: OpenTelemetry SDK exporters with the CA, a client certificate and a
// token are accepted on both receivers; without the token they are refused with the status the
// OTLP specification gives (UNAUTHENTICATED, HTTP 401) and nothing of them is counted; without a
// client certificate, or with one of another CA, the handshake fails.
func TestOTLPWithTLSAndTokens(t *testing.T) {
	t.Parallel()
	d := startSecureDaemon(t)
	mtls := d.ca.ClientConfig(d.client)

	require.NoError(t, d.exportGRPC(t, mtls, d.otlpToken), "gRPC with a client certificate and a token")
	require.NoError(t, d.exportHTTP(t, mtls, "otlp-token-2"), "HTTP with the second token")
	received := d.metric(t, "outagewatch_ingest_spans_received_total")
	require.Equal(t, 2.0, received, "two spans accepted")

	err := d.exportGRPC(t, mtls, "")
	require.Equal(t, codes.Unauthenticated, status.Code(err), "gRPC without a token: %v", err)
	err = d.exportGRPC(t, mtls, "otlp-token-3")
	require.Equal(t, codes.Unauthenticated, status.Code(err), "gRPC with a wrong token: %v", err)
	err = d.exportHTTP(t, mtls, "")
	require.ErrorContains(t, err, "401", "HTTP without a token")
	require.Equal(t, received, d.metric(t, "outagewatch_ingest_spans_received_total"), "refused requests count no span")
	require.Equal(t, 3.0, d.metric(t, `outagewatch_ingest_requests_total{encoding="proto",protocol="grpc",result="unauthenticated",signal="traces"}`)+
		d.metric(t, `outagewatch_ingest_requests_total{encoding="proto",protocol="http",result="unauthenticated",signal="traces"}`))

	// A raw OTLP/HTTP request without a token: 401, WWW-Authenticate, a Status body.
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: mtls}, Timeout: 10 * time.Second}
	resp, err := c.Post("https://"+d.OTLPHTTP+"/v1/traces", "application/json", strings.NewReader(`{"resourceSpans":[]}`))
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	require.Equal(t, `Bearer realm="outagewatch"`, resp.Header.Get("WWW-Authenticate"))
	require.JSONEq(t, `{"code":16,"message":"missing or invalid bearer token"}`, string(body))

	// mTLS: no client certificate, or one of another CA, fails the handshake (before any token).
	require.Error(t, d.exportGRPC(t, d.ca.ClientConfig(nil), d.otlpToken), "gRPC without a client certificate")
	require.Error(t, d.exportHTTP(t, d.ca.ClientConfig(nil), d.otlpToken), "HTTP without a client certificate")
	foreign := d.ca.ClientConfig(nil)
	foreign.Certificates = []tls.Certificate{d.foreign.TLS}
	require.Error(t, d.exportGRPC(t, foreign, d.otlpToken), "a client certificate of another CA")
	require.Equal(t, received, d.metric(t, "outagewatch_ingest_spans_received_total"))
	require.Equal(t, float64(d.server.Cert.NotAfter.Unix()), d.metric(t, `outagewatch_tls_certificate_expiry_timestamp_seconds{listener="otlp"}`))
	require.Equal(t, float64(d.server.Cert.NotAfter.Unix()), d.metric(t, `outagewatch_tls_certificate_expiry_timestamp_seconds{listener="api"}`))
}

// TestHealthProbeAndCurlOverTLS: grpc-health-probe with its TLS flags reaches gRPC health on
// the OTLP port (open without a token), and curl with --cacert reads the API's health; the API
// speaks no plaintext.
func TestHealthProbeAndCurlOverTLS(t *testing.T) {
	t.Parallel()
	d := startSecureDaemon(t)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, watchertest.Tool(t, "grpc-health-probe"), "-addr", d.OTLPGRPC, "-tls", "-tls-ca-cert", d.ca.CertFile,
		"-tls-client-cert", d.client.CertFile, "-tls-client-key", d.client.KeyFile, "-tls-server-name", "localhost",
		"-connect-timeout", "5s", "-rpc-timeout", "5s").CombinedOutput()
	require.NoError(t, err, string(out))
	require.Contains(t, strings.ToLower(string(out)), "serving")

	out, err = exec.CommandContext(ctx, "curl", "-sS", "--fail-with-body", "--cacert", d.ca.CertFile, "https://localhost:"+port(d.API)+"/v1/health").CombinedOutput()
	require.NoError(t, err, string(out))
	require.Contains(t, string(out), `"providers"`)
	out, err = exec.CommandContext(ctx, "curl", "-sS", "--fail", "http://"+d.API+"/v1/health").CombinedOutput()
	var ee *exec.ExitError
	require.True(t, errors.As(err, &ee), "plaintext to the TLS API fails: %s", out)
}

// TestAPIMutationsNeedAToken: reads stay open, a mutation without a token is 401, with a wrong
// one 403, with the right one it runs and the log names the token.
func TestAPIMutationsNeedAToken(t *testing.T) {
	t.Parallel()
	d := startSecureDaemon(t)
	c := d.https()
	do := func(method, path, token string) int {
		req, err := http.NewRequestWithContext(t.Context(), method, "https://"+d.API+path, nil)
		require.NoError(t, err)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := c.Do(req)
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	require.Equal(t, http.StatusOK, do(http.MethodGet, "/v1/health", ""), "reads stay open")
	require.Equal(t, http.StatusOK, do(http.MethodGet, "/v1/incidents", ""))
	require.Equal(t, http.StatusUnauthorized, do(http.MethodPost, "/-/reload", ""))
	require.Equal(t, http.StatusForbidden, do(http.MethodPost, "/-/reload", "otlp-token-1"), "an OTLP token is not an API token")
	require.Equal(t, http.StatusOK, do(http.MethodPost, "/-/reload", d.apiToken))
	// The log line follows the answer.
	d.WaitLog(t, regexp.MustCompile(`msg="api mutation" method=POST path=/-/reload token=ops status=200`), 1)
	require.Regexp(t, regexp.MustCompile(`msg="api mutation" method=POST path=/-/reload token="" status=401`), d.Output())
}

// port returns the port of a host:port address.
func port(addr string) string { return addr[strings.LastIndexByte(addr, ':')+1:] }
