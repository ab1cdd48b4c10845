package bearer_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/outagewatch/outagewatch/internal/bearer"
)

func TestRequireHTTP(t *testing.T) {
	set := bearer.NewSet(load(t, "collector", "tok-1", "ops", "tok-2"))
	echo := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "hello "+bearer.NameFrom(r.Context()))
	})
	refuse := func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = io.WriteString(w, `{"error":"unauthenticated"}`)
	}
	srv := httptest.NewServer(set.Require(echo, refuse))
	defer srv.Close()
	plain := httptest.NewServer(set.Require(echo, nil))
	defer plain.Close()

	do := func(url, auth string) (*http.Response, string) {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url, nil)
		require.NoError(t, err)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := srv.Client().Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp, string(body)
	}
	for _, auth := range []string{"", "Bearer wrong", "Basic dG9rLTE=", "tok-1", "Bearer tok-", "Bearer "} {
		resp, body := do(srv.URL, auth)
		assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, "%q", auth)
		assert.Equal(t, bearer.Challenge, resp.Header.Get("WWW-Authenticate"))
		assert.JSONEq(t, `{"error":"unauthenticated"}`, body)
	}
	resp, body := do(plain.URL, "Bearer wrong")
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	assert.Equal(t, `Bearer realm="outagewatch"`, resp.Header.Get("WWW-Authenticate"))
	assert.Contains(t, body, bearer.Message)

	resp, body = do(srv.URL, "Bearer tok-1")
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "hello collector", body)
	assert.Empty(t, resp.Header.Get("WWW-Authenticate"))
	_, body = do(srv.URL, "bearer   tok-2")
	assert.Equal(t, "hello ops", body)

	set.Swap(load(t, "rotated", "tok-3"))
	resp, _ = do(srv.URL, "Bearer tok-1")
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, "after the swap")
	_, body = do(srv.URL, "Bearer tok-3")
	assert.Equal(t, "hello rotated", body)
}

// grpcServer serves the health service behind the interceptors on loopback; names receives
// the name NameFrom saw for each call that got through.
func grpcServer(t *testing.T, set *bearer.Set, opts ...bearer.Option) (healthpb.HealthClient, chan string) {
	t.Helper()
	names := make(chan string, 16)
	record := func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		names <- bearer.NameFrom(ctx)
		return h(ctx, req)
	}
	recordStream := func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) error {
		names <- bearer.NameFrom(ss.Context())
		return h(srv, ss)
	}
	srv := grpc.NewServer(
		grpc.ChainUnaryInterceptor(set.UnaryServerInterceptor(opts...), record),
		grpc.ChainStreamInterceptor(set.StreamServerInterceptor(opts...), recordStream),
	)
	healthpb.RegisterHealthServer(srv, health.NewServer())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(ln) }()
	conn, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = conn.Close()
		srv.Stop()
		<-done
	})
	return healthpb.NewHealthClient(conn), names
}

func withAuth(ctx context.Context, auth string) context.Context {
	if auth == "" {
		return ctx
	}
	return metadata.AppendToOutgoingContext(ctx, "authorization", auth)
}

func check(t *testing.T, c healthpb.HealthClient, auth string) error {
	ctx, cancel := context.WithTimeout(withAuth(t.Context(), auth), 10*time.Second)
	defer cancel()
	_, err := c.Check(ctx, &healthpb.HealthCheckRequest{})
	return err
}

// watch opens a Watch stream and returns the error of its first message.
func watch(t *testing.T, c healthpb.HealthClient, auth string) error {
	ctx, cancel := context.WithTimeout(withAuth(t.Context(), auth), 10*time.Second)
	defer cancel()
	stream, err := c.Watch(ctx, &healthpb.HealthCheckRequest{})
	if err != nil {
		return err
	}
	_, err = stream.Recv()
	return err
}

func TestGRPC(t *testing.T) {
	set := bearer.NewSet(load(t, "collector", "x", "ops", "y"))
	c, names := grpcServer(t, set)
	for _, auth := range []string{"", "Bearer wrong", "x", "Basic x"} {
		err := check(t, c, auth)
		assert.Equal(t, codes.Unauthenticated, status.Code(err), "%q", auth)
		assert.Equal(t, bearer.Message, status.Convert(err).Message())
		assert.Equal(t, codes.Unauthenticated, status.Code(watch(t, c, auth)), "watch %q", auth)
	}
	require.NoError(t, check(t, c, "Bearer x"))
	assert.Equal(t, "collector", <-names)
	require.NoError(t, watch(t, c, "bearer y"))
	assert.Equal(t, "ops", <-names)
	assert.Empty(t, names, "refused calls never reach the handler")
}

func TestGRPCExempt(t *testing.T) {
	set := bearer.NewSet(load(t, "collector", "x"))
	c, names := grpcServer(t, set, bearer.Exempt(healthpb.Health_Watch_FullMethodName))
	require.NoError(t, watch(t, c, ""), "exempt")
	assert.Empty(t, <-names)
	assert.Equal(t, codes.Unauthenticated, status.Code(check(t, c, "")), "not exempt")

	c, names = grpcServer(t, set, bearer.Exempt(bearer.HealthMethods()...))
	require.NoError(t, check(t, c, ""))
	assert.Empty(t, <-names)
	require.NoError(t, watch(t, c, ""))
	assert.Empty(t, <-names)
}
