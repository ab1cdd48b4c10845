package health

import (
	"context"
	"errors"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/outagewatch/outagewatch/detectors"

	"github.com/outagewatch/outagewatch/internal/watchertest"
)

func startGRPC(tb testing.TB, b *Board) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(tb, err)
	s := grpc.NewServer()
	NewGRPCServer(b).Register(s)
	go func() { _ = s.Serve(ln) }()
	tb.Cleanup(s.Stop)
	return ln.Addr().String()
}

func TestGRPCCheckAndWatch(t *testing.T) {
	t.Parallel()
	b, statuses := fixture()
	addr := startGRPC(t, b)
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	defer conn.Close()
	c := healthpb.NewHealthClient(conn)
	ctx := context.Background()
	for service, want := range map[string]healthpb.HealthCheckResponse_ServingStatus{
		"":                                   healthpb.HealthCheckResponse_SERVING,
		"anthropic":                          healthpb.HealthCheckResponse_SERVING, // degraded is usable
		"anthropic/claude-sonnet-4-5":        healthpb.HealthCheckResponse_NOT_SERVING,
		"gcp.gemini/models/gemini-2.5-flash": healthpb.HealthCheckResponse_SERVING,
		"aws.bedrock/anthropic.claude-3-5-sonnet-20240620-v1:0": healthpb.HealthCheckResponse_SERVING,
	} {
		resp, err := c.Check(ctx, &healthpb.HealthCheckRequest{Service: service})
		require.NoError(t, err, service)
		require.Equal(t, want, resp.GetStatus(), service)
	}
	_, err = c.Check(ctx, &healthpb.HealthCheckRequest{Service: "openai"})
	require.Equal(t, codes.NotFound, status.Code(err))

	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w, err := c.Watch(wctx, &healthpb.HealthCheckRequest{Service: "aws.bedrock"})
	require.NoError(t, err)
	first, err := w.Recv()
	require.NoError(t, err)
	require.Equal(t, healthpb.HealthCheckResponse_SERVING, first.GetStatus())
	statuses[3].State = detectors.StateDown
	b.Update(statuses, []detectors.Transition{{Series: statuses[3].Series, From: detectors.StateHealthy, To: detectors.StateDown}})
	next, err := w.Recv()
	require.NoError(t, err)
	require.Equal(t, healthpb.HealthCheckResponse_NOT_SERVING, next.GetStatus())

	uw, err := c.Watch(wctx, &healthpb.HealthCheckRequest{Service: "mistral_ai"})
	require.NoError(t, err)
	u, err := uw.Recv()
	require.NoError(t, err)
	require.Equal(t, healthpb.HealthCheckResponse_SERVICE_UNKNOWN, u.GetStatus())
}

// healthProbe returns the real grpc-health-probe, the version go.mod names as a tool.
func healthProbe(tb testing.TB) string { return watchertest.Tool(tb, "grpc-health-probe") }

func TestRealGRPCHealthProbe(t *testing.T) {
	t.Parallel()
	b, _ := fixture()
	addr := startGRPC(t, b)
	probe := healthProbe(t)
	run := func(service string) (int, string) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, probe, "-addr", addr, "-service", service, "-connect-timeout", "5s", "-rpc-timeout", "5s").CombinedOutput()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode(), string(out)
		}
		require.NoError(t, err)
		return 0, string(out)
	}
	code, out := run("aws.bedrock/anthropic.claude-3-5-sonnet-20240620-v1:0")
	require.Equal(t, 0, code, out)
	require.Contains(t, strings.ToLower(out), "serving")
	code, out = run("anthropic/claude-sonnet-4-5")
	require.Equal(t, 4, code, "NOT_SERVING is exit code 4: %s", out)
}

// TestGRPCWatchEndsOnClose: Board.Close ends every open Watch stream with UNAVAILABLE, a Watch
// started after it gets UNAVAILABLE at once, Check goes on, and GracefulStop, which waits for
// open streams, returns.
func TestGRPCWatchEndsOnClose(t *testing.T) {
	t.Parallel()
	b, _ := fixture()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s := grpc.NewServer()
	NewGRPCServer(b).Register(s)
	served := make(chan error, 1)
	go func() { served <- s.Serve(ln) }()
	t.Cleanup(s.Stop)
	conn, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	defer conn.Close()
	c := healthpb.NewHealthClient(conn)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	// The daemon, a model, and a service never seen: three watchers, each past its first status.
	services := []string{"", "anthropic/claude-sonnet-4-5", "mistral_ai"}
	ended := make(chan error, len(services))
	for _, service := range services {
		w, err := c.Watch(ctx, &healthpb.HealthCheckRequest{Service: service})
		require.NoError(t, err, service)
		_, err = w.Recv()
		require.NoError(t, err, service)
		go func() {
			for {
				if _, err := w.Recv(); err != nil {
					ended <- err
					return
				}
			}
		}()
	}

	b.Close()
	for range services {
		err := waitFor(t, ended, "a Watch stream to end after Close")
		require.Equal(t, codes.Unavailable, status.Code(err), "%v", err)
	}

	w, err := c.Watch(ctx, &healthpb.HealthCheckRequest{Service: "anthropic"})
	require.NoError(t, err)
	_, err = w.Recv()
	require.Equal(t, codes.Unavailable, status.Code(err), "a Watch after Close sends no status, only UNAVAILABLE: %v", err)

	resp, err := c.Check(ctx, &healthpb.HealthCheckRequest{Service: "anthropic/claude-sonnet-4-5"})
	require.NoError(t, err, "Check goes on until the server stops")
	require.Equal(t, healthpb.HealthCheckResponse_NOT_SERVING, resp.GetStatus())

	stopped := make(chan struct{})
	go func() { s.GracefulStop(); close(stopped) }()
	waitFor(t, stopped, "GracefulStop to return: no stream holds it")
	require.NoError(t, waitFor(t, served, "Serve to return"))
}
