package collector

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	_ "google.golang.org/grpc/encoding/gzip" // the Collector's OTLP exporter compresses with gzip

	"github.com/outagewatch/outagewatch/internal/sdkfixtures"
	"github.com/outagewatch/outagewatch/internal/watchertest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	watchertest.Cleanup()
	os.Exit(code)
}

const (
	traces       = 400 // traces sent through the Collector
	failEvery    = 8   // every 8th trace's LLM call fails with a 529
	spansInTrace = 5   // root, LLM, its HTTP attempt, a DB span, an HTTP call to a non-LLM host
	genAIInTrace = 2   // the LLM span and its HTTP attempt
)

// TestConfigSendsEveryGenAISpanBeforeTailSampling runs the Collector of builder.yaml with
// config.yaml between a real outagewatch daemon and an in-test trace backend, sends traces
// through it, and checks that outagewatch got every GenAI span and nothing else while the backend
// got a tail-sampled subset of whole traces with every error trace.
func TestConfigSendsEveryGenAISpanBeforeTailSampling(t *testing.T) {
	otelcol := collectorBinary(t)
	watcher := watchertest.StartWatcher(t, "")
	backend := startBackend(t)

	col := startCollector(t, otelcol, "config.yaml",
		"OUTAGEWATCH_OTLP_ENDPOINT="+watcher.OTLPGRPC,
		"TRACE_BACKEND_ENDPOINT="+backend.addr,
		// A short wait keeps the test short; the documented default is 10s.
		"TAIL_SAMPLING_DECISION_WAIT=2s",
	)

	errorTraces := send(t, col.grpc)
	failures := len(errorTraces)

	// outagewatch counted every LLM call: the filter runs before sampling.
	watcherMetrics := "http://" + watcher.API + "/metrics"
	require.Eventually(t, func() bool {
		return sum(tryScrape(watcherMetrics), "outagewatch_calls_total", nil) >= traces
	}, 60*time.Second, 100*time.Millisecond, "outagewatch did not count %d calls", traces)

	m := scrape(t, watcherMetrics)
	require.Equal(t, float64(traces), sum(m, "outagewatch_calls_total", nil), "LLM calls counted")
	require.Equal(t, float64(traces), sum(m, "outagewatch_calls_total", map[string]string{"provider": "anthropic", "model": "claude-sonnet-4-5"}), "calls of anthropic/claude-sonnet-4-5")
	require.Equal(t, float64(failures), sum(m, "outagewatch_calls_total", map[string]string{"outcome": "error"}), "failed calls")
	require.Equal(t, float64(failures), sum(m, "outagewatch_calls_total", map[string]string{"outcome": "error", "error_class": "overloaded"}), "failed calls classed overloaded (529)")
	require.Equal(t, float64(traces-failures), sum(m, "outagewatch_calls_total", map[string]string{"outcome": "ok"}), "successful calls")
	require.Equal(t, float64(traces), sum(m, "outagewatch_ingest_llm_spans_total", map[string]string{"kind": "llm"}), "LLM spans recognised")
	require.Equal(t, float64(traces), sum(m, "outagewatch_ingest_llm_spans_total", map[string]string{"kind": "attempt"}), "HTTP attempts recognised")
	require.Equal(t, float64(traces*genAIInTrace), sum(m, "outagewatch_ingest_spans_received_total", nil), "spans received by outagewatch: the GenAI spans and no other")

	// The trace backend got the traces the tail sampler kept, whole: wait until the sampler has
	// decided every trace (its own metric), then until the backend has the traces it kept.
	collectorMetrics := col.metrics
	const decided = "otelcol_processor_tail_sampling_global_count_traces_sampled"
	require.Eventually(t, func() bool {
		return sum(tryScrape(collectorMetrics), decided, nil) >= traces
	}, 60*time.Second, 100*time.Millisecond, "the tail sampler did not decide %d traces", traces)
	cm := scrape(t, collectorMetrics)
	require.Equal(t, float64(traces), sum(cm, decided, nil), "traces decided by the tail sampler")
	// The filter dropped the other spans.
	require.Equal(t, float64(traces*(spansInTrace-genAIInTrace)), sum(cm, "otelcol_processor_filter_spans_filtered", nil), "spans dropped by filter/genai")
	kept := int(sum(cm, decided, map[string]string{"sampled": "true"}))
	t.Logf("tail sampling kept %d of %d traces (%d with an error)", kept, traces, failures)
	require.Greater(t, kept, 0)
	require.Less(t, kept, traces, "the backend must get a sample, not every trace")

	require.Eventually(t, func() bool {
		return backend.spanCount() >= kept*spansInTrace
	}, 60*time.Second, 100*time.Millisecond, "the backend did not get the %d traces kept", kept)
	got := backend.traces()
	require.Len(t, got, kept, "traces at the backend")
	for id, n := range got {
		require.Equal(t, spansInTrace, n, "spans of trace %s at the backend", id)
	}
	for _, id := range errorTraces {
		require.Contains(t, got, id, "an error trace must reach the backend")
	}

	// Nothing else reached outagewatch while the backend's traces went through.
	m = scrape(t, watcherMetrics)
	require.Equal(t, float64(traces*genAIInTrace), sum(m, "outagewatch_ingest_spans_received_total", nil), "spans received by outagewatch at the end")
	require.Equal(t, float64(traces), sum(m, "outagewatch_calls_total", nil), "LLM calls counted at the end")
}

// collectorBinary returns the Collector to test: OUTAGEWATCH_OTELCOL, or the binary that
// scripts/collector.sh builds (or finds in its cache) from builder.yaml.
func collectorBinary(t *testing.T) string {
	t.Helper()
	if bin := os.Getenv("OUTAGEWATCH_OTELCOL"); bin != "" {
		_, err := os.Stat(bin)
		require.NoError(t, err, "OUTAGEWATCH_OTELCOL")
		return bin
	}
	script, err := filepath.Abs(filepath.Join("..", "scripts", "collector.sh"))
	require.NoError(t, err)
	start := time.Now()
	cmd := exec.Command("bash", script)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("OUTAGEWATCH_OTELCOL is unset and %s failed: %v\n%s", script, err, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	bin := lines[len(lines)-1]
	t.Logf("Collector %s from scripts/collector.sh in %v", bin, time.Since(start).Round(time.Millisecond))
	return bin
}

// collector is a running Collector: its OTLP/gRPC receiver and its own metrics endpoint.
type collector struct {
	grpc    string // host:port
	metrics string // URL
}

// startCollector runs the Collector bin with the configuration file config (in this directory)
// and env, on free loopback ports for its receivers and its metrics, and waits until it is ready.
// Its output is logged when the test fails.
func startCollector(t *testing.T, bin, config string, env ...string) collector {
	t.Helper()
	grpcAddr, httpAddr, telemetryPort := freeAddr(t), freeAddr(t), freePort(t)
	col := watchertest.Start(t, bin, append([]string{
		"OTELCOL_OTLP_GRPC_ENDPOINT=" + grpcAddr,
		"OTELCOL_OTLP_HTTP_ENDPOINT=" + httpAddr,
		"OTELCOL_TELEMETRY_HOST=127.0.0.1",
		fmt.Sprintf("OTELCOL_TELEMETRY_PORT=%d", telemetryPort),
	}, env...), "--config", config)
	// The conditions of require.Eventually run on another goroutine: they must not fail the test.
	require.Eventually(t, func() bool {
		select {
		case <-col.Done():
			return true
		default:
			return strings.Contains(col.Output(), "Everything is ready")
		}
	}, 60*time.Second, 50*time.Millisecond, "the Collector did not start:\n%s", col.Output())
	select {
	case <-col.Done():
		t.Fatalf("the Collector exited:\n%s", col.Output())
	default:
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("Collector (%s) output:\n%s", config, col.Output())
		}
	})
	return collector{grpc: grpcAddr, metrics: fmt.Sprintf("http://127.0.0.1:%d/metrics", telemetryPort)}
}

// send sends the traces to the Collector's OTLP/gRPC receiver and returns the IDs of those
// whose LLM call failed.
func send(t *testing.T, addr string) []string {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	defer conn.Close()
	client := ptraceotlp.NewGRPCClient(conn)

	var errorTraces []string
	const perRequest = 50
	for first := 0; first < traces; first += perRequest {
		td := ptrace.NewTraces()
		rs := td.ResourceSpans().AppendEmpty()
		rs.Resource().Attributes().PutStr("service.name", "chat-api")
		ss := rs.ScopeSpans().AppendEmpty()
		ss.Scope().SetName("collector_test")
		for i := first; i < first+perRequest && i < traces; i++ {
			failed := i%failEvery == 0
			id := appendTrace(ss.Spans(), i/failEvery, failed)
			if failed {
				errorTraces = append(errorTraces, id.String())
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, err := client.Export(ctx, ptraceotlp.NewExportRequestFromTraces(td))
		cancel()
		require.NoError(t, err, "export to the Collector")
	}
	return errorTraces
}

// appendTrace appends one trace's spans: a server root span; under it an LLM call to Anthropic
// (in the convention style picks) with its HTTP attempt to api.anthropic.com, a database query
// and an HTTP call to a host that is no LLM provider's.
func appendTrace(spans ptrace.SpanSlice, style int, failed bool) pcommon.TraceID {
	var traceID pcommon.TraceID
	_, _ = rand.Read(traceID[:])
	end := time.Now()
	start := end.Add(-1500 * time.Millisecond)
	span := func(parent pcommon.SpanID, name string, kind ptrace.SpanKind, from, to time.Time) ptrace.Span {
		return appendSpan(spans, traceID, parent, name, kind, from, to)
	}

	root := span(pcommon.SpanID{}, "POST /v1/answer", ptrace.SpanKindServer, start, end)
	root.Attributes().PutStr("http.request.method", "POST")
	root.Attributes().PutStr("http.route", "/v1/answer")
	root.Attributes().PutInt("http.response.status_code", 200)

	db := span(root.SpanID(), "SELECT chats", ptrace.SpanKindClient, start.Add(10*time.Millisecond), start.Add(40*time.Millisecond))
	db.Attributes().PutStr("db.system.name", "postgresql")
	db.Attributes().PutStr("db.operation.name", "SELECT")
	db.Attributes().PutStr("server.address", "db.internal")

	other := span(root.SpanID(), "POST", ptrace.SpanKindClient, start.Add(50*time.Millisecond), start.Add(90*time.Millisecond))
	other.Attributes().PutStr("http.request.method", "POST")
	other.Attributes().PutStr("server.address", "api.stripe.com")
	other.Attributes().PutStr("url.full", "https://api.stripe.com/v1/charges")
	other.Attributes().PutInt("http.response.status_code", 200)

	// The LLM span in one of the conventions outagewatch reads, and the HTTP attempt with the
	// attributes of current or of older (before 1.21) HTTP semantic conventions, so that each
	// branch of the filter is crossed.
	var llm ptrace.Span
	switch style % 4 {
	case 0: // GenAI semantic conventions
		llm = span(root.SpanID(), "chat claude-sonnet-4-5", ptrace.SpanKindClient, start.Add(100*time.Millisecond), end.Add(-10*time.Millisecond))
		llm.Attributes().PutStr("gen_ai.operation.name", "chat")
		llm.Attributes().PutStr("gen_ai.provider.name", "anthropic")
		llm.Attributes().PutStr("gen_ai.request.model", "claude-sonnet-4-5")
	case 1: // GenAI semantic conventions before gen_ai.provider.name
		llm = span(root.SpanID(), "anthropic.chat", ptrace.SpanKindClient, start.Add(100*time.Millisecond), end.Add(-10*time.Millisecond))
		llm.Attributes().PutStr("gen_ai.system", "anthropic")
		llm.Attributes().PutStr("gen_ai.request.model", "claude-sonnet-4-5")
	case 2: // Vercel AI SDK
		llm = span(root.SpanID(), "ai.generateText.doGenerate", ptrace.SpanKindInternal, start.Add(100*time.Millisecond), end.Add(-10*time.Millisecond))
		llm.Attributes().PutStr("ai.operationId", "ai.generateText.doGenerate")
		llm.Attributes().PutStr("ai.model.provider", "anthropic.messages")
		llm.Attributes().PutStr("ai.model.id", "claude-sonnet-4-5")
	case 3: // OpenInference
		llm = span(root.SpanID(), "ChatAnthropic", ptrace.SpanKindInternal, start.Add(100*time.Millisecond), end.Add(-10*time.Millisecond))
		llm.Attributes().PutStr("openinference.span.kind", "LLM")
		llm.Attributes().PutStr("llm.provider", "anthropic")
		llm.Attributes().PutStr("llm.model_name", "claude-sonnet-4-5")
	}
	la := llm.Attributes()
	attempt := span(llm.SpanID(), "POST", ptrace.SpanKindClient, start.Add(110*time.Millisecond), end.Add(-20*time.Millisecond))
	aa := attempt.Attributes()
	status := "http.response.status_code"
	if style%2 == 0 {
		aa.PutStr("http.request.method", "POST")
		aa.PutStr("server.address", "api.anthropic.com")
		aa.PutInt("server.port", 443)
		aa.PutStr("url.full", "https://api.anthropic.com/v1/messages")
	} else {
		aa.PutStr("http.method", "POST")
		aa.PutStr("http.url", "https://api.anthropic.com/v1/messages")
		status = "http.status_code"
	}
	if failed {
		la.PutStr("error.type", "overloaded_error")
		llm.Status().SetCode(ptrace.StatusCodeError)
		llm.Status().SetMessage(`Error code: 529 - {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`)
		aa.PutInt(status, 529)
		aa.PutStr("error.type", "529")
		attempt.Status().SetCode(ptrace.StatusCodeError)
	} else {
		la.PutStr("gen_ai.response.model", "claude-sonnet-4-5-20250929")
		la.PutEmptySlice("gen_ai.response.finish_reasons").AppendEmpty().SetStr("end_turn")
		la.PutInt("gen_ai.usage.input_tokens", 812)
		la.PutInt("gen_ai.usage.output_tokens", 164)
		aa.PutInt(status, 200)
	}
	return traceID
}

// backend is an OTLP/gRPC trace receiver standing for the trace backend.
type backend struct {
	ptraceotlp.UnimplementedGRPCServer
	addr  string
	mu    sync.Mutex
	spans map[string]int // trace ID → spans received
	seen  map[string]int // trace ID/span ID → times received
	total int
}

func startBackend(t *testing.T) *backend {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	b := &backend{addr: lis.Addr().String(), spans: map[string]int{}, seen: map[string]int{}}
	srv := grpc.NewServer()
	ptraceotlp.RegisterGRPCServer(srv, b)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(lis)
	}()
	t.Cleanup(func() {
		srv.Stop()
		<-done
	})
	return b
}

func (b *backend) Export(_ context.Context, req ptraceotlp.ExportRequest) (ptraceotlp.ExportResponse, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	sdkfixtures.EachSpan(req.Traces(), func(s ptrace.Span) {
		b.spans[s.TraceID().String()]++
		b.seen[s.TraceID().String()+"/"+s.SpanID().String()]++
		b.total++
	})
	return ptraceotlp.NewExportResponse(), nil
}

func (b *backend) spanCount() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.total
}

func (b *backend) traces() map[string]int {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make(map[string]int, len(b.spans))
	for id, n := range b.spans {
		out[id] = n
	}
	return out
}

// receptions returns how many times each span arrived, by trace ID/span ID.
func (b *backend) receptions() map[string]int {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make(map[string]int, len(b.seen))
	for key, n := range b.seen {
		out[key] = n
	}
	return out
}

type familyT = dto.MetricFamily

// scrape reads a Prometheus text exposition.
func scrape(t *testing.T, url string) map[string]*familyT {
	t.Helper()
	families, err := scrapeErr(url)
	require.NoError(t, err)
	return families
}

// tryScrape is scrape for the conditions of require.Eventually: nil (no samples) on an error.
func tryScrape(url string) map[string]*familyT {
	families, _ := scrapeErr(url)
	return families
}

func scrapeErr(url string) (map[string]*familyT, error) {
	resp, err := http.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s: %s", url, resp.Status, body)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", url, err)
	}
	return families, nil
}

// sum adds up the samples of the counter or gauge named name (or name_total) whose labels
// include every label of match.
func sum(families map[string]*familyT, name string, match map[string]string) float64 {
	var total float64
	for _, n := range []string{name, name + "_total"} {
		f, ok := families[n]
		if !ok {
			continue
		}
	metrics:
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			for k, v := range match {
				if labels[k] != v {
					continue metrics
				}
			}
			switch {
			case m.Counter != nil:
				total += m.GetCounter().GetValue()
			case m.Gauge != nil:
				total += m.GetGauge().GetValue()
			case m.Untyped != nil:
				total += m.GetUntyped().GetValue()
			}
		}
	}
	return total
}

// freeAddr returns a loopback address whose port was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	return fmt.Sprintf("127.0.0.1:%d", freePort(t))
}

func freePort(t *testing.T) int {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer lis.Close()
	return lis.Addr().(*net.TCPAddr).Port
}

// appendSpan appends a span with a random ID to to: of trace, under parent, from from to until.
func appendSpan(to ptrace.SpanSlice, trace pcommon.TraceID, parent pcommon.SpanID, name string, kind ptrace.SpanKind, from, until time.Time) ptrace.Span {
	s := to.AppendEmpty()
	var id pcommon.SpanID
	_, _ = rand.Read(id[:])
	s.SetTraceID(trace)
	s.SetSpanID(id)
	s.SetParentSpanID(parent)
	s.SetName(name)
	s.SetKind(kind)
	s.SetStartTimestamp(pcommon.NewTimestampFromTime(from))
	s.SetEndTimestamp(pcommon.NewTimestampFromTime(until))
	return s
}
