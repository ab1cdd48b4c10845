package main

import (
	"context"
	"fmt"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/outagewatch/outagewatch/internal/rawproto"
)

// exportMethod is the full gRPC method name of the OTLP trace Export call.
const exportMethod = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"

// connectTimeout bounds the wait for each gRPC connection to become ready.
const connectTimeout = 5 * time.Second

// grpcSender sends over one client connection per worker.
type grpcSender struct {
	conns []*grpc.ClientConn
}

// newGRPCSender dials n connections to endpoint and waits up to timeout for
// each to be ready, so an unreachable endpoint fails the run up front
// instead of showing up as millions of Unavailable "refusals".
func newGRPCSender(ctx context.Context, endpoint string, n int, timeout time.Duration) (*grpcSender, error) {
	s := &grpcSender{}
	for range n {
		cc, err := grpc.NewClient(endpoint,
			grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithDefaultCallOptions(grpc.ForceCodecV2(rawproto.Codec{})),
		)
		if err != nil {
			s.close()
			return nil, fmt.Errorf("grpc client %s: %w", endpoint, err)
		}
		s.conns = append(s.conns, cc)
		if err := waitReady(ctx, cc, timeout); err != nil {
			s.close()
			return nil, fmt.Errorf("connect %s: %w", endpoint, err)
		}
	}
	return s, nil
}

// waitReady connects cc and blocks until it is ready. It gives up at the
// first failed attempt (connection refused, bad address) or after timeout
// (a silent host).
func waitReady(ctx context.Context, cc *grpc.ClientConn, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cc.Connect()
	for {
		st := cc.GetState()
		switch st {
		case connectivity.Ready:
			return nil
		case connectivity.TransientFailure, connectivity.Shutdown:
			return fmt.Errorf("not ready (state %s)", st)
		}
		if !cc.WaitForStateChange(ctx, st) {
			return fmt.Errorf("not ready after %s (state %s): %w", timeout, st, ctx.Err())
		}
	}
}

func (s *grpcSender) send(ctx context.Context, worker int, r request) outcome {
	var resp rawproto.Message
	err := s.conns[worker%len(s.conns)].Invoke(ctx, exportMethod, rawproto.Message(r.body), &resp)
	if err != nil {
		return outcome{result: classifyGRPC(err), err: err}
	}
	er := ptraceotlp.NewExportResponse()
	if err := er.UnmarshalProto(resp); err != nil {
		return outcome{result: resultFailed, err: fmt.Errorf("decode export response: %w", err)}
	}
	return outcome{result: resultOK, rejected: er.PartialSuccess().RejectedSpans()}
}

// classifyGRPC maps the OTLP retryable codes to a refusal.
func classifyGRPC(err error) result {
	switch status.Code(err) {
	case codes.Unavailable, codes.ResourceExhausted:
		return resultRefused
	default:
		return resultFailed
	}
}

func (s *grpcSender) close() {
	for _, cc := range s.conns {
		_ = cc.Close() // fails only when already closed
	}
}
