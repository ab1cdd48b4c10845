package ingest

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/outagewatch/outagewatch/detectors"
	"github.com/outagewatch/outagewatch/internal/spangen"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/encoding"
	_ "google.golang.org/grpc/encoding/gzip" // the client's compressor, as OTLP exporters register it
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// recorder is a Consumer that keeps every call; block, when set, holds ConsumeCalls until it is
// closed.
type recorder struct {
	mu    sync.Mutex
	calls []string
	block chan struct{}
}

func (r *recorder) ConsumeCalls(calls []detectors.Call) {
	if r.block != nil {
		<-r.block
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range calls {
		r.calls = append(r.calls, c.Provider+"/"+c.Model+" "+c.Outcome.String())
	}
}

func (r *recorder) seen() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.calls...)
}

type testServer struct {
	p        *Pipeline
	srv      *Server
	rec      *recorder
	httpURL  string
	grpcAddr string
	reg      *prometheus.Registry
}

func startServer(tb testing.TB, cfg Config, rec *recorder) *testServer {
	tb.Helper()
	ts := startServerWith(tb, cfg, rec, PipelineOptions{})
	ts.httpURL += TracesPath
	return ts
}

// startServerWith starts a pipeline with opts and its server on loopback ports; httpURL is the
// receiver's base URL.
func startServerWith(tb testing.TB, cfg Config, rec *recorder, opts PipelineOptions) *testServer {
	tb.Helper()
	cfg.GRPCAddr, cfg.HTTPAddr = "127.0.0.1:0", "127.0.0.1:0"
	reg := prometheus.NewPedanticRegistry()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	p, err := NewPipeline(cfg, rec, reg, logger, opts)
	require.NoError(tb, err)
	srv, err := NewServer(cfg, p, logger)
	require.NoError(tb, err)
	require.NoError(tb, srv.Start())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = p.Run(ctx) }()
	tb.Cleanup(func() {
		sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer scancel()
		require.NoError(tb, srv.Shutdown(sctx))
		if rec.block != nil {
			select {
			case <-rec.block:
			default:
				close(rec.block)
			}
		}
		cancel()
		<-done
	})
	return &testServer{p: p, srv: srv, rec: rec, reg: reg, httpURL: "http://" + srv.HTTPAddr(), grpcAddr: srv.GRPCAddr()}
}

// llmTraces builds n current-semconv chat spans for the given model.
func llmTraces(n int, model string) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "test-app")
	ss := rs.ScopeSpans().AppendEmpty()
	for i := 0; i < n; i++ {
		s := ss.Spans().AppendEmpty()
		s.SetName("chat " + model)
		s.SetKind(ptrace.SpanKindClient)
		s.SetTraceID(pcommon.TraceID{1, byte(i >> 8), byte(i), 1})
		s.SetSpanID(pcommon.SpanID{2, byte(i >> 8), byte(i), 1})
		s.SetStartTimestamp(pcommon.Timestamp(1_782_000_000_000_000_000))
		s.SetEndTimestamp(pcommon.Timestamp(1_782_000_001_000_000_000))
		a := s.Attributes()
		a.PutStr("gen_ai.operation.name", "chat")
		a.PutStr("gen_ai.provider.name", "anthropic")
		a.PutStr("gen_ai.request.model", model)
		a.PutEmptySlice("gen_ai.response.finish_reasons").AppendEmpty().SetStr("stop")
	}
	return td
}

func protoBody(tb testing.TB, td ptrace.Traces) []byte {
	tb.Helper()
	b, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	require.NoError(tb, err)
	return b
}

func post(tb testing.TB, url, contentType, encoding string, body io.Reader) (*http.Response, []byte) {
	tb.Helper()
	req, err := http.NewRequest(http.MethodPost, url, body)
	require.NoError(tb, err)
	req.Header.Set("Content-Type", contentType)
	if encoding != "" {
		req.Header.Set("Content-Encoding", encoding)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(tb, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(tb, err)
	return resp, b
}

func gzipped(tb testing.TB, b []byte) []byte {
	tb.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, err := zw.Write(b)
	require.NoError(tb, err)
	require.NoError(tb, zw.Close())
	return buf.Bytes()
}

func TestHTTPAcceptsEveryEncoding(t *testing.T) {
	t.Parallel()
	ts := startServer(t, DefaultConfig(), &recorder{})
	pb := protoBody(t, llmTraces(2, "claude-a"))
	js, err := ptraceotlp.NewExportRequestFromTraces(llmTraces(3, "claude-b")).MarshalJSON()
	require.NoError(t, err)

	resp, body := post(t, ts.httpURL, "application/x-protobuf", "", bytes.NewReader(pb))
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "application/x-protobuf", resp.Header.Get("Content-Type"))
	out := ptraceotlp.NewExportResponse()
	require.NoError(t, out.UnmarshalProto(body))
	require.Zero(t, out.PartialSuccess().RejectedSpans())

	resp, _ = post(t, ts.httpURL, "application/json; charset=utf-8", "gzip", bytes.NewReader(gzipped(t, js)))
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "application/json", resp.Header.Get("Content-Type"))

	resp, _ = post(t, ts.httpURL, "application/x-protobuf", "gzip", bytes.NewReader(gzipped(t, pb)))
	require.Equal(t, http.StatusOK, resp.StatusCode)

	require.Eventually(t, func() bool { return len(ts.rec.seen()) == 2+3+2 }, 5*time.Second, 10*time.Millisecond)
	require.Contains(t, ts.rec.seen(), "anthropic/claude-b ok")
}

func TestHTTPBadInput(t *testing.T) {
	t.Parallel()
	cfg := DefaultConfig()
	cfg.MaxRequestBytes = 1 << 20
	ts := startServer(t, cfg, &recorder{})
	pb := protoBody(t, llmTraces(5, "m"))

	tests := []struct {
		name        string
		contentType string
		encoding    string
		body        io.Reader
		wantCode    int
		wantMsg     string
	}{
		{"truncated protobuf", "application/x-protobuf", "", bytes.NewReader(pb[:len(pb)-7]), http.StatusBadRequest, "decode proto"},
		{"invalid json", "application/json", "", strings.NewReader(`{"resourceSpans": [`), http.StatusBadRequest, "decode json"},
		{"wrong content type", "text/plain", "", strings.NewReader("hello"), http.StatusUnsupportedMediaType, "unsupported content type"},
		{"unknown encoding", "application/x-protobuf", "br", bytes.NewReader(pb), http.StatusUnsupportedMediaType, "unsupported content encoding"},
		{"gzip header lies", "application/x-protobuf", "gzip", bytes.NewReader(pb), http.StatusBadRequest, "gzip"},
		{"100 MB body", "application/x-protobuf", "", io.LimitReader(zeroReader{}, 100<<20), http.StatusRequestEntityTooLarge, "exceeds"},
		{"gzip bomb", "application/x-protobuf", "gzip", bytes.NewReader(gzipped(t, make([]byte, 8<<20))), http.StatusRequestEntityTooLarge, "exceeds"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := post(t, ts.httpURL, tt.contentType, tt.encoding, tt.body)
			require.Equal(t, tt.wantCode, resp.StatusCode, string(body))
			require.Contains(t, statusMessage(t, resp, body), tt.wantMsg)
		})
	}
	// An unknown-length (chunked) oversized body is cut by the reader, not by Content-Length.
	req, err := http.NewRequest(http.MethodPost, ts.httpURL, io.NopCloser(io.LimitReader(zeroReader{}, 4<<20)))
	require.NoError(t, err)
	req.ContentLength = -1
	req.Header.Set("Content-Type", "application/x-protobuf")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)

	resp, _ = post(t, ts.httpURL, "application/x-protobuf", "", bytes.NewReader(pb))
	require.Equal(t, http.StatusOK, resp.StatusCode, "the receiver still works after bad input")
	getResp, err := http.Get(ts.httpURL)
	require.NoError(t, err)
	getResp.Body.Close()
	require.Equal(t, http.StatusMethodNotAllowed, getResp.StatusCode)
}

// statusMessage decodes the google.rpc.Status body of an OTLP error response; plain-text
// bodies (415 for an unknown content type) are returned as they are.
func statusMessage(tb testing.TB, resp *http.Response, body []byte) string {
	tb.Helper()
	var st spb.Status
	switch resp.Header.Get("Content-Type") {
	case "application/x-protobuf":
		require.NoError(tb, proto.Unmarshal(body, &st))
	case "application/json":
		require.NoError(tb, protojson.Unmarshal(body, &st))
	default:
		return string(body)
	}
	return st.GetMessage()
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

func TestPartialSuccessReportsRejectedSpans(t *testing.T) {
	t.Parallel()
	ts := startServer(t, DefaultConfig(), &recorder{})
	td := llmTraces(3, "m")
	td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(1).SetSpanID(pcommon.SpanID{})
	resp, body := post(t, ts.httpURL, "application/x-protobuf", "", bytes.NewReader(protoBody(t, td)))
	require.Equal(t, http.StatusOK, resp.StatusCode)
	out := ptraceotlp.NewExportResponse()
	require.NoError(t, out.UnmarshalProto(body))
	require.EqualValues(t, 1, out.PartialSuccess().RejectedSpans())
	require.Contains(t, out.PartialSuccess().ErrorMessage(), "empty trace or span ID")
	require.Eventually(t, func() bool { return len(ts.rec.seen()) == 2 }, 5*time.Second, 10*time.Millisecond)
}

func TestFullQueueAsksExportersToRetry(t *testing.T) {
	t.Parallel()
	cfg := DefaultConfig()
	cfg.QueueSize = 1
	rec := &recorder{block: make(chan struct{})}
	ts := startServer(t, cfg, rec)
	pb := protoBody(t, llmTraces(1, "m"))
	conn, err := grpc.NewClient(ts.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	defer conn.Close()
	client := ptraceotlp.NewGRPCClient(conn)

	// The consumer is blocked: one batch is held by the pipeline, one fills the queue, and
	// the next is refused.
	var refusedHTTP *http.Response
	require.Eventually(t, func() bool {
		resp, _ := post(t, ts.httpURL, "application/x-protobuf", "", bytes.NewReader(pb))
		if resp.StatusCode == http.StatusServiceUnavailable {
			refusedHTTP = resp
			return true
		}
		return false
	}, 5*time.Second, 5*time.Millisecond)
	require.Equal(t, "1", refusedHTTP.Header.Get("Retry-After"))

	_, err = client.Export(context.Background(), ptraceotlp.NewExportRequestFromTraces(llmTraces(1, "m")))
	st := status.Convert(err)
	require.Equal(t, codes.Unavailable, st.Code(), "%v", err)
	var retry *errdetails.RetryInfo
	for _, d := range st.Details() {
		if ri, ok := d.(*errdetails.RetryInfo); ok {
			retry = ri
		}
	}
	require.NotNil(t, retry, "Unavailable carries RetryInfo")
	close(rec.block)
	require.Eventually(t, func() bool {
		resp, _ := post(t, ts.httpURL, "application/x-protobuf", "", bytes.NewReader(pb))
		return resp.StatusCode == http.StatusOK
	}, 5*time.Second, 10*time.Millisecond, "accepts again once the queue drains")
}

func TestGRPC(t *testing.T) {
	t.Parallel()
	cfg := DefaultConfig()
	cfg.MaxRequestBytes = 64 << 10
	ts := startServer(t, cfg, &recorder{})
	conn, err := grpc.NewClient(ts.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	defer conn.Close()
	client := ptraceotlp.NewGRPCClient(conn)

	resp, err := client.Export(context.Background(), ptraceotlp.NewExportRequestFromTraces(llmTraces(4, "gpt")))
	require.NoError(t, err)
	require.Zero(t, resp.PartialSuccess().RejectedSpans())
	resp, err = client.Export(context.Background(), ptraceotlp.NewExportRequestFromTraces(llmTraces(2, "gz")), grpc.UseCompressor("gzip"))
	require.NoError(t, err)
	require.Eventually(t, func() bool { return len(ts.rec.seen()) == 6 }, 5*time.Second, 10*time.Millisecond)

	// Malformed bytes get InvalidArgument, not Internal.
	malformed, reply := bytesMessage{0x0a, 0xff, 0xff, 0xff}, bytesMessage{}
	err = conn.Invoke(context.Background(), "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
		&malformed, &reply, grpc.ForceCodec(bytesCodec{}))
	require.Equal(t, codes.InvalidArgument, status.Code(err), "%v", err)

	// Oversized requests are refused, also when they are small compressed.
	_, err = client.Export(context.Background(), ptraceotlp.NewExportRequestFromTraces(llmTraces(2000, "big")))
	require.Equal(t, codes.ResourceExhausted, status.Code(err), "%v", err)
	_, err = client.Export(context.Background(), ptraceotlp.NewExportRequestFromTraces(llmTraces(2000, "big")), grpc.UseCompressor("gzip"))
	require.Equal(t, codes.ResourceExhausted, status.Code(err), "%v", err)
	require.Equal(t, "google.golang.org/grpc/encoding/gzip", reflect.TypeOf(encoding.GetCompressor("gzip")).Elem().PkgPath(),
		"ingest leaves grpc-go's process-wide gzip compressor alone")
	_, err = client.Export(context.Background(), ptraceotlp.NewExportRequestFromTraces(llmTraces(1, "after")))
	require.NoError(t, err, "still serving after bad input")
}

// bytesMessage is a message sent and received as its wire bytes (bytesCodec).
type bytesMessage []byte

// bytesCodec sends and receives bytesMessage values as they are.
type bytesCodec struct{}

func (bytesCodec) Marshal(v any) ([]byte, error) { return *v.(*bytesMessage), nil }

func (bytesCodec) Unmarshal(data []byte, v any) error {
	*v.(*bytesMessage) = append((*v.(*bytesMessage))[:0], data...)
	return nil
}

func (bytesCodec) Name() string { return "proto" }

func TestHugeSpanIsProcessed(t *testing.T) {
	t.Parallel()
	ts := startServer(t, DefaultConfig(), &recorder{})
	td := llmTraces(1, "wide")
	attrs := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Attributes()
	for i := 0; i < 10_000; i++ {
		attrs.PutStr(fmt.Sprintf("custom.attr.%d", i), "value")
	}
	resp, _ := post(t, ts.httpURL, "application/x-protobuf", "", bytes.NewReader(protoBody(t, td)))
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Eventually(t, func() bool { return len(ts.rec.seen()) == 1 }, 5*time.Second, 10*time.Millisecond)
	require.Equal(t, []string{"anthropic/wide ok"}, ts.rec.seen())
}

func TestDistinctModelsAreCapped(t *testing.T) {
	t.Parallel()
	cfg := DefaultConfig()
	ts := startServer(t, cfg, &recorder{})
	const batches, perBatch = 100, 1000
	for b := 0; b < batches; b++ {
		td := ptrace.NewTraces()
		ss := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty()
		llmTraces(perBatch, "x").ResourceSpans().At(0).ScopeSpans().At(0).Spans().CopyTo(ss.Spans())
		for i := 0; i < perBatch; i++ {
			s := ss.Spans().At(i)
			s.Attributes().PutStr("gen_ai.request.model", fmt.Sprintf("model-%d-%d", b, i))
			s.Attributes().PutStr("gen_ai.provider.name", fmt.Sprintf("provider-%d", i%50))
		}
		resp, _ := post(t, ts.httpURL, "application/x-protobuf", "", bytes.NewReader(protoBody(t, td)))
		require.Equal(t, http.StatusOK, resp.StatusCode)
	}
	require.Eventually(t, func() bool { return len(ts.rec.seen()) == batches*perBatch }, 30*time.Second, 20*time.Millisecond)
	series := map[string]bool{}
	for _, s := range ts.rec.seen() {
		series[s] = true
	}
	// 100,000 distinct models from 50 providers: at most 32 providers (the last one "other")
	// with at most 64 models each.
	require.LessOrEqual(t, len(series), cfg.MaxProviders*cfg.MaxModelsPerProvider)
	require.Contains(t, series, "other/other ok")
	mfs, err := ts.reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() == "outagewatch_calls_total" {
			// Each series pre-creates 4 outcomes and 9 error classes.
			perSeries := len(detectors.Outcomes()) + len(detectors.ErrorClasses())
			require.LessOrEqual(t, len(mf.GetMetric()), cfg.MaxProviders*cfg.MaxModelsPerProvider*perSeries)
		}
	}
}

// TestPdataReceivers runs the receivers with ingest.fast_path off (the default is on): the same
// calls arrive over HTTP and gRPC through pdata, and malformed bytes are still refused.
func TestPdataReceivers(t *testing.T) {
	t.Parallel()
	cfg := DefaultConfig()
	cfg.FastPath = false
	ts := startServer(t, cfg, &recorder{})
	resp, _ := post(t, ts.httpURL, "application/x-protobuf", "gzip", bytes.NewReader(gzipped(t, protoBody(t, llmTraces(3, "fast-http")))))
	require.Equal(t, http.StatusOK, resp.StatusCode)
	conn, err := grpc.NewClient(ts.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	defer conn.Close()
	_, err = ptraceotlp.NewGRPCClient(conn).Export(context.Background(), ptraceotlp.NewExportRequestFromTraces(llmTraces(2, "fast-grpc")))
	require.NoError(t, err)
	require.Eventually(t, func() bool { return len(ts.rec.seen()) == 5 }, 5*time.Second, 10*time.Millisecond)
	require.Contains(t, ts.rec.seen(), "anthropic/fast-grpc ok")
	resp, _ = post(t, ts.httpURL, "application/x-protobuf", "", bytes.NewReader([]byte{0x0a, 0xff, 0xff}))
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
}

// drainQueue empties the hand-off queue of a pipeline that is not running.
func drainQueue(p *Pipeline) {
	for len(p.queue) > 0 {
		p.queuedRecords.Add(-int64(len(<-p.queue)))
	}
}

func TestQueueIsBoundedInRecords(t *testing.T) {
	t.Parallel()
	cfg := DefaultConfig()
	cfg.QueueSize = 1 << 16
	p, err := NewPipeline(cfg, ConsumerFunc(func([]detectors.Call) {}), prometheus.NewRegistry(), slog.New(slog.NewTextHandler(io.Discard, nil)), PipelineOptions{})
	require.NoError(t, err)
	body := spangen.MarshalProto(spangen.GenAIBatch(512, 1))
	accepted := 0
	for ; accepted < 1000; accepted++ {
		if _, err := p.SubmitProto("http", body); err != nil {
			require.ErrorIs(t, err, ErrQueueFull)
			break
		}
	}
	require.Equal(t, maxQueuedRecords/512, accepted, "requests of 512 calls fit until the records bound, whatever the queue's length")
	require.LessOrEqual(t, p.queuedRecords.Load(), int64(maxQueuedRecords))

	drainQueue(p)
	require.Zero(t, p.queuedRecords.Load())
	huge := spangen.MarshalProto(spangen.GenAIBatch(maxQueuedRecords+10, 2))
	_, err = p.SubmitProto("http", huge)
	require.NoError(t, err, "a request larger than the bound is taken when the queue is empty")
	_, err = p.SubmitProto("http", body)
	require.ErrorIs(t, err, ErrQueueFull)
}
