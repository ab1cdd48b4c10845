package receiver

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"runtime"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
)

// rawMessage carries a message's wire bytes through gRPC undecoded, so that the receiver decodes
// the request itself: malformed input then gets InvalidArgument, as the OTLP specification asks,
// instead of the generic codec's Internal. A request's rawMessage also carries its admission
// ticket: the codec charges the buffers it reads the request into before allocating them.
type rawMessage struct {
	b []byte
	// ctx is the RPC's, for waiting for budget; t the request's charge; buf the buffer b lives
	// in; err what reading the request came to (the codec's own errors would become Internal).
	ctx context.Context
	t   ticket
	buf *chargedBuffer
	err error
}

// release returns m's buffer to its pool and its charge to the budget; m.b must not be used
// afterwards. It is safe to call more than once.
func (m *rawMessage) release() {
	m.buf.free(&m.t)
	m.t.release()
	m.buf, m.b = nil, nil
}

// rawCodec passes rawMessage values through as bytes, copied (or inflated) into request buffers
// of its own pool, charged to the request; lets the cluster's frames (cluster/frame) write and
// read their own bytes; and delegates every other message (the health service's) to the proto
// codec.
type rawCodec struct {
	proto    encoding.CodecV2
	bufs     *bufferPool
	readers  *gzipReaders
	marker   []byte // grpcGzip's: the message is gzip-compressed and not yet inflated
	maxBytes int64
}

func newRawCodec(marker []byte, maxBytes int64) rawCodec {
	return rawCodec{proto: encoding.GetCodecV2("proto"), bufs: new(bufferPool), readers: new(gzipReaders), marker: marker, maxBytes: maxBytes}
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
		m.err = c.read(data, m)
		return nil // m.err is the handler's to answer: an error here would become Internal
	}
	if compressed, ok := c.compressed(data); ok {
		// Another service's message (cluster, health): inflated, bounded, but not charged.
		var t ticket
		out, err := inflate(context.Background(), &t, c.readers, c.bufs, compressed, c.maxBytes)
		if err != nil {
			return err
		}
		defer out.free(&t)
		data = mem.BufferSlice{mem.SliceBuffer(out.bytes())}
	}
	if m, ok := v.(frameUnmarshaler); ok {
		return m.UnmarshalFrame(data)
	}
	return c.proto.Unmarshal(data, v)
}

// compressed returns the gzip stream of a message grpcGzip passed on undecompressed.
func (c rawCodec) compressed(data mem.BufferSlice) ([]byte, bool) {
	if len(data) != 1 {
		return nil, false
	}
	b := data[0].ReadOnlyData()
	if !bytes.HasPrefix(b, c.marker) {
		return nil, false
	}
	return b[len(c.marker):], true
}

// read copies (or inflates) the request data into a buffer charged to m's ticket. The bytes gRPC
// read (the compressed message) are charged first, as they are held meanwhile.
func (c rawCodec) read(data mem.BufferSlice, m *rawMessage) error {
	if compressed, ok := c.compressed(data); ok {
		if err := m.t.charge(m.ctx, int64(len(compressed))); err != nil {
			return err
		}
		out, err := inflate(m.ctx, &m.t, c.readers, c.bufs, compressed, c.maxBytes)
		if err != nil {
			return err
		}
		m.t.refund(int64(len(compressed))) // gRPC frees it once Unmarshal returns
		m.buf, m.b = out, out.bytes()
		return nil
	}
	buf, err := newChargedBuffer(m.ctx, &m.t, c.bufs, int64(data.Len()))
	if err != nil {
		return err
	}
	b := buf.bytes()
	for _, d := range data {
		b = append(b, d.ReadOnlyData()...)
	}
	*buf.b = b
	m.buf, m.b = buf, b
	return nil
}

func (rawCodec) Name() string { return "proto" }

// GRPCOptions configure the OTLP gRPC server.
type GRPCOptions struct {
	// MaxRequestBytes bounds a request, compressed or not (gzip is the only compression it
	// speaks).
	MaxRequestBytes int64
	// Admission is the byte budget requests are charged to; nil admits everything.
	Admission *Admission
	// MaxConcurrentStreams bounds the streams of one connection (0: grpc-go's default, no bound).
	MaxConcurrentStreams uint32
	// KeepaliveMinTime is the shortest interval between a client's keepalive pings; a client
	// pinging more often is disconnected (GOAWAY "too_many_pings"). Pings without an active
	// stream are permitted.
	KeepaliveMinTime time.Duration
	// MaxConnectionIdle closes a connection without streams for this long; MaxConnectionAge
	// closes any connection after this long (with jitter of ±10%), so that long-lived exporters
	// rebalance across replicas, and MaxConnectionAgeGrace is what its streams then get to
	// finish. 0 means no limit.
	MaxConnectionIdle, MaxConnectionAge, MaxConnectionAgeGrace time.Duration
	// Extra are further server options: TLS credentials, the bearer-token tap (TokenTap).
	Extra []grpc.ServerOption
	// Logs and Metrics, when set, take the requests of the OTLP logs and metrics services,
	// which are registered only then; with the same bounds and answers as the trace service's.
	Logs    LogsConsumer
	Metrics MetricsConsumer
}

// NewGRPCServer returns a gRPC server with the OTLP trace service of p registered, and the logs
// and metrics services of o.Logs and o.Metrics when they are set. Register other services on it
// before serving.
func NewGRPCServer(p Pipeline, m *Metrics, o GRPCOptions) *grpc.Server {
	marker := make([]byte, 16)
	_, _ = rand.Read(marker) // crypto/rand.Read never fails (Go 1.24)
	opts := []grpc.ServerOption{
		grpc.ForceServerCodecV2(newRawCodec(marker, o.MaxRequestBytes)),
		grpc.MaxRecvMsgSize(int(min(o.MaxRequestBytes+int64(len(marker)), 1<<31-1))),
		// This server's own gzip; grpc.RPCDecompressor is deprecated in favour of
		// encoding.RegisterCompressor, which would change every gRPC user of the process, and is
		// supported throughout grpc-go 1.x.
		grpc.RPCDecompressor(&grpcGzip{marker: marker}), //nolint:staticcheck // see above
		// Reused handler goroutines: a fresh goroutine per RPC grew its stack on every small
		// request (an eighth of the daemon's CPU at one span per request).
		grpc.NumStreamWorkers(uint32(runtime.GOMAXPROCS(0))),
		grpc.MaxConcurrentStreams(o.MaxConcurrentStreams),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: o.KeepaliveMinTime, PermitWithoutStream: true}),
		grpc.KeepaliveParams(keepalive.ServerParameters{
			MaxConnectionIdle:     o.MaxConnectionIdle,
			MaxConnectionAge:      o.MaxConnectionAge,
			MaxConnectionAgeGrace: o.MaxConnectionAgeGrace,
		}),
	}
	s := grpc.NewServer(append(opts, o.Extra...)...)
	s.RegisterService(&traceServiceDesc, &grpcReceiver{sig: tracesSignal(p), m: m, adm: o.Admission})
	if o.Logs != nil {
		s.RegisterService(&logsServiceDesc, &grpcReceiver{sig: logsSignal(o.Logs), m: m, adm: o.Admission})
	}
	if o.Metrics != nil {
		s.RegisterService(&metricsServiceDesc, &grpcReceiver{sig: metricsSignal(o.Metrics), m: m, adm: o.Admission})
	}
	return s
}

// exporter is the handler type of the OTLP services: the grpc package checks that the
// registered implementation satisfies it.
type exporter interface {
	export(ctx context.Context, body []byte) ([]byte, error)
	// request returns the message to read a request of ctx into, with its admission ticket.
	request(ctx context.Context) *rawMessage
	// refuse answers a request that could not be read.
	refuse(err error) error
}

// exportService describes an OTLP service: its one method, Export, reads the request as a
// rawMessage (bounded, inflated and charged by the codec) and hands it to the exporter.
func exportService(name, metadata string) grpc.ServiceDesc {
	return grpc.ServiceDesc{
		ServiceName: name,
		HandlerType: (*exporter)(nil),
		Methods: []grpc.MethodDesc{{
			MethodName: "Export",
			Handler: func(srv any, ctx context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
				te := srv.(exporter)
				in := te.request(ctx)
				defer in.release() // on every path: the budget must not leak
				if err := dec(in); err != nil {
					return nil, err
				}
				if in.err != nil {
					return nil, te.refuse(in.err)
				}
				out, err := te.export(ctx, in.b)
				if err != nil {
					return nil, err
				}
				return &rawMessage{b: out}, nil
			},
		}},
		Metadata: metadata,
	}
}

var (
	traceServiceDesc = exportService("opentelemetry.proto.collector.trace.v1.TraceService",
		"opentelemetry/proto/collector/trace/v1/trace_service.proto")
	logsServiceDesc = exportService("opentelemetry.proto.collector.logs.v1.LogsService",
		"opentelemetry/proto/collector/logs/v1/logs_service.proto")
	metricsServiceDesc = exportService("opentelemetry.proto.collector.metrics.v1.MetricsService",
		"opentelemetry/proto/collector/metrics/v1/metrics_service.proto")
)

// grpcReceiver serves the OTLP/gRPC exports of one signal.
type grpcReceiver struct {
	sig *signal
	m   *Metrics
	adm *Admission
}

// count counts one request of g's signal.
func (g *grpcReceiver) count(result string) { g.m.count(g.sig.name, "grpc", "proto", result) }

func (g *grpcReceiver) request(ctx context.Context) *rawMessage {
	return &rawMessage{ctx: ctx, t: ticket{a: g.adm}}
}

// refuse maps an error reading a request to its status: over budget (or shedding) is
// ResourceExhausted with RetryInfo, which exporters retry; too large is ResourceExhausted
// without it, which they must not; the rest (a corrupt gzip stream) InvalidArgument.
func (g *grpcReceiver) refuse(err error) error {
	switch {
	case overloaded(err):
		g.count(resultRefused)
		return retryLater(codes.ResourceExhausted, err)
	case errors.Is(err, errTooLarge):
		g.count(resultTooLarge)
		return status.Error(codes.ResourceExhausted, statusMessage(err.Error()))
	}
	g.count(resultBadRequest)
	return status.Error(codes.InvalidArgument, statusMessage(err.Error()))
}

func (g *grpcReceiver) export(_ context.Context, body []byte) ([]byte, error) {
	res, err := g.sig.consume("grpc", "proto", body)
	if err != nil && !errors.Is(err, ErrQueueFull) {
		g.count(resultBadRequest)
		return nil, status.Error(codes.InvalidArgument, statusMessage("decode export request: "+err.Error()))
	}
	if errors.Is(err, ErrQueueFull) {
		g.count(resultRefused)
		return nil, retryLater(codes.Unavailable, err)
	}
	if res.Rejected == 0 {
		g.count(resultOK)
		return nil, nil // an empty Export response is zero bytes
	}
	g.count(resultPartial)
	return g.sig.response("proto", int64(res.Rejected), g.sig.partialMessage(res))
}

// retryLater is a status with a RetryInfo detail, which OTLP exporters honour: they retry
// Unavailable anyway, and ResourceExhausted only with RetryInfo.
func retryLater(code codes.Code, err error) error {
	st := status.New(code, err.Error())
	if d, derr := st.WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(time.Second)}); derr == nil {
		st = d
	}
	return st.Err()
}
