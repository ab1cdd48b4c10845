package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
)

// receiver is a tiny OTLP/HTTP trace receiver that counts what it is sent.
type receiver struct {
	mu       sync.Mutex
	requests int
	spans    map[string]int // by span name
	services map[string]bool
}

func newReceiver(tb testing.TB) (*receiver, *httptest.Server) {
	tb.Helper()
	r := &receiver{spans: map[string]int{}, services: map[string]bool{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.URL.Path != "/v1/traces" || req.Header.Get("Content-Type") != "application/x-protobuf" {
			http.Error(w, "want protobuf on /v1/traces", http.StatusBadRequest)
			return
		}
		body, err := io.ReadAll(req.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		er := ptraceotlp.NewExportRequest()
		if err := er.UnmarshalProto(body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.count(er.Traces())
		out, _ := ptraceotlp.NewExportResponse().MarshalProto()
		w.Header().Set("Content-Type", "application/x-protobuf")
		_, _ = w.Write(out)
	}))
	tb.Cleanup(srv.Close)
	return r, srv
}

func (r *receiver) count(td ptrace.Traces) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.requests++
	for i := 0; i < td.ResourceSpans().Len(); i++ {
		rs := td.ResourceSpans().At(i)
		if v, ok := rs.Resource().Attributes().Get("service.name"); ok {
			r.services[v.Str()] = true
		}
		for j := 0; j < rs.ScopeSpans().Len(); j++ {
			spans := rs.ScopeSpans().At(j).Spans()
			for k := 0; k < spans.Len(); k++ {
				r.spans[spans.At(k).Name()]++
			}
		}
	}
}

// fastYAML is a scenario whose calls last well under a second, so that a 2 s run ends them all.
const fastYAML = `
name: fast
traffic:
  service: from-yaml
  errors: {overloaded: 0.2}
  truncation: 0.2
  targets:
    - provider: anthropic
      model: claude-sonnet-4-5
      rate: 40
      stream: 0.5
      ttft: {median: 50ms, sigma: 0.2}
      token_time: {median: 1ms, sigma: 0.2}
      output_tokens: {median: 100, sigma: 0.3}
      shapes: {genai: 1}
phases:
  - {name: warm, duration: 1s}
  - name: hot
    duration: 1s
    overrides: [{target: '*', rate_factor: 2}]
`

func TestRunAgainstOTLPReceiver(t *testing.T) {
	t.Parallel()
	rcv, srv := newReceiver(t)
	path := filepath.Join(t.TempDir(), "fast.yaml")
	require.NoError(t, os.WriteFile(path, []byte(fastYAML), 0o600))
	env := map[string]string{"OTEL_SERVICE_NAME": "loadgen-test", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"}
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"-scenario", path, "-endpoint", srv.URL, "-seed", "42", "-drain", "5s"},
		func(k string) string { return env[k] }, &stdout, &stderr)
	require.NoError(t, err, stderr.String())
	require.Contains(t, stderr.String(), `msg="timeline over"`, "the run played the whole timeline")

	// The summary's total row: every call counted there reached the receiver.
	total := summaryRow(t, stdout.String(), "total")
	calls, err := strconv.Atoi(total[1])
	require.NoError(t, err)
	require.InDelta(t, 40+80, calls, 45, stdout.String())
	require.NotContains(t, stdout.String(), "abandoned")

	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	require.Equal(t, calls, rcv.spans["chat claude-sonnet-4-5"], "one LLM span per call")
	attempts, err := strconv.Atoi(total[5])
	require.NoError(t, err)
	require.Equal(t, attempts, rcv.spans["POST"], "one POST span per attempt")
	require.Greater(t, attempts, calls, "some calls were retried")
	require.Equal(t, map[string]bool{"loadgen-test": true}, rcv.services)
	require.GreaterOrEqual(t, rcv.requests, 2, "the batch processor exports every second")

	require.Contains(t, stderr.String(), "phase=warm")
	require.Contains(t, stderr.String(), "phase hot (1s left) | calls ")
	require.Contains(t, stderr.String(), "loadgen starting")
}

func summaryRow(tb testing.TB, summary, key string) []string {
	tb.Helper()
	for _, line := range strings.Split(summary, "\n") {
		if f := strings.Fields(line); len(f) > 0 && f[0] == key {
			return f
		}
	}
	tb.Fatalf("no %s row in:\n%s", key, summary)
	return nil
}

// Cancelling the context ends the run at once, whatever is in flight; the spans ended so far are
// flushed.
func TestRunStopsOnCancel(t *testing.T) {
	t.Parallel()
	rcv, srv := newReceiver(t)
	path := filepath.Join(t.TempDir(), "long.yaml")
	long := strings.Replace(fastYAML, "duration: 1s", "duration: 10m", 2)
	require.NoError(t, os.WriteFile(path, []byte(long), 0o600))
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	var stdout, stderr bytes.Buffer
	start := time.Now()
	err := run(ctx, []string{"-scenario", path, "-endpoint", srv.URL, "-quiet", "-seed", "3"},
		func(string) string { return "" }, &stdout, &stderr)
	require.NoError(t, err)
	// Ended by the cancel, not by the 20-minute timeline; the bound is a hang guard, not a
	// measure of speed.
	require.Less(t, time.Since(start), time.Minute)
	require.NotContains(t, stderr.String(), `msg="timeline over"`)
	require.NotContains(t, stderr.String(), " | calls ", "-quiet silences progress")
	calls, err := strconv.Atoi(summaryRow(t, stdout.String(), "total")[1])
	require.NoError(t, err)
	require.Positive(t, calls)
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	require.Equal(t, calls, rcv.spans["chat claude-sonnet-4-5"], "every ended call was flushed")
	require.Equal(t, map[string]bool{"from-yaml": true}, rcv.services, "the scenario's service name")
}

func TestRunRejects(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"unknown flag", []string{"-nope"}, nil, "parse flags"},
		{"unknown scenario", []string{"-scenario", "nope"}, nil, `unknown scenario "nope"`},
		{"bad protocol", nil, map[string]string{"OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"}, `protocol "http/json" is not supported`},
		{"arguments", []string{"extra"}, nil, "unexpected arguments"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := run(context.Background(), tc.args, func(k string) string { return tc.env[k] }, io.Discard, io.Discard)
			require.ErrorContains(t, err, tc.want)
		})
	}
}

func TestRunListAndCheck(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"-list"}, os.Getenv, &out, io.Discard))
	require.Contains(t, out.String(), "truncation-storm")
	out.Reset()
	require.NoError(t, run(context.Background(), []string{"-check", "-scenario", "recovery"}, os.Getenv, &out, io.Discard))
	require.Equal(t, "scenario recovery: valid, 5 targets, 4 phases\n", out.String())
}

func TestResolveTarget(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name               string
		endpoint, protocol string
		env                map[string]string
		want               exportTarget
	}{
		{"default", "", "", nil, exportTarget{protocolHTTP, "http://localhost:4318/v1/traces"}},
		{"default grpc", "", "", map[string]string{"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, exportTarget{protocolGRPC, "http://localhost:4317"}},
		{"base endpoint", "", "", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, exportTarget{protocolHTTP, "http://collector:4318/v1/traces"}},
		{"base endpoint with a path", "", "", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "https://gw/otlp/"}, exportTarget{protocolHTTP, "https://gw/otlp/v1/traces"}},
		{"traces endpoint as is", "", "", map[string]string{
			"OTEL_EXPORTER_OTLP_ENDPOINT": "http://ignored:4318", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/custom",
		}, exportTarget{protocolHTTP, "http://collector:4318/custom"}},
		{"traces protocol wins", "", "", map[string]string{
			"OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "grpc", "OTEL_EXPORTER_OTLP_ENDPOINT": "grpc://watcher:4317",
		}, exportTarget{protocolGRPC, "grpc://watcher:4317"}},
		{"flag wins", "127.0.0.1:14318", "", map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://ignored/v1/traces"}, exportTarget{protocolHTTP, "http://127.0.0.1:14318/v1/traces"}},
		{"flag with the path", "http://h:1/v1/traces", "", nil, exportTarget{protocolHTTP, "http://h:1/v1/traces"}},
		{"flag protocol", "h:4317", "grpc", map[string]string{"OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"}, exportTarget{protocolGRPC, "http://h:4317"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := resolveTarget(tc.endpoint, tc.protocol, func(k string) string { return tc.env[k] })
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
	_, err := resolveTarget("http://", "", func(string) string { return "" })
	require.ErrorContains(t, err, "not a URL or host:port")
}
