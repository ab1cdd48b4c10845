package receiver

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	spb "google.golang.org/genproto/googleapis/rpc/status"
)

// signalSink is a LogsConsumer and MetricsConsumer that counts what it takes, rejects the
// first reject items of each request, or refuses every request when full.
type signalSink struct {
	logs, points atomic.Int64
	reject       atomic.Int64
	full         atomic.Bool
}

func (s *signalSink) take(counter *atomic.Int64, n int) (Result, error) {
	if s.full.Load() {
		return Result{}, ErrQueueFull
	}
	counter.Add(int64(n))
	r := int(s.reject.Load())
	if r == 0 {
		return Result{Spans: n}, nil
	}
	return Result{Spans: n, Rejected: r, RejectMsg: "no model"}, nil
}

func (s *signalSink) ConsumeLogs(_ string, ld plog.Logs) (Result, error) {
	return s.take(&s.logs, ld.LogRecordCount())
}

func (s *signalSink) ConsumeMetrics(_ string, md pmetric.Metrics) (Result, error) {
	return s.take(&s.points, md.DataPointCount())
}

func logsOf(n int) plog.Logs {
	ld := plog.NewLogs()
	lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	for i := range n {
		lr := lrs.AppendEmpty()
		lr.SetEventName("claude_code.api_request")
		lr.Attributes().PutStr("model", "claude-sonnet-4-5")
		lr.Attributes().PutInt("i", int64(i))
	}
	return ld
}

func metricsOf(n int) pmetric.Metrics {
	md := pmetric.NewMetrics()
	m := md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	m.SetName("gen_ai.client.operation.duration")
	h := m.SetEmptyHistogram()
	for i := range n {
		dp := h.DataPoints().AppendEmpty()
		dp.Attributes().PutStr("gen_ai.request.model", "gpt-4.1")
		dp.SetCount(uint64(i + 1))
	}
	return md
}

// signalCase is one signal as an exporter sees it.
type signalCase struct {
	name, path, method string
	// body encodes a request of n items.
	body func(t *testing.T, n int, encoding string) []byte
	// rejected decodes an Export response.
	rejected func(t *testing.T, encoding string, b []byte) int64
	// export sends n items with the pdata gRPC client.
	export func(ctx context.Context, conn *grpc.ClientConn, n int, opts ...grpc.CallOption) (int64, error)
	taken  func(s *signalSink) int64
}

var signalCases = []signalCase{
	{
		name: signalLogs, path: LogsPath, method: logsExportMethod,
		body: func(t *testing.T, n int, encoding string) []byte {
			req := plogotlp.NewExportRequestFromLogs(logsOf(n))
			b, err := marshal(encoding, req)
			require.NoError(t, err)
			return b
		},
		rejected: func(t *testing.T, encoding string, b []byte) int64 {
			resp := plogotlp.NewExportResponse()
			if encoding == "json" {
				require.NoError(t, resp.UnmarshalJSON(b))
			} else {
				require.NoError(t, resp.UnmarshalProto(b))
			}
			return resp.PartialSuccess().RejectedLogRecords()
		},
		export: func(ctx context.Context, conn *grpc.ClientConn, n int, opts ...grpc.CallOption) (int64, error) {
			resp, err := plogotlp.NewGRPCClient(conn).Export(ctx, plogotlp.NewExportRequestFromLogs(logsOf(n)), opts...)
			if err != nil {
				return 0, err
			}
			return resp.PartialSuccess().RejectedLogRecords(), nil
		},
		taken: func(s *signalSink) int64 { return s.logs.Load() },
	},
	{
		name: signalMetrics, path: MetricsPath, method: metricsExportMethod,
		body: func(t *testing.T, n int, encoding string) []byte {
			req := pmetricotlp.NewExportRequestFromMetrics(metricsOf(n))
			b, err := marshal(encoding, req)
			require.NoError(t, err)
			return b
		},
		rejected: func(t *testing.T, encoding string, b []byte) int64 {
			resp := pmetricotlp.NewExportResponse()
			if encoding == "json" {
				require.NoError(t, resp.UnmarshalJSON(b))
			} else {
				require.NoError(t, resp.UnmarshalProto(b))
			}
			return resp.PartialSuccess().RejectedDataPoints()
		},
		export: func(ctx context.Context, conn *grpc.ClientConn, n int, opts ...grpc.CallOption) (int64, error) {
			resp, err := pmetricotlp.NewGRPCClient(conn).Export(ctx, pmetricotlp.NewExportRequestFromMetrics(metricsOf(n)), opts...)
			if err != nil {
				return 0, err
			}
			return resp.PartialSuccess().RejectedDataPoints(), nil
		},
		taken: func(s *signalSink) int64 { return s.points.Load() },
	},
}

// signalServers serves sink's logs and metrics, and traces to a decodingSink, over real gRPC and
// HTTP servers on loopback, as ingest.Server mounts them; with tokens when auth is set.
type signalServers struct {
	sink     *signalSink
	m        *Metrics
	grpcAddr string
	url      string
}

const signalLimit = 64 << 10

func startSignals(t *testing.T, auth bool) *signalServers {
	t.Helper()
	s := &signalServers{sink: &signalSink{}, m: NewMetrics(prometheus.NewRegistry())}
	adm := NewAdmission(AdmissionOptions{MaxBytesInFlight: 1 << 20, MaxWaiters: 4, MaxWait: longWait})
	o := GRPCOptions{MaxRequestBytes: signalLimit, Admission: adm, Logs: s.sink, Metrics: s.sink}
	if auth {
		o.Extra = append(o.Extra, TokenTap(tokens, s.m))
	}
	srv := NewGRPCServer(&decodingSink{}, s.m, o)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)
	s.grpcAddr = ln.Addr().String()

	mux := http.NewServeMux()
	mux.Handle(TracesPath, NewHTTPHandler(&decodingSink{}, s.m, signalLimit, adm))
	mux.Handle(LogsPath, NewLogsHTTPHandler(s.sink, s.m, signalLimit, adm))
	mux.Handle(MetricsPath, NewMetricsHTTPHandler(s.sink, s.m, signalLimit, adm))
	var h http.Handler = mux
	if auth {
		h = RequireToken(mux, tokens, s.m)
	}
	hs := httptest.NewServer(h)
	t.Cleanup(hs.Close)
	s.url = hs.URL
	t.Cleanup(func() { require.Zero(t, adm.InFlight(), "nothing stays charged") })
	return s
}

func (s *signalServers) requests(signal, protocol, encoding, result string) float64 {
	return testutil.ToFloat64(s.m.requests.WithLabelValues(signal, protocol, encoding, result))
}

func TestLogsAndMetricsGRPC(t *testing.T) {
	t.Parallel()
	s := startSignals(t, false)
	conn := dialGRPC(t, s.grpcAddr)
	gzConn := dialGRPC(t, s.grpcAddr, grpc.WithCompressor(grpc.NewGZIPCompressor())) //nolint:staticcheck // the legacy compressor needs no registration
	ctx := context.Background()
	for _, sc := range signalCases {
		before := sc.taken(s.sink)
		rejected, err := sc.export(ctx, conn, 3)
		require.NoError(t, err, sc.name)
		require.Zero(t, rejected)
		_, err = sc.export(ctx, gzConn, 4)
		require.NoError(t, err, sc.name)
		require.Equal(t, before+7, sc.taken(s.sink), "%s: plain and gzip reach the consumer", sc.name)
		require.Equal(t, 2.0, s.requests(sc.name, "grpc", "proto", resultOK), sc.name)

		// Malformed: InvalidArgument, counted.
		err = conn.Invoke(ctx, sc.method, &rawMessage{b: []byte{0x0a, 0x05, 0xff}}, &rawMessage{}, grpc.ForceCodecV2(newRawCodec(nil, 1<<20)))
		require.Equal(t, codes.InvalidArgument, status.Code(err), "%s: %v", sc.name, err)
		require.Equal(t, 1.0, s.requests(sc.name, "grpc", "proto", resultBadRequest), sc.name)

		// Too large: ResourceExhausted without RetryInfo, from gRPC's own bound (uncounted), and
		// from the codec's after inflating (counted).
		_, err = sc.export(ctx, conn, 5000)
		st := status.Convert(err)
		require.Equal(t, codes.ResourceExhausted, st.Code(), "%s: %v", sc.name, err)
		require.False(t, hasRetryInfo(st), "an exporter must not retry it")
		_, err = sc.export(ctx, gzConn, 5000)
		require.Equal(t, codes.ResourceExhausted, status.Code(err), "%s: %v", sc.name, err)
		require.Equal(t, 1.0, s.requests(sc.name, "grpc", "proto", resultTooLarge), sc.name)
	}
	t.Run("partial and full", func(t *testing.T) { // the sink's switches: not in parallel with the above
		for _, sc := range signalCases {
			s.sink.reject.Store(2)
			rejected, err := sc.export(ctx, conn, 3)
			s.sink.reject.Store(0)
			require.NoError(t, err)
			require.Equal(t, int64(2), rejected, "%s: partial success", sc.name)
			require.Equal(t, 1.0, s.requests(sc.name, "grpc", "proto", resultPartial), sc.name)

			s.sink.full.Store(true)
			_, err = sc.export(ctx, conn, 3)
			s.sink.full.Store(false)
			st := status.Convert(err)
			require.Equal(t, codes.Unavailable, st.Code(), "%s: %v", sc.name, err)
			require.True(t, hasRetryInfo(st), "Unavailable carries RetryInfo")
			require.Equal(t, 1.0, s.requests(sc.name, "grpc", "proto", resultRefused), sc.name)
		}
	})
}

func hasRetryInfo(st *status.Status) bool {
	for _, d := range st.Details() {
		if _, ok := d.(*errdetails.RetryInfo); ok {
			return true
		}
	}
	return false
}

func TestLogsAndMetricsHTTP(t *testing.T) {
	t.Parallel()
	s := startSignals(t, false)
	for _, sc := range signalCases {
		for _, enc := range []string{"proto", "json"} {
			ct := map[string]string{"proto": contentTypeProto, "json": contentTypeJSON}[enc]
			url := s.url + sc.path
			before := sc.taken(s.sink)
			resp, b := postHTTP(t, url, ct, "", sc.body(t, 3, enc))
			require.Equal(t, http.StatusOK, resp.StatusCode, "%s %s: %s", sc.name, enc, b)
			require.Equal(t, ct, resp.Header.Get("Content-Type"))
			require.Zero(t, sc.rejected(t, enc, b))
			resp, b = postHTTP(t, url, ct, "gzip", gzipBytes(t, sc.body(t, 4, enc)))
			require.Equal(t, http.StatusOK, resp.StatusCode, "%s %s gzip: %s", sc.name, enc, b)
			require.Equal(t, before+7, sc.taken(s.sink), "%s %s", sc.name, enc)
			require.Equal(t, 2.0, s.requests(sc.name, "http", enc, resultOK), sc.name)

			resp, b = postHTTP(t, url, ct, "", []byte("{\x0a\x05\xff"))
			require.Equal(t, http.StatusBadRequest, resp.StatusCode, "%s %s", sc.name, enc)
			require.Equal(t, codes.InvalidArgument, statusOf(t, enc, b).Code())

			resp, b = postHTTP(t, url, ct, "", sc.body(t, 5000, enc))
			require.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode, "%s %s", sc.name, enc)
			statusOf(t, enc, b)
			resp, _ = postHTTP(t, url, ct, "gzip", gzipBytes(t, sc.body(t, 5000, enc)))
			require.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode, "%s %s: bounded after inflating", sc.name, enc)
			require.Equal(t, 2.0, s.requests(sc.name, "http", enc, resultTooLarge), sc.name)
		}
	}
	t.Run("partial and full", func(t *testing.T) {
		for _, sc := range signalCases {
			for _, enc := range []string{"proto", "json"} {
				ct := map[string]string{"proto": contentTypeProto, "json": contentTypeJSON}[enc]
				s.sink.reject.Store(2)
				resp, b := postHTTP(t, s.url+sc.path, ct, "", sc.body(t, 3, enc))
				s.sink.reject.Store(0)
				require.Equal(t, http.StatusOK, resp.StatusCode)
				require.Equal(t, int64(2), sc.rejected(t, enc, b), "%s %s: partial success", sc.name, enc)

				s.sink.full.Store(true)
				resp, b = postHTTP(t, s.url+sc.path, ct, "", sc.body(t, 3, enc))
				s.sink.full.Store(false)
				require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, "%s %s", sc.name, enc)
				require.Equal(t, retryAfterSeconds, resp.Header.Get("Retry-After"))
				require.Equal(t, codes.Unavailable, statusOf(t, enc, b).Code())
				require.Equal(t, 1.0, s.requests(sc.name, "http", enc, resultRefused), sc.name)
			}
		}
	})
}

// statusOf decodes a google.rpc.Status error body.
func statusOf(t *testing.T, encoding string, b []byte) *status.Status {
	t.Helper()
	var st spb.Status
	if encoding == "json" {
		require.NoError(t, protojson.Unmarshal(b, &st), "%q", b)
	} else {
		require.NoError(t, proto.Unmarshal(b, &st), "%q", b)
	}
	return status.FromProto(&st)
}

func TestLogsAndMetricsTokens(t *testing.T) {
	t.Parallel()
	s := startSignals(t, true)
	conn := dialGRPC(t, s.grpcAddr)
	for _, sc := range signalCases {
		_, err := sc.export(context.Background(), conn, 2)
		require.Equal(t, codes.Unauthenticated, status.Code(err), sc.name)
		ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer good")
		_, err = sc.export(ctx, conn, 2)
		require.NoError(t, err, sc.name)
		require.Equal(t, int64(2), sc.taken(s.sink), sc.name)
		require.Equal(t, 1.0, s.requests(sc.name, "grpc", "proto", resultUnauthenticated), sc.name)

		resp, _ := postHTTP(t, s.url+sc.path, contentTypeProto, "", sc.body(t, 2, "proto"))
		require.Equal(t, http.StatusUnauthorized, resp.StatusCode, sc.name)
		require.Equal(t, int64(2), sc.taken(s.sink), "%s: nothing of a refused request is read", sc.name)
		require.Equal(t, 1.0, s.requests(sc.name, "http", "proto", resultUnauthenticated), sc.name)
	}
}

func TestLogsAndMetricsServicesNeedAConsumer(t *testing.T) {
	t.Parallel()
	srv := NewGRPCServer(&decodingSink{}, NewMetrics(prometheus.NewRegistry()), GRPCOptions{MaxRequestBytes: 1 << 20})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)
	conn := dialGRPC(t, ln.Addr().String())
	for _, sc := range signalCases {
		_, err := sc.export(context.Background(), conn, 1)
		require.Equal(t, codes.Unimplemented, status.Code(err), sc.name)
	}
}

func TestPartialMessageNamesTheItems(t *testing.T) {
	t.Parallel()
	res := Result{Spans: 3, Rejected: 2, RejectMsg: "no model"}
	for sig, want := range map[*signal]string{
		logsSignal(&signalSink{}):    "2 log records rejected: no model",
		metricsSignal(&signalSink{}): "2 data points rejected: no model",
		tracesSignal(&sink{}):        "2 spans rejected: no model",
	} {
		require.Equal(t, want, sig.partialMessage(res), sig.name+" "+strconv.Itoa(res.Rejected))
	}
}
