package main

import (
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/status"

	"github.com/outagewatch/outagewatch/internal/rawproto"
)

// exportMethod is the full gRPC method name of the OTLP trace Export call.
const exportMethod = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"

// pregzipped is a gRPC compressor named "gzip" whose Compress passes its input through: the
// bombs' messages are gzip streams already, built once, so that the attacker does not deflate
// 16 MiB per request. Decompress is real, for the server's answers. It is registered for the
// whole process (encoding.RegisterCompressor), which only the bombs' calls select
// (grpc.UseCompressor); the legitimate exporter sends uncompressed.
type pregzipped struct{}

var registerPregzipped = sync.OnceFunc(func() { encoding.RegisterCompressor(pregzipped{}) })

func (pregzipped) Compress(w io.Writer) (io.WriteCloser, error) { return nopCloser{w}, nil }

func (pregzipped) Decompress(r io.Reader) (io.Reader, error) { return gzip.NewReader(r) }

func (pregzipped) Name() string { return "gzip" }

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

// dialGRPC returns a client connection to endpoint sending raw messages.
func dialGRPC(endpoint string) (*grpc.ClientConn, error) {
	cc, err := grpc.NewClient(endpoint,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.ForceCodecV2(rawproto.Codec{})),
	)
	if err != nil {
		return nil, fmt.Errorf("grpc client %s: %w", endpoint, err)
	}
	return cc, nil
}

// exportGRPC sends body as one Export call and returns what the exporter makes of the answer.
func exportGRPC(ctx context.Context, cc *grpc.ClientConn, body []byte, opts ...grpc.CallOption) attempt {
	var resp rawproto.Message
	err := cc.Invoke(ctx, exportMethod, rawproto.Message(body), &resp, opts...)
	if err != nil {
		return grpcAttempt(err)
	}
	er := ptraceotlp.NewExportResponse()
	if err := er.UnmarshalProto(resp); err != nil {
		return attempt{code: "OK (bad response)", err: err}
	}
	return attempt{code: "OK", ok: true, rejected: er.PartialSuccess().RejectedSpans()}
}

// grpcAttempt classifies a failed call as the OTel Go exporter does: UNAVAILABLE, CANCELLED,
// DEADLINE_EXCEEDED, ABORTED, OUT_OF_RANGE and DATA_LOSS are retried, after RetryInfo's delay
// when there is one; RESOURCE_EXHAUSTED only when it carries RetryInfo (the server says it can
// recover); anything else is permanent.
func grpcAttempt(err error) attempt {
	st := status.Convert(err)
	a := attempt{code: st.Code().String(), err: err}
	var throttle time.Duration
	hasInfo := false
	for _, d := range st.Details() {
		if ri, ok := d.(*errdetails.RetryInfo); ok && ri.GetRetryDelay() != nil {
			throttle, hasInfo = ri.GetRetryDelay().AsDuration(), true
		}
	}
	switch st.Code() {
	case codes.Unavailable, codes.Canceled, codes.DeadlineExceeded, codes.Aborted, codes.OutOfRange, codes.DataLoss:
		a.retry, a.after = true, throttle
	case codes.ResourceExhausted:
		a.retry, a.after = hasInfo, throttle
	}
	return a
}
