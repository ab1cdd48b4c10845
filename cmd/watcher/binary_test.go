package main

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/outagewatch/outagewatch/health"
	"github.com/outagewatch/outagewatch/internal/watchertest"
)

// The tests in this file run the real binary (internal/watchertest), as an operator would: its
// own process, its signals, its exit code.

// proc is a running watcher binary.
type proc struct{ *watchertest.Watcher }

// holdConfig is fastConfig with hold-downs longer than the test: a down model stays down
// until the restart, so that the states before and after can be compared.
var holdConfig = strings.NewReplacer("hold_down_base: 1s", "hold_down_base: 10m", "hold_down_max: 1s", "hold_down_max: 10m").Replace(fastConfig)

// startBinary runs the binary on free ports, with holdConfig and dataDir, and waits for it to
// listen.
func startBinary(t *testing.T, dataDir string) proc {
	t.Helper()
	return proc{watchertest.StartWatcher(t, holdConfig, "OUTAGEWATCH_DATA_DIR="+dataDir)}
}

// health fetches GET /v1/health.
func (p proc) health(t *testing.T) health.Report {
	t.Helper()
	code, body := get(t, "http://"+p.API+"/v1/health")
	require.Equal(t, http.StatusOK, code, body)
	var r health.Report
	require.NoError(t, json.Unmarshal([]byte(body), &r))
	return r
}

// modelState returns the state of an Anthropic model in a report.
func modelState(r health.Report, model string) string {
	for _, p := range r.Providers {
		for _, m := range p.Models {
			if p.Provider == "anthropic" && m.Model == model {
				return m.State
			}
		}
	}
	return ""
}

// sendToBinary exports n chat spans of claude-sonnet to the binary's OTLP/HTTP receiver.
func sendToBinary(t *testing.T, p proc, n int, failing bool) {
	t.Helper()
	sendSpans(t, p.OTLPHTTP, "claude-sonnet", n, failing)
}

// TestSIGTERMWithClientsAttachedAndRestart is the operator's restart: with three gRPC Watch
// streams, an SSE client, a long-poll and an OTLP exporter attached, SIGTERM ends the process
// with exit 0 well within 2 s, every client sees its end of stream, and the restarted binary
// answers the same states and baselines before any traffic.
func TestSIGTERMWithClientsAttachedAndRestart(t *testing.T) {
	t.Parallel()
	dataDir := t.TempDir()
	p := startBinary(t, dataDir)
	sendToBinary(t, p, 15, false)
	require.Eventually(t, func() bool {
		sendToBinary(t, p, 6, true)
		return modelState(p.health(t), "claude-sonnet") == "down"
	}, 30*time.Second, 50*time.Millisecond, "the outage is detected")
	before := p.health(t)

	// Three gRPC Watch streams.
	conn, err := grpc.NewClient(p.OTLPGRPC, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	defer conn.Close()
	watchEnds := make(chan error, 3)
	for _, service := range []string{"anthropic", "anthropic/claude-sonnet", ""} {
		w, err := healthpb.NewHealthClient(conn).Watch(context.Background(), &healthpb.HealthCheckRequest{Service: service})
		require.NoError(t, err)
		_, err = w.Recv() // the current status: the stream is established
		require.NoError(t, err, service)
		go func() {
			for {
				if _, err := w.Recv(); err != nil {
					watchEnds <- err
					return
				}
			}
		}()
	}
	// An SSE client.
	resp, err := http.Get("http://" + p.API + "/v1/health/stream")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	sseEnd := make(chan string, 1)
	go func() {
		b, _ := io.ReadAll(resp.Body)
		sseEnd <- string(b)
	}()
	// A long-poll waiting for the next change.
	pollEnd := make(chan int, 1)
	go func() {
		r, err := http.Get(fmt.Sprintf("http://%s/v1/health?wait=60s&after=%d", p.API, before.Version))
		if err != nil {
			pollEnd <- -1
			return
		}
		_, _ = io.Copy(io.Discard, r.Body)
		r.Body.Close()
		pollEnd <- r.StatusCode
	}()
	// An OTLP/gRPC exporter sending all along; one export has gone through before the signal.
	// It stops at its first failed export (the daemon has gone).
	exp, err := otlptracegrpc.New(context.Background(), otlptracegrpc.WithEndpoint(p.OTLPGRPC), otlptracegrpc.WithInsecure(),
		otlptracegrpc.WithRetry(otlptracegrpc.RetryConfig{Enabled: false}))
	require.NoError(t, err)
	spans := tracetest.SpanStubs{{
		Name: "chat claude-sonnet", SpanKind: trace.SpanKindClient, StartTime: time.Now(), EndTime: time.Now(),
		Attributes:  chatAttributes("claude-sonnet", false),
		SpanContext: trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{1}, SpanID: trace.SpanID{1}}),
	}}.Snapshots()
	sending := make(chan struct{})
	exported := make(chan struct{})
	go func() {
		defer close(sending)
		for i := 0; ; i++ {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			err := exp.ExportSpans(ctx, spans)
			cancel()
			if err != nil {
				return
			}
			if i == 0 {
				close(exported)
			}
		}
	}()
	<-exported

	start := time.Now()
	require.NoError(t, p.Signal(syscall.SIGTERM))
	<-p.Done()
	took := time.Since(start)
	<-sending
	_ = exp.Shutdown(context.Background())
	require.Equal(t, 0, p.ExitCode(), "exit 0 after SIGTERM:\n%s", p.Output())
	t.Logf("SIGTERM to exit with clients attached: %s", took)
	require.Less(t, took, 2*time.Second, "shutdown with push clients attached")
	for range 3 {
		err := <-watchEnds
		require.Equal(t, codes.Unavailable, status.Code(err), "a Watch stream ends UNAVAILABLE: %v", err)
	}
	require.Contains(t, <-sseEnd, "event: shutdown", "the SSE stream gets its last event")
	require.Equal(t, http.StatusOK, <-pollEnd, "the long-poll returns")
	requireStepsInOrder(t, p.Output())

	// The restarted binary, before any traffic.
	q := startBinary(t, dataDir)
	after := q.health(t)
	require.Equal(t, "down", modelState(after, "claude-sonnet"))
	requireSameStates(t, before, after)
}

// requireSameStates compares the states, since-times and evidence of two reports.
func requireSameStates(t *testing.T, want, got health.Report) {
	t.Helper()
	require.Len(t, got.Providers, len(want.Providers))
	for i, wp := range want.Providers {
		gp := got.Providers[i]
		require.Equal(t, wp.Provider, gp.Provider)
		require.Equal(t, wp.State, gp.State, wp.Provider)
		require.True(t, wp.Since.Equal(gp.Since), "%s since %s, restarted %s", wp.Provider, wp.Since, gp.Since)
		require.Len(t, gp.Models, len(wp.Models))
		for j, wm := range wp.Models {
			gm := gp.Models[j]
			require.Equal(t, wm.Model, gm.Model)
			require.Equal(t, wm.State, gm.State, wm.Model)
			require.True(t, wm.Since.Equal(gm.Since), wm.Model)
			require.Equal(t, len(wm.Reasons), len(gm.Reasons), wm.Model)
			for k := range wm.Reasons {
				require.Equal(t, wm.Reasons[k].Detector, gm.Reasons[k].Detector, wm.Model)
				require.Equal(t, wm.Reasons[k].Baseline, gm.Reasons[k].Baseline, "%s: the baseline survives", wm.Model)
			}
		}
	}
}

// TestPortInUseExitsWithOneLine: a part that cannot start gives exit 1 and one clear line.
func TestPortInUseExitsWithOneLine(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	p := watchertest.Start(t, watchertest.Build(t, "cmd/watcher"), []string{"OUTAGEWATCH_DATA_DIR=" + t.TempDir()},
		"-api.addr", ln.Addr().String(), "-otlp.grpc.addr", "127.0.0.1:0", "-otlp.http.addr", "127.0.0.1:0")
	require.Equal(t, exitFailed, p.ExitCode(), "%s", p.Output())
	out := p.Output()
	require.Equal(t, 1, strings.Count(out, "address already in use"), "one line says what failed:\n%s", out)
	require.Contains(t, out, "listen api "+ln.Addr().String())
}

// TestBadConfigurationExits2: an invalid configuration is exit code 2, said on stderr.
func TestBadConfigurationExits2(t *testing.T) {
	t.Parallel()
	p := watchertest.Start(t, watchertest.Build(t, "cmd/watcher"), []string{"OUTAGEWATCH_DATA_DIR=" + t.TempDir()}, "-log.level", "loud")
	require.Equal(t, exitConfig, p.ExitCode(), "%s", p.Output())
	require.Contains(t, p.Output(), "log.level: must be one of")
}

// TestSecondSignalExitsAtOnce: a shutdown held up by an OTLP request that never finishes its
// body is cut short by a second SIGTERM, with exit code 3.
func TestSecondSignalExitsAtOnce(t *testing.T) {
	t.Parallel()
	p := startBinary(t, t.TempDir())
	conn, err := net.Dial("tcp", p.OTLPHTTP)
	require.NoError(t, err)
	defer conn.Close()
	_, err = io.WriteString(conn, "POST /v1/traces HTTP/1.1\r\nHost: watcher\r\nContent-Type: application/x-protobuf\r\nContent-Length: 100\r\n\r\nabc")
	require.NoError(t, err)
	waitRead(t, conn) // the daemon is inside the request: the shutdown must wait for it
	require.NoError(t, p.Signal(syscall.SIGTERM))
	require.Eventually(t, func() bool { return strings.Contains(p.Output(), `step="health push clients"`) }, 10*time.Second, 10*time.Millisecond,
		"the shutdown is under way, held by the request")
	require.NoError(t, p.Signal(syscall.SIGTERM))
	require.Equal(t, exitForced, p.ExitCode(), "%s", p.Output())
	require.Contains(t, p.Output(), "second signal, exiting now")
	require.NotContains(t, p.Output(), "shutdown done", "cut short")
}

// waitRead waits until the daemon has read everything the test wrote on conn: the receive queue
// of the daemon's end of the connection, in /proc/net/tcp, is empty. A connection the server has
// not accepted yet would be dropped by its shutdown rather than hold it.
func waitRead(t *testing.T, conn net.Conn) {
	t.Helper()
	hex := func(a net.Addr) string {
		ta := a.(*net.TCPAddr)
		return fmt.Sprintf("%08X:%04X", binary.LittleEndian.Uint32(ta.IP.To4()), ta.Port)
	}
	server, client := hex(conn.RemoteAddr()), hex(conn.LocalAddr())
	require.Eventually(t, func() bool {
		b, err := os.ReadFile("/proc/net/tcp")
		require.NoError(t, err)
		for _, line := range strings.Split(string(b), "\n") {
			f := strings.Fields(line)
			if len(f) > 4 && f[1] == server && f[2] == client {
				return strings.HasSuffix(f[4], ":00000000")
			}
		}
		return false
	}, 10*time.Second, time.Millisecond, "the daemon reads the request")
}
