package ingest

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/encoding"
	_ "google.golang.org/grpc/encoding/gzip" // registers the gzip decompressor OTLP exporters use
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
)

// rawMessage carries a message's wire bytes through gRPC undecoded, so that the receiver decodes
// the request itself: malformed input then gets InvalidArgument, as the OTLP specification asks,
// instead of the generic codec's Internal.
type rawMessage struct{ b []byte }

// rawCodec passes rawMessage values through as bytes and delegates every other message (the
// health service's) to the proto codec.
type rawCodec struct{ proto encoding.CodecV2 }

func newRawCodec() rawCodec { return rawCodec{proto: encoding.GetCodecV2("proto")} }

func (c rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	if m, ok := v.(*rawMessage); ok {
		return mem.BufferSlice{mem.SliceBuffer(m.b)}, nil
	}
	return c.proto.Marshal(v)
}

func (c rawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	if m, ok := v.(*rawMessage); ok {
		m.b = data.Materialize()
		return nil
	}
	return c.proto.Unmarshal(data, v)
}

func (rawCodec) Name() string { return "proto" }

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
			if err != nil {
				return nil, err
			}
			return &rawMessage{b: out}, nil
		},
	}},
	Metadata: "opentelemetry/proto/collector/trace/v1/trace_service.proto",
}

// grpcReceiver serves OTLP/gRPC trace exports.
type grpcReceiver struct{ p *Pipeline }

func (g *grpcReceiver) export(_ context.Context, body []byte) ([]byte, error) {
	req := ptraceotlp.NewExportRequest()
	if err := req.UnmarshalProto(body); err != nil {
		g.p.metrics.requests.WithLabelValues("grpc", "proto", resultBadRequest).Inc()
		return nil, status.Error(codes.InvalidArgument, "decode export request: "+err.Error())
	}
	res, err := g.p.Submit("grpc", req.Traces())
	if errors.Is(err, ErrQueueFull) {
		g.p.metrics.requests.WithLabelValues("grpc", "proto", resultRefused).Inc()
		return nil, retryLater(err)
	}
	resp := ptraceotlp.NewExportResponse()
	result := resultOK
	if res.rejected > 0 {
		ps := resp.PartialSuccess()
		ps.SetRejectedSpans(int64(res.rejected))
		ps.SetErrorMessage(fmt.Sprintf("%d spans rejected: %s", res.rejected, res.rejectMsg))
		result = resultPartial
	}
	g.p.metrics.requests.WithLabelValues("grpc", "proto", result).Inc()
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
