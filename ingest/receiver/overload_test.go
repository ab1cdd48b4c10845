package receiver

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	kgzip "github.com/klauspost/compress/gzip"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// The bombs of issue 20: 16 KB of gzip inflating to 16 MiB of zeros, within the request limit,
// which then does not decode (400, InvalidArgument).
const (
	bombSize  = 16 << 20
	bombs     = 64
	bombLimit = 16 << 20
)

var bombBody = sync.OnceValue(func() []byte {
	var zb bytes.Buffer
	zw, _ := kgzip.NewWriterLevel(&zb, kgzip.BestCompression)
	_, _ = zw.Write(make([]byte, bombSize))
	_ = zw.Close()
	return zb.Bytes()
})

// decodingSink is a Pipeline that decodes what it is given, as ingest's does, and counts it.
type decodingSink struct{ spans atomic.Int64 }

func (s *decodingSink) Submit(_ string, td ptrace.Traces) (Result, error) {
	s.spans.Add(int64(td.SpanCount()))
	return Result{Spans: td.SpanCount()}, nil
}

func (s *decodingSink) SubmitProto(_ string, body []byte) (Result, error) {
	req := ptraceotlp.NewExportRequest()
	if err := req.UnmarshalProto(body); err != nil {
		return Result{}, err
	}
	return s.Submit("", req.Traces())
}

func gzipBytes(tb testing.TB, b []byte) []byte {
	tb.Helper()
	var zb bytes.Buffer
	zw := kgzip.NewWriter(&zb)
	_, err := zw.Write(b)
	require.NoError(tb, err)
	require.NoError(tb, zw.Close())
	return zb.Bytes()
}

// budget is the test's: three bombs at once, and room in line for all of them unless said.
func budget(waiters int) *Admission {
	return NewAdmission(AdmissionOptions{MaxBytesInFlight: 3 * bombLimit, MaxWaiters: waiters, MaxWait: longWait})
}

// longWait is the tests' longest wait in line: a refusal there is not what they test. 64 bombs
// of 16 MiB, three at a time, took over a minute under -race on a loaded 2-core machine (a CI
// failure with one minute).
const longWait = 600e9 // 10 minutes

func postHTTP(tb testing.TB, url, contentType, encoding string, body []byte) (*http.Response, []byte) {
	tb.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
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

// requireHTTPRetryable checks a refusal as an exporter reads it: 429, Retry-After, and a
// protobuf Status ResourceExhausted.
func requireHTTPRetryable(tb testing.TB, resp *http.Response, body []byte) {
	tb.Helper()
	require.Equal(tb, http.StatusTooManyRequests, resp.StatusCode)
	require.Equal(tb, retryAfterSeconds, resp.Header.Get("Retry-After"))
	require.Equal(tb, contentTypeProto, resp.Header.Get("Content-Type"))
	var st spb.Status
	require.NoError(tb, proto.Unmarshal(body, &st))
	require.Equal(tb, int32(codes.ResourceExhausted), st.GetCode())
}

// TestHTTPGzipBombsStayWithinTheBudget sends 64 bombs at once with small requests among them:
// every bomb is decoded (and refused as malformed) in turn, three at a time, never more than the
// budget; the small ones all succeed; nothing stays charged.
func TestHTTPGzipBombsStayWithinTheBudget(t *testing.T) {
	t.Parallel()
	p := &decodingSink{}
	adm := budget(2 * bombs)
	srv := httptest.NewServer(NewHTTPHandler(p, NewMetrics(prometheus.NewRegistry()), bombLimit, adm))
	defer srv.Close()
	small := gzipBytes(t, protoOf(t, traces(3)))

	var wg sync.WaitGroup
	for i := range bombs {
		wg.Go(func() {
			resp, body := postHTTP(t, srv.URL, contentTypeProto, "gzip", bombBody())
			require.Equal(t, http.StatusBadRequest, resp.StatusCode, "bomb %d: %s", i, body)
		})
		wg.Go(func() {
			resp, body := postHTTP(t, srv.URL, contentTypeProto, "gzip", small)
			require.Equal(t, http.StatusOK, resp.StatusCode, "small %d: %s", i, body)
		})
	}
	wg.Wait()
	st := adm.snapshot()
	require.LessOrEqual(t, st.peak, int64(3*bombLimit))
	require.Positive(t, st.waited, "the bombs queued")
	require.Zero(t, adm.InFlight(), "no budget leaked")
	require.Equal(t, int64(3*bombs), p.spans.Load())
}

// TestHTTPOverBudgetIsRetryable fills the budget, then sends bombs and small requests: each is
// refused at once (no room in line) with 429, Retry-After and a Status; once the budget is free,
// the same small request succeeds.
func TestHTTPOverBudgetIsRetryable(t *testing.T) {
	t.Parallel()
	adm := budget(0)
	srv := httptest.NewServer(NewHTTPHandler(&decodingSink{}, NewMetrics(prometheus.NewRegistry()), bombLimit, adm))
	defer srv.Close()
	holder := &ticket{a: adm}
	require.NoError(t, holder.charge(context.Background(), 3*bombLimit))
	small := protoOf(t, traces(3))

	var wg sync.WaitGroup
	for range bombs {
		wg.Go(func() {
			resp, body := postHTTP(t, srv.URL, contentTypeProto, "gzip", bombBody())
			requireHTTPRetryable(t, resp, body)
		})
	}
	wg.Wait()
	resp, body := postHTTP(t, srv.URL, contentTypeProto, "", small)
	requireHTTPRetryable(t, resp, body)
	holder.release()
	resp, body = postHTTP(t, srv.URL, contentTypeProto, "", small)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	require.Zero(t, adm.InFlight())
}

func TestHTTPShedIsRetryable(t *testing.T) {
	t.Parallel()
	adm := NewAdmission(AdmissionOptions{MaxBytesInFlight: 3 * bombLimit, MaxWaiters: 8, MaxWait: longWait, Shed: func() bool { return true }})
	srv := httptest.NewServer(NewHTTPHandler(&decodingSink{}, NewMetrics(prometheus.NewRegistry()), bombLimit, adm))
	defer srv.Close()
	resp, body := postHTTP(t, srv.URL, contentTypeProto, "", protoOf(t, traces(1)))
	requireHTTPRetryable(t, resp, body)
}

func protoOf(tb testing.TB, td ptrace.Traces) []byte {
	tb.Helper()
	b, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	require.NoError(tb, err)
	return b
}

func TestHTTPJSONNestingIsBounded(t *testing.T) {
	t.Parallel()
	h := NewHTTPHandler(&decodingSink{}, NewMetrics(prometheus.NewRegistry()), bombLimit, budget(8))
	const depth = 100_000
	value := strings.Repeat(`{"kvlistValue":{"values":[{"key":"k","value":`, depth/4) + `{"intValue":"1"}` +
		strings.Repeat(`}]}}`, depth/4)
	deep := `{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"0102030405060708","name":"x","attributes":[{"key":"a","value":` +
		value + `}]}]}]}]}`
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, jsonRequest(deep))
	require.Equal(t, http.StatusBadRequest, rec.Code)
	st := requireJSONStatus(t, rec)
	require.Contains(t, st.GetMessage(), "nested deeper than")

	// A body nested as deep as the protobuf path takes is accepted.
	ok := strings.Replace(deep, value, strings.Repeat(`{"kvlistValue":{"values":[{"key":"k","value":`, 90)+`{"intValue":"1"}`+strings.Repeat(`}]}}`, 90), 1)
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, jsonRequest(ok))
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
}

func jsonRequest(body string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, TracesPath, strings.NewReader(body))
	r.Header.Set("Content-Type", contentTypeJSON)
	return r
}

func requireJSONStatus(tb testing.TB, rec *httptest.ResponseRecorder) *spb.Status {
	tb.Helper()
	require.Equal(tb, contentTypeJSON, rec.Header().Get("Content-Type"))
	var st spb.Status
	require.NoError(tb, protojson.Unmarshal(rec.Body.Bytes(), &st), rec.Body.String())
	require.Equal(tb, int32(codes.InvalidArgument), st.GetCode())
	return &st
}

// TestHTTPInvalidJSONAnswersAStatus: the 400 of a malformed body is a Status in JSON, and does
// not echo the request's bytes (invalid UTF-8 among them made the old answer plain text).
func TestHTTPInvalidJSONAnswersAStatus(t *testing.T) {
	t.Parallel()
	h := NewHTTPHandler(&decodingSink{}, NewMetrics(prometheus.NewRegistry()), bombLimit, nil)
	for _, body := range []string{
		`{"resourceSpans": [`,
		"{\"resourceSpans\":[{\"x\xff\x00 secret-token-abc " + strings.Repeat("a", 5000),
		"\xff\xfe not json at all secret-token-abc",
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, jsonRequest(body))
		require.Equal(t, http.StatusBadRequest, rec.Code)
		st := requireJSONStatus(t, rec)
		require.NotContains(t, rec.Body.String(), "secret-token-abc", "the request's bytes are not echoed")
		require.LessOrEqual(t, len(st.GetMessage()), maxStatusMessage+3)
	}
}

// grpcBombCompressor is a legacy gRPC compressor that sends the bomb whatever the message: the
// client then holds 16 KB, not 16 MiB, per request.
type grpcBombCompressor struct{}

func (grpcBombCompressor) Do(w io.Writer, _ []byte) error { _, err := w.Write(bombBody()); return err }
func (grpcBombCompressor) Type() string                   { return "gzip" }

func startGRPC(tb testing.TB, p Pipeline, adm *Admission) string {
	tb.Helper()
	srv := NewGRPCServer(p, NewMetrics(prometheus.NewRegistry()), GRPCOptions{MaxRequestBytes: bombLimit, Admission: adm, MaxConcurrentStreams: 1000})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(tb, err)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	tb.Cleanup(func() {
		srv.Stop()
		require.NoError(tb, <-served)
	})
	return ln.Addr().String()
}

const exportMethod = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"

// exportRaw sends body (a serialized request) and returns the status.
func exportRaw(conn *grpc.ClientConn, body []byte) *status.Status {
	err := conn.Invoke(context.Background(), exportMethod, &rawMessage{b: body}, &rawMessage{}, grpc.ForceCodecV2(newRawCodec(nil, bombLimit)))
	return status.Convert(err)
}

func dialGRPC(tb testing.TB, addr string, opts ...grpc.DialOption) *grpc.ClientConn {
	tb.Helper()
	conn, err := grpc.NewClient(addr, append(opts, grpc.WithTransportCredentials(insecure.NewCredentials()))...)
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = conn.Close() })
	return conn
}

// requireGRPCRetryable checks a refusal as an exporter reads it: ResourceExhausted with RetryInfo.
func requireGRPCRetryable(tb testing.TB, st *status.Status) {
	tb.Helper()
	require.Equal(tb, codes.ResourceExhausted, st.Code(), st.Message())
	var retry *errdetails.RetryInfo
	for _, d := range st.Details() {
		if ri, ok := d.(*errdetails.RetryInfo); ok {
			retry = ri
		}
	}
	require.NotNil(tb, retry, "RetryInfo tells exporters to retry ResourceExhausted")
	require.Positive(tb, retry.GetRetryDelay().AsDuration())
}

func TestGRPCGzipBombsStayWithinTheBudget(t *testing.T) {
	t.Parallel()
	p := &decodingSink{}
	adm := budget(2 * bombs)
	addr := startGRPC(t, p, adm)
	bombConn := dialGRPC(t, addr, grpc.WithCompressor(grpcBombCompressor{})) //nolint:staticcheck // legacy: sends the bomb as is
	plainConn := dialGRPC(t, addr)
	small := protoOf(t, traces(3))

	var wg sync.WaitGroup
	for i := range bombs {
		wg.Go(func() {
			st := exportRaw(bombConn, []byte{0})
			require.Equal(t, codes.InvalidArgument, st.Code(), "bomb %d: %v", i, st.Message())
		})
		wg.Go(func() {
			st := exportRaw(plainConn, small)
			require.Equal(t, codes.OK, st.Code(), "small %d: %v", i, st.Message())
		})
	}
	wg.Wait()
	s := adm.snapshot()
	require.LessOrEqual(t, s.peak, int64(3*bombLimit))
	require.Positive(t, s.waited, "the bombs queued")
	require.Zero(t, adm.InFlight(), "no budget leaked")
	require.Equal(t, int64(3*bombs), p.spans.Load())
}

func TestGRPCOverBudgetIsRetryable(t *testing.T) {
	t.Parallel()
	adm := budget(0)
	addr := startGRPC(t, &decodingSink{}, adm)
	bombConn := dialGRPC(t, addr, grpc.WithCompressor(grpcBombCompressor{})) //nolint:staticcheck // legacy: sends the bomb as is
	plainConn := dialGRPC(t, addr)
	holder := &ticket{a: adm}
	require.NoError(t, holder.charge(context.Background(), 3*bombLimit))
	small := protoOf(t, traces(3))

	var wg sync.WaitGroup
	for range bombs {
		wg.Go(func() { requireGRPCRetryable(t, exportRaw(bombConn, []byte{0})) })
	}
	wg.Wait()
	requireGRPCRetryable(t, exportRaw(plainConn, small))
	holder.release()
	require.Equal(t, codes.OK, exportRaw(plainConn, small).Code())
	require.Zero(t, adm.InFlight())
}

// TestGRPCCompressedOtherServicesStillDecode: a gzip message of a service other than OTLP's (the
// cluster's, health) is inflated by the codec too.
func TestGRPCCompressedOtherServicesStillDecode(t *testing.T) {
	t.Parallel()
	c := newRawCodec([]byte("0123456789abcdef"), 1<<20)
	want := &spb.Status{Code: 3, Message: "hello"}
	b, err := proto.Marshal(want)
	require.NoError(t, err)
	var got spb.Status
	require.NoError(t, c.Unmarshal(bufferSlice(append([]byte("0123456789abcdef"), gzipBytes(t, b)...)), &got))
	require.True(t, proto.Equal(want, &got), fmt.Sprint(&got))
}

func bufferSlice(b []byte) mem.BufferSlice { return mem.BufferSlice{mem.SliceBuffer(b)} }
