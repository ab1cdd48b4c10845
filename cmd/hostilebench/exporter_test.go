package main

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
)

func TestHTTPAttempt(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		code       int
		retryAfter string
		want       attempt
	}{
		{"ok", 200, "", attempt{code: "200", ok: true}},
		{"too many requests", 429, "2", attempt{code: "429", retry: true, after: 2 * time.Second}},
		{"unavailable without retry-after", 503, "", attempt{code: "503", retry: true}},
		{"gateway timeout", 504, "soon", attempt{code: "504", retry: true}},
		{"bad request is permanent", 400, "", attempt{code: "400"}},
		{"too large is permanent", 413, "1", attempt{code: "413"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			resp := &http.Response{StatusCode: tt.code, Header: http.Header{}}
			if tt.retryAfter != "" {
				resp.Header.Set("Retry-After", tt.retryAfter)
			}
			got := httpAttempt(resp, nil, nil)
			got.err = nil
			require.Equal(t, tt.want, got)
		})
	}
}

func TestGRPCAttempt(t *testing.T) {
	t.Parallel()
	withRetryInfo := func(c codes.Code, d time.Duration) error {
		st, err := status.New(c, "busy").WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(d)})
		require.NoError(t, err)
		return st.Err()
	}
	tests := []struct {
		name  string
		err   error
		retry bool
		after time.Duration
	}{
		{"resource exhausted with RetryInfo", withRetryInfo(codes.ResourceExhausted, time.Second), true, time.Second},
		{"resource exhausted without RetryInfo is dropped", status.Error(codes.ResourceExhausted, "full"), false, 0},
		{"unavailable", status.Error(codes.Unavailable, "queue full"), true, 0},
		{"unavailable with RetryInfo", withRetryInfo(codes.Unavailable, 2*time.Second), true, 2 * time.Second},
		{"invalid argument", status.Error(codes.InvalidArgument, "bad"), false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := grpcAttempt(tt.err)
			require.Equal(t, status.Code(tt.err).String(), got.code)
			require.Equal(t, tt.retry, got.retry)
			require.Equal(t, tt.after, got.after)
		})
	}
}

// TestExporter checks what an exporter counts: a batch accepted after a retry (with its
// partial-success rejections taken off), one refused for good, one still refused when retryFor
// has passed.
func TestExporter(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name              string
		answers           []attempt
		retryFor          time.Duration
		accepted, dropped int64
		calls             int32
	}{
		{"retried then accepted", []attempt{{code: "429", retry: true}, {code: "200", ok: true, rejected: 3}}, time.Minute, 7, 3, 2},
		{"permanent", []attempt{{code: "400", err: errors.New("bad")}}, time.Minute, 0, 10, 1},
		{"retry time spent", []attempt{{code: "429", retry: true, after: time.Second}}, time.Millisecond, 0, 10, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var calls atomic.Int32
			e := &exporter{
				send: func(context.Context, []byte) attempt {
					return tt.answers[min(int(calls.Add(1))-1, len(tt.answers)-1)]
				},
				retryFor: tt.retryFor,
				answers:  newTally(),
			}
			e.export(t.Context(), []byte("batch"), 10)
			e.wait()
			require.Equal(t, int64(10), e.sent.Load())
			require.Equal(t, tt.accepted, e.accepted.Load(), "accepted")
			// Spans rejected in a partial success are neither accepted nor retried: count them
			// as not accepted.
			require.Equal(t, tt.dropped, e.sent.Load()-e.accepted.Load(), "not accepted")
			require.Equal(t, tt.calls, calls.Load())
			require.Equal(t, int64(tt.calls), e.answers.total())
		})
	}
}
