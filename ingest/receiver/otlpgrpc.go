package receiver

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
)

// rawMessage carries a message's wire bytes through gRPC undecoded, so that the receiver decodes
// the request itself: malformed input then gets InvalidArgument, as the OTLP specification asks,
// instead of the generic codec's Internal.
type rawMessage struct {
	b []byte
	// pooled is the pool buffer b lives in, and pool its pool, for release.
	pooled *[]byte
	pool   *sync.Pool
}

// release returns m's buffer to its pool; m.b must not be used afterwards.
func (m *rawMessage) release() {
	if m.pooled == nil {
		return
	}
	if cap(*m.pooled) <= 4<<20 {
		*m.pooled = (*m.pooled)[:0]
		m.pool.Put(m.pooled)
	}
	m.pooled, m.b = nil, nil
}

// rawCodec passes rawMessage values through as bytes, copied into request buffers of its own
// pool, lets the cluster's frames (cluster/frame) write and read their own bytes, and delegates
// every other message (the health service's) to the proto codec.
type rawCodec struct {
	proto encoding.CodecV2
	bufs  *sync.Pool // *[]byte
}

func newRawCodec() rawCodec {
	return rawCodec{proto: encoding.GetCodecV2("proto"), bufs: &sync.Pool{New: func() any { return new([]byte) }}}
}

// frameMarshaler and frameUnmarshaler are the messages that write and read their own bytes:
// the cluster's services (cluster/frame), which share this server with the OTLP receiver.
type (
	frameMarshaler interface {
		MarshalFrame() (mem.BufferSlice, error)
	}
	frameUnmarshaler interface{ UnmarshalFrame(mem.BufferSlice) error }
)

func (c rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	switch m := v.(type) {
	case *rawMessage:
		return mem.BufferSlice{mem.SliceBuffer(m.b)}, nil
	case frameMarshaler:
		return m.MarshalFrame()
	}
	return c.proto.Marshal(v)
}

func (c rawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	if m, ok := v.(*rawMessage); ok {
		pb := c.bufs.Get().(*[]byte)
		buf := (*pb)[:0]
		for _, d := range data {
			buf = append(buf, d.ReadOnlyData()...)
		}
		*pb = buf
		m.b, m.pooled, m.pool = buf, pb, c.bufs
		return nil
	}
	if m, ok := v.(frameUnmarshaler); ok {
		return m.UnmarshalFrame(data)
	}
	return c.proto.Unmarshal(data, v)
}

func (rawCodec) Name() string { return "proto" }

// NewGRPCServer returns a gRPC server with the OTLP trace service of p registered, taking
// requests of at most maxRequestBytes (compressed or not; gzip is the only compression it
// speaks). Register other services on it before serving.
func NewGRPCServer(p Pipeline, m *Metrics, maxRequestBytes int64) *grpc.Server {
	s := grpc.NewServer(
		grpc.ForceServerCodecV2(newRawCodec()),
		grpc.MaxRecvMsgSize(int(min(maxRequestBytes, 1<<31-1))),
		// klauspost's gzip for this server's requests only; grpc.RPCDecompressor is deprecated
		// in favour of encoding.RegisterCompressor, which would change every gRPC user of the
		// process, and is supported throughout grpc-go 1.x.
		grpc.RPCDecompressor(newGRPCGzip(maxRequestBytes)), //nolint:staticcheck // see above
		// Reused handler goroutines: a fresh goroutine per RPC grew its stack on every small
		// request (an eighth of the daemon's CPU at one span per request).
		grpc.NumStreamWorkers(uint32(runtime.GOMAXPROCS(0))),
	)
	s.RegisterService(&traceServiceDesc, &grpcReceiver{p: p, m: m})
	return s
}

// traceExporter is the handler type of the trace service: the grpc package checks that the
// registered implementation satisfies it.
type traceExporter interface {
	export(ctx context.Context, body []byte) ([]byte, error)
}

var traceServiceDesc = grpc.ServiceDesc{
	ServiceName: "opentelemetry.proto.collector.trace.v1.TraceService",
	HandlerType: (*traceExporter)(nil),
	Methods: []grpc.MethodDesc{{
		MethodName: "Export",
		Handler: func(srv any, ctx context.Context, dec func(any) error, interceptor grpc.UnaryServerInterceptor) (any, error) {
			in := new(rawMessage)
			if err := dec(in); err != nil {
				return nil, err
			}
			out, err := srv.(traceExporter).export(ctx, in.b)
			in.release()
			if err != nil {
				return nil, err
			}
			return &rawMessage{b: out}, nil
		},
	}},
	Metadata: "opentelemetry/proto/collector/trace/v1/trace_service.proto",
}

// grpcReceiver serves OTLP/gRPC trace exports.
type grpcReceiver struct {
	p Pipeline
	m *Metrics
}

func (g *grpcReceiver) export(_ context.Context, body []byte) ([]byte, error) {
	res, err := g.p.SubmitProto("grpc", body)
	if err != nil && !errors.Is(err, ErrQueueFull) {
		g.m.requests.WithLabelValues("grpc", "proto", resultBadRequest).Inc()
		return nil, status.Error(codes.InvalidArgument, "decode export request: "+err.Error())
	}
	if errors.Is(err, ErrQueueFull) {
		g.m.requests.WithLabelValues("grpc", "proto", resultRefused).Inc()
		return nil, retryLater(err)
	}
	if res.Rejected == 0 {
		g.m.requests.WithLabelValues("grpc", "proto", resultOK).Inc()
		return nil, nil // an empty ExportTraceServiceResponse is zero bytes
	}
	resp := ptraceotlp.NewExportResponse()
	ps := resp.PartialSuccess()
	ps.SetRejectedSpans(int64(res.Rejected))
	ps.SetErrorMessage(fmt.Sprintf("%d spans rejected: %s", res.Rejected, res.RejectMsg))
	g.m.requests.WithLabelValues("grpc", "proto", resultPartial).Inc()
	return resp.MarshalProto()
}

// retryLater is the Unavailable status with a RetryInfo detail, which OTLP exporters honour.
func retryLater(err error) error {
	st := status.New(codes.Unavailable, err.Error())
	if d, derr := st.WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(time.Second)}); derr == nil {
		st = d
	}
	return st.Err()
}
