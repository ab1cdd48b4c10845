package receiver

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// tokens accepts "good" as the token named ci.
func tokens(token string) (string, bool) {
	if token == "good" {
		return "ci", true
	}
	return "", false
}

func TestRequireTokenHTTP(t *testing.T) {
	t.Parallel()
	m := NewMetrics(prometheus.NewRegistry())
	reached := 0
	h := RequireToken(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { reached++ }), tokens, m)
	for _, tc := range []struct{ auth, ctype string }{
		{"", "application/x-protobuf"}, {"Bearer bad", "application/x-protobuf"}, {"Basic Z29vZA==", "application/json"}, {"good", "application/json"},
	} {
		req := httptest.NewRequest(http.MethodPost, "/v1/traces", bytes.NewReader([]byte("never read")))
		req.Header.Set("Content-Type", tc.ctype)
		if tc.auth != "" {
			req.Header.Set("Authorization", tc.auth)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		require.Equal(t, http.StatusUnauthorized, rec.Code, tc.auth)
		require.Equal(t, `Bearer realm="outagewatch"`, rec.Header().Get("WWW-Authenticate"))
		if tc.ctype == "application/json" {
			require.JSONEq(t, `{"code":16,"message":"missing or invalid bearer token"}`, rec.Body.String())
		} else {
			var st spb.Status
			require.NoError(t, proto.Unmarshal(rec.Body.Bytes(), &st))
			require.Equal(t, int32(codes.Unauthenticated), st.GetCode())
		}
	}
	require.Zero(t, reached, "no refused request reaches the receiver")
	require.Equal(t, 2.0, testutil.ToFloat64(m.requests.WithLabelValues(signalTraces, "http", "proto", resultUnauthenticated)))
	require.Equal(t, 2.0, testutil.ToFloat64(m.requests.WithLabelValues(signalTraces, "http", "json", resultUnauthenticated)))

	req := httptest.NewRequest(http.MethodPost, "/v1/traces", nil)
	req.Header.Set("Authorization", "bearer good")
	h.ServeHTTP(httptest.NewRecorder(), req)
	require.Equal(t, 1, reached, "a valid token (the scheme in any case) passes")
}

func TestTokenTapGRPC(t *testing.T) {
	t.Parallel()
	p := &decodingSink{}
	m := NewMetrics(prometheus.NewRegistry())
	srv := NewGRPCServer(p, m, GRPCOptions{MaxRequestBytes: 1 << 20, Extra: []grpc.ServerOption{TokenTap(tokens, m, "/grpc.health.v1.Health/")}})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)
	conn := dialGRPC(t, ln.Addr().String())
	body := protoOf(t, traces(2))
	export := func(md ...string) codes.Code {
		ctx := metadata.AppendToOutgoingContext(context.Background(), md...)
		err := conn.Invoke(ctx, exportMethod, &rawMessage{b: body}, &rawMessage{}, grpc.ForceCodecV2(newRawCodec(nil, 1<<20)))
		return status.Code(err)
	}
	require.Equal(t, codes.Unauthenticated, export())
	require.Equal(t, codes.Unauthenticated, export("authorization", "Bearer bad"))
	require.Zero(t, p.spans.Load(), "nothing of a refused request is read")
	require.Equal(t, 2.0, testutil.ToFloat64(m.requests.WithLabelValues(signalTraces, "grpc", "proto", resultUnauthenticated)))
	require.Equal(t, codes.OK, export("authorization", "Bearer good"))
	require.Equal(t, int64(2), p.spans.Load())
	// An open method needs no token: the tap lets it through (this server has no health
	// service, so it is Unimplemented, not Unauthenticated).
	err = conn.Invoke(context.Background(), "/grpc.health.v1.Health/Check", &rawMessage{}, &rawMessage{}, grpc.ForceCodecV2(newRawCodec(nil, 1<<20)))
	require.Equal(t, codes.Unimplemented, status.Code(err))
}
