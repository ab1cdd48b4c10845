package main

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestClassifyGRPC(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  error
		want result
	}{
		{status.Error(codes.Unavailable, "queue full"), resultRefused},
		{status.Error(codes.ResourceExhausted, "rate limited"), resultRefused},
		{status.Error(codes.InvalidArgument, "bad"), resultFailed},
		{status.Error(codes.Internal, "boom"), resultFailed},
		{errors.New("not a status"), resultFailed},
	}
	for _, tt := range tests {
		t.Run(tt.err.Error(), func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, classifyGRPC(tt.err))
		})
	}
}

func TestHTTPSenderOutcomes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		status       int
		contentType  string
		body         string
		want         result
		wantRejected int64
	}{
		{"empty 200", http.StatusOK, "", "", resultOK, 0},
		{"json partial success", http.StatusOK, "application/json", `{"partialSuccess":{"rejectedSpans":"4","errorMessage":"x"}}`, resultOK, 4},
		{"undecodable 200", http.StatusOK, "application/x-protobuf", "\xff\xff\xff", resultFailed, 0},
		{"429", http.StatusTooManyRequests, "", "", resultRefused, 0},
		{"503", http.StatusServiceUnavailable, "", "", resultRefused, 0},
		{"400", http.StatusBadRequest, "text/plain", "bad", resultFailed, 0},
		{"500", http.StatusInternalServerError, "", "", resultFailed, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				if tt.contentType != "" {
					w.Header().Set("Content-Type", tt.contentType)
				}
				w.WriteHeader(tt.status)
				_, _ = w.Write([]byte(tt.body))
			}))
			defer srv.Close()
			s := newHTTPSender(srv.URL, 1, false)
			defer s.close()
			o := s.send(t.Context(), 0, request{body: []byte{}, spans: 10})
			require.Equal(t, tt.want, o.result, "err: %v", o.err)
			require.Equal(t, tt.wantRejected, o.rejected)
			if tt.want != resultOK {
				require.Error(t, o.err)
			}
		})
	}
}
