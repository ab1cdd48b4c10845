package main

import (
	"compress/gzip"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Request n (from 1) is refused when n%refuseEvery == 2 and is a partial
// success rejecting rejectSpans spans when n%rejectEvery == 1, so the first
// two requests already show both.
const (
	refuseEvery = 4
	rejectEvery = 3
	rejectSpans = 3
)

// fakeReceiver decides the answer to each export request the way a daemon
// under load might, and counts what it accepted.
type fakeReceiver struct {
	// fail makes every request a permanent failure (bad input).
	fail     bool
	requests atomic.Int64
	accepted atomic.Int64
}

type answer int

const (
	answerOK answer = iota
	answerPartial
	answerRefuse   // gRPC Unavailable, HTTP 503
	answerThrottle // gRPC ResourceExhausted, HTTP 429
	answerFail
)

func (f *fakeReceiver) answer(spans int) answer {
	n := f.requests.Add(1)
	switch {
	case f.fail:
		return answerFail
	case n%refuseEvery == 2 && n%(2*refuseEvery) == 2:
		return answerRefuse
	case n%refuseEvery == 2:
		return answerThrottle
	case n%rejectEvery == 1:
		f.accepted.Add(int64(spans - rejectSpans))
		return answerPartial
	default:
		f.accepted.Add(int64(spans))
		return answerOK
	}
}

func response(a answer) ptraceotlp.ExportResponse {
	resp := ptraceotlp.NewExportResponse()
	if a == answerPartial {
		resp.PartialSuccess().SetRejectedSpans(rejectSpans)
		resp.PartialSuccess().SetErrorMessage("dropped spans without a name")
	}
	return resp
}

// grpcReceiver serves f over OTLP/gRPC.
type grpcReceiver struct {
	ptraceotlp.UnimplementedGRPCServer
	f *fakeReceiver
}

func (r *grpcReceiver) Export(_ context.Context, req ptraceotlp.ExportRequest) (ptraceotlp.ExportResponse, error) {
	a := r.f.answer(req.Traces().SpanCount())
	switch a {
	case answerFail:
		return ptraceotlp.NewExportResponse(), status.Error(codes.InvalidArgument, "malformed request")
	case answerRefuse:
		return ptraceotlp.NewExportResponse(), status.Error(codes.Unavailable, "queue full")
	case answerThrottle:
		return ptraceotlp.NewExportResponse(), status.Error(codes.ResourceExhausted, "rate limited")
	}
	return response(a), nil
}

// startGRPC serves f on a loopback port and returns its address.
func startGRPC(tb testing.TB, f *fakeReceiver) string {
	tb.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(tb, err)
	srv := grpc.NewServer()
	ptraceotlp.RegisterGRPCServer(srv, &grpcReceiver{f: f})
	go func() { _ = srv.Serve(lis) }()
	tb.Cleanup(srv.Stop)
	return lis.Addr().String()
}

// startHTTP serves f over OTLP/HTTP (protobuf, optional gzip) and returns
// the traces URL.
func startHTTP(tb testing.TB, f *fakeReceiver) string {
	tb.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body io.Reader = r.Body
		if r.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			body = zr
		}
		b, err := io.ReadAll(body)
		req := ptraceotlp.NewExportRequest()
		if err == nil && r.Header.Get("Content-Type") == "application/x-protobuf" {
			err = req.UnmarshalProto(b)
		}
		if err != nil || r.URL.Path != "/v1/traces" {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		switch a := f.answer(req.Traces().SpanCount()); a {
		case answerFail:
			http.Error(w, "malformed request", http.StatusBadRequest)
		case answerRefuse, answerThrottle:
			code := http.StatusServiceUnavailable
			if a == answerThrottle {
				code = http.StatusTooManyRequests
			}
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(code)
		default:
			out, err := response(a).MarshalProto()
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			w.Header().Set("Content-Type", "application/x-protobuf")
			_, _ = w.Write(out)
		}
	}))
	tb.Cleanup(srv.Close)
	return srv.URL + "/v1/traces"
}
