package main

import (
	"context"
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
		done <- run(ctx, args, getenv, logs, func(a *app) { started <- a })
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
	err := run(context.Background(), []string{"-config.check"}, func(string) string { return "" }, &out, nil)
	require.NoError(t, err)
	require.Contains(t, out.String(), "valid")

	err = run(context.Background(), []string{"-config.check", "-log.format", "xml"}, func(string) string { return "" }, &out, nil)
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
