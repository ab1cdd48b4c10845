package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/outagewatch/outagewatch/detectors"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"
	"go.opentelemetry.io/otel/trace"
)

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startWatcher runs the daemon in-process on free ports and returns it once it listens.
func startWatcher(t testing.TB, extraArgs ...string) (*app, *syncBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	logs := &syncBuffer{}
	started := make(chan *app, 1)
	done := make(chan error, 1)
	args := append([]string{"-api.addr", "127.0.0.1:0", "-otlp.grpc.addr", "127.0.0.1:0", "-otlp.http.addr", "127.0.0.1:0"}, extraArgs...)
	dataDir := t.TempDir()
	getenv := func(k string) string {
		if k == "OUTAGEWATCH_DATA_DIR" {
			return dataDir
		}
		return ""
	}
	go func() {
		done <- run(ctx, args, getenv, logs, func(a *app) { started <- a }, nil)
	}()
	var a *app
	select {
	case a = <-started:
	case err := <-done:
		t.Fatalf("watcher exited early: %v\n%s", err, logs)
	case <-time.After(10 * time.Second):
		t.Fatal("watcher did not start")
	}
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
		out := logs.String()
		requireStepsInOrder(t, out)
	})
	return a, logs
}

// requireStepsInOrder checks that the shutdown logged every step, each once, in the order that
// loses nothing.
func requireStepsInOrder(t testing.TB, logs string) {
	t.Helper()
	last := -1
	for _, step := range []string{stepReadiness, stepPush, stepReceivers, stepQueue, stepEngine, stepSnapshot, stepAPI, stepIncidents, stepAlerts, stepStore} {
		needle := fmt.Sprintf("msg=\"shutdown step done\" component=supervisor step=%q", step)
		if !strings.ContainsAny(step, " ") {
			needle = "msg=\"shutdown step done\" component=supervisor step=" + step + " "
		}
		i := strings.Index(logs, needle)
		require.GreaterOrEqual(t, i, 0, "shutdown step %q done, once, in order:\n%s", step, logs)
		require.Equal(t, 1, strings.Count(logs, needle), "step %q logged once", step)
		require.Greater(t, i, last, "step %q after the one before it", step)
		last = i
	}
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

// emitCalls exports, through the real OpenTelemetry SDK, one successful chat span and one whose
// three HTTP attempts to the provider failed with 529, the way an instrumented app does.
func emitCalls(t *testing.T, exp sdktrace.SpanExporter, model string) {
	t.Helper()
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp),
		sdktrace.WithResource(resource.NewSchemaless(semconv.ServiceName("checkout"))),
	)
	tracer := tp.Tracer("test")
	ctx := context.Background()

	_, ok := tracer.Start(ctx, "chat "+model, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(
		attribute.String("gen_ai.operation.name", "chat"),
		attribute.String("gen_ai.provider.name", "anthropic"),
		attribute.String("gen_ai.request.model", model),
		attribute.StringSlice("gen_ai.response.finish_reasons", []string{"stop"}),
		attribute.Int("gen_ai.usage.output_tokens", 212),
	))
	ok.End()

	llmCtx, failed := tracer.Start(ctx, "chat "+model, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(
		attribute.String("gen_ai.operation.name", "chat"),
		attribute.String("gen_ai.provider.name", "anthropic"),
		attribute.String("gen_ai.request.model", model),
		attribute.String("error.type", "OverloadedError"),
	))
	for i := 0; i < 3; i++ {
		_, post := tracer.Start(llmCtx, "POST", trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(
			attribute.String("http.request.method", "POST"),
			attribute.String("server.address", "api.anthropic.com"),
			attribute.String("url.full", "https://api.anthropic.com/v1/messages"),
			attribute.Int("http.response.status_code", 529),
			attribute.String("error.type", "529"),
		))
		post.SetStatus(codes.Error, "")
		post.End()
	}
	failed.SetStatus(codes.Error, "Error code: 529 - {'type': 'error', 'error': {'type': 'overloaded_error'}}")
	failed.End()
	require.NoError(t, tp.Shutdown(ctx))
}

func TestSDKExportersReachTheDaemon(t *testing.T) {
	t.Parallel()
	a, _ := startWatcher(t)
	api := "http://" + a.apiAddr()

	code, _ := get(t, api+"/healthz")
	require.Equal(t, http.StatusOK, code)
	code, body := get(t, api+"/readyz")
	require.Equal(t, http.StatusOK, code, body)

	grpcExp, err := otlptracegrpc.New(context.Background(), otlptracegrpc.WithEndpoint(a.ingest.GRPCAddr()), otlptracegrpc.WithInsecure())
	require.NoError(t, err)
	emitCalls(t, grpcExp, "claude-grpc")
	httpExp, err := otlptracehttp.New(context.Background(), otlptracehttp.WithEndpoint(a.ingest.HTTPAddr()), otlptracehttp.WithInsecure(), otlptracehttp.WithCompression(otlptracehttp.GzipCompression))
	require.NoError(t, err)
	emitCalls(t, httpExp, "claude-http")

	want := []string{
		`outagewatch_calls_total{error_class="",model="claude-grpc",outcome="ok",provider="anthropic"} 1`,
		`outagewatch_calls_total{error_class="overloaded",model="claude-grpc",outcome="error",provider="anthropic"} 1`,
		`outagewatch_calls_total{error_class="",model="claude-http",outcome="ok",provider="anthropic"} 1`,
		`outagewatch_calls_total{error_class="overloaded",model="claude-http",outcome="error",provider="anthropic"} 1`,
		`outagewatch_ingest_llm_spans_total{kind="attempt"} 6`,
	}
	require.Eventually(t, func() bool {
		_, metrics := get(t, api+"/metrics")
		for _, w := range want {
			if !strings.Contains(metrics, w) {
				return false
			}
		}
		return true
	}, 10*time.Second, 50*time.Millisecond)
	_, metrics := get(t, api+"/metrics")
	require.Contains(t, metrics, `outagewatch_ingest_spans_accepted_total{protocol="grpc"} 5`)
	require.Contains(t, metrics, `outagewatch_ingest_spans_accepted_total{protocol="http"} 5`)
}

func TestConfigCheckValidatesAndExits(t *testing.T) {
	t.Parallel()
	var out strings.Builder
	err := run(context.Background(), []string{"-config.check"}, func(string) string { return "" }, &out, nil, nil)
	require.NoError(t, err)
	require.Contains(t, out.String(), "valid")

	err = run(context.Background(), []string{"-config.check", "-log.format", "xml"}, func(string) string { return "" }, &out, nil, nil)
	require.ErrorContains(t, err, "log.format")
}

// TestOutageReachesTheBoard sends the spans of failing calls through OTLP: the engine, still in
// its cold start, runs its hard-outage member, and the board shows the model and provider down.
func TestOutageReachesTheBoard(t *testing.T) {
	t.Parallel()
	a, logs := startWatcher(t)
	exp, err := otlptracehttp.New(context.Background(), otlptracehttp.WithEndpoint(a.ingest.HTTPAddr()), otlptracehttp.WithInsecure())
	require.NoError(t, err)
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp), sdktrace.WithResource(resource.NewSchemaless(semconv.ServiceName("checkout"))))
	tracer := tp.Tracer("test")
	for i := 0; i < 12; i++ {
		_, span := tracer.Start(context.Background(), "chat claude-dead", trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(
			attribute.String("gen_ai.operation.name", "chat"),
			attribute.String("gen_ai.provider.name", "anthropic"),
			attribute.String("gen_ai.request.model", "claude-dead"),
			attribute.String("error.type", "OverloadedError"),
		))
		span.SetStatus(codes.Error, "Error code: 529 - overloaded_error")
		span.End()
	}
	require.NoError(t, tp.Shutdown(context.Background()))
	key := detectors.SeriesKey{Provider: "anthropic", Model: "claude-dead"}
	require.Eventually(t, func() bool {
		st, ok := a.board.Get(key)
		return ok && st.State == detectors.StateDown
	}, 10*time.Second, 20*time.Millisecond)
	st, _ := a.board.Get(key)
	require.Equal(t, detectors.DetectorErrorDown, st.Evidence.Detector)
	require.Equal(t, "Error code: 529 - overloaded_error", st.Evidence.SampleError)
	prov, ok := a.board.Get(detectors.SeriesKey{Provider: "anthropic"})
	require.True(t, ok)
	require.Equal(t, detectors.StateDown, prov.State)
	require.Eventually(t, func() bool { return strings.Contains(logs.String(), "series state changed") }, 5*time.Second, 20*time.Millisecond)
}

func TestStatusPageIsServed(t *testing.T) {
	t.Parallel()
	a, _ := startWatcher(t)
	code, body := get(t, "http://"+a.apiAddr()+"/")
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, body, "<html")
	code, _ = get(t, "http://"+a.apiAddr()+"/no-such-page")
	require.Equal(t, http.StatusNotFound, code)
}

func TestPprofOnlyWhenEnabled(t *testing.T) {
	t.Parallel()
	a, _ := startWatcher(t)
	code, _ := get(t, "http://"+a.apiAddr()+"/debug/pprof/")
	require.Equal(t, http.StatusNotFound, code, "the profiler is off by default")

	dir := t.TempDir()
	cfg := dir + "/watcher.yaml"
	require.NoError(t, os.WriteFile(cfg, []byte("api: {pprof: true}\n"), 0o600))
	a, _ = startWatcher(t, "-config", cfg)
	code, body := get(t, "http://"+a.apiAddr()+"/debug/pprof/")
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, body, "goroutine")
}

func TestOwnMetricsAreExposed(t *testing.T) {
	t.Parallel()
	a, _ := startWatcher(t)
	code, body := get(t, "http://"+a.apiAddr()+"/metrics")
	require.Equal(t, http.StatusOK, code)
	require.Regexp(t, `outagewatch_build_info\{goversion="go[^"]+",revision="[^"]*",version="[^"]*"\} 1`, body)
	require.Contains(t, body, "outagewatch_statuspage_series 0")
	require.Contains(t, body, "outagewatch_statuspage_samples_refused_total 0")
	require.Contains(t, body, "outagewatch_ingest_queue_records_capacity 65536")
}

// TestIngestFreshnessInHealth sends spans through the SDK and sees /v1/health and the status
// page say that traffic arrives: first any span, then LLM calls, per provider.
func TestIngestFreshnessInHealth(t *testing.T) {
	t.Parallel()
	a, _ := startWatcher(t)
	api := "http://" + a.apiAddr()
	type ingestJSON struct {
		Ingest *struct {
			LastSpanAt         *time.Time `json:"last_span_at"`
			LastSpanSecondsAgo *float64   `json:"last_span_seconds_ago"`
			CallsPerSecond     float64    `json:"calls_per_second"`
			Providers          []struct {
				Provider           string     `json:"provider"`
				LastCallAt         *time.Time `json:"last_call_at"`
				LastCallSecondsAgo *float64   `json:"last_call_seconds_ago"`
				CallsPerSecond     float64    `json:"calls_per_second"`
			} `json:"providers"`
		} `json:"ingest"`
	}
	health := func() ingestJSON {
		code, body := get(t, api+"/v1/health")
		require.Equal(t, http.StatusOK, code)
		var h ingestJSON
		require.NoError(t, json.Unmarshal([]byte(body), &h))
		require.NotNil(t, h.Ingest, body)
		return h
	}
	h := health()
	require.Nil(t, h.Ingest.LastSpanAt, "nothing has arrived")
	require.Empty(t, h.Ingest.Providers)
	_, page := get(t, api+"/")
	require.Contains(t, page, "no span received yet · 0 calls/s")

	exp, err := otlptracehttp.New(context.Background(), otlptracehttp.WithEndpoint(a.ingest.HTTPAddr()), otlptracehttp.WithInsecure())
	require.NoError(t, err)
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp), sdktrace.WithResource(resource.NewSchemaless(semconv.ServiceName("checkout"))))
	sent := time.Now()
	_, span := tp.Tracer("test").Start(context.Background(), "GET /cart", trace.WithSpanKind(trace.SpanKindServer))
	span.End()
	require.NoError(t, tp.Shutdown(context.Background()))
	require.Eventually(t, func() bool { return health().Ingest.LastSpanAt != nil }, 10*time.Second, 50*time.Millisecond, "a span that is no LLM call counts as traffic")
	h = health()
	require.WithinDuration(t, sent, *h.Ingest.LastSpanAt, 5*time.Second)
	require.Less(t, *h.Ingest.LastSpanSecondsAgo, 5.0)
	require.Empty(t, h.Ingest.Providers, "no LLM call yet")

	emitCalls(t, newHTTPExporter(t, a), "claude-fresh")
	require.Eventually(t, func() bool {
		h = health()
		return len(h.Ingest.Providers) == 1 && h.Ingest.CallsPerSecond > 0
	}, 10*time.Second, 50*time.Millisecond)
	p := h.Ingest.Providers[0]
	require.Equal(t, "anthropic", p.Provider)
	require.NotNil(t, p.LastCallAt)
	require.Less(t, *p.LastCallSecondsAgo, 5.0)
	require.Positive(t, p.CallsPerSecond)
	require.Equal(t, h.Ingest.CallsPerSecond, p.CallsPerSecond)

	_, page = get(t, api+"/")
	require.Regexp(t, `last span (&lt;1s|\d+s) ago · [0-9.]+ calls/s`, page)
	require.Regexp(t, `<strong>anthropic</strong>: last call (&lt;1s|\d+s) ago · [0-9.]+ calls/s`, page)
	require.NotContains(t, page, "No traffic")
	_, metrics := get(t, api+"/metrics")
	require.Regexp(t, `\noutagewatch_ingest_last_span_timestamp_seconds [1-9][0-9.e+]+\n`, metrics)
}

// newHTTPExporter is a new OTLP/HTTP exporter to a's receiver.
func newHTTPExporter(t *testing.T, a *app) sdktrace.SpanExporter {
	t.Helper()
	exp, err := otlptracehttp.New(context.Background(), otlptracehttp.WithEndpoint(a.ingest.HTTPAddr()), otlptracehttp.WithInsecure())
	require.NoError(t, err)
	return exp
}
