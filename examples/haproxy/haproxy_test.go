// Package haproxy_test runs examples/haproxy/haproxy.cfg with the real HAProxy and the real
// outagewatch daemon: HAProxy's health checks ask outagewatch, and HAProxy fails over to the
// fallback provider when outagewatch says the primary is down, and back when it recovers.
package haproxy_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/outagewatch/outagewatch/internal/watchertest"
)

// TestMain removes the watcher binary the tests built.
func TestMain(m *testing.M) {
	code := m.Run()
	watchertest.Cleanup()
	os.Exit(code)
}

// fastDetection shortens the daemon's warm-up and hold-downs so that an outage and its
// recovery fit in the test; the health API and its contract are the defaults'.
const fastDetection = `
detectors:
  warmup_calls: 10
  warmup_age: 0s
  hold_degraded: 1s
  hold_down_base: 1s
  hold_down_max: 1s
`

// healthPath is what HAProxy's check of the primary asks outagewatch.
const healthPath = "/v1/health/anthropic/claude-sonnet-4-5"

// TestHAProxyFailsOverOnOutagewatchVerdict runs the daemon, two fake providers and HAProxy with
// haproxy.cfg, then an outage of the primary's model seen by outagewatch in OTLP spans: HAProxy
// must move the requests to the fallback once the daemon answers 503, and back to the primary
// once it answers 200 again. It reads as one timeline, so it stays one function.
func TestHAProxyFailsOverOnOutagewatchVerdict(t *testing.T) {
	bin, err := exec.LookPath("haproxy")
	if err != nil {
		t.Fatalf("haproxy is not installed (%v): run scripts/haproxy.sh (it installs the Debian package)", err)
	}
	began := time.Now()
	w := watchertest.StartWatcher(t, fastDetection)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("watcher log:\n%s", w.Output())
		}
	})
	health := "http://" + w.API + healthPath

	primary := fakeProvider(t, "anthropic")
	fallback := fakeProvider(t, "openai")
	listen := freeAddr(t)
	host, port, err := net.SplitHostPort(w.API)
	if err != nil {
		t.Fatal(err)
	}
	hp := watchertest.Start(t, bin, []string{
		"LISTEN=" + listen,
		"PRIMARY=" + primary,
		"FALLBACK=" + fallback,
		"OUTAGEWATCH_HOST=" + host,
		"OUTAGEWATCH_PORT=" + port,
		"CHECK_INTER=100ms",
	}, "-f", "haproxy.cfg", "-db")
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("haproxy log:\n%s", hp.Output())
		}
	})
	frontend := "http://" + listen + "/v1/messages"

	// Before any traffic the model is unknown, which is usable: the primary serves.
	waitFor(t, 10*time.Second, "HAProxy serving from the primary", func() bool {
		by, _ := request(frontend)
		return by == "anthropic"
	})
	t.Logf("watcher and haproxy up in %s", time.Since(began).Round(time.Millisecond))

	// The application's calls, exported to the daemon as they happen: 40 a second.
	var failing atomic.Bool
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { emitCalls(ctx, t, w.OTLPHTTP, &failing) })
	t.Cleanup(func() { stop(); wg.Wait() })
	waitFor(t, 10*time.Second, "outagewatch counting the primary's calls", func() bool {
		code, body := get(health)
		return code == http.StatusOK && strings.Contains(body, `"state":"healthy"`)
	})
	for i := 0; i < 5; i++ {
		if by, err := request(frontend); by != "anthropic" {
			t.Fatalf("request %d served by %q (%v), want the primary", i, by, err)
		}
	}

	// The outage: every call fails with 529 overloaded.
	failing.Store(true)
	faultAt := time.Now()
	waitFor(t, 20*time.Second, "outagewatch answering 503 for "+healthPath, func() bool {
		code, _ := get(health)
		return code == http.StatusServiceUnavailable
	})
	downAt := time.Now()
	waitFor(t, 10*time.Second, "HAProxy sending requests to the fallback", func() bool {
		by, _ := request(frontend)
		return by == "openai"
	})
	switched := time.Since(downAt)
	t.Logf("outagewatch answered 503 %s after the fault; HAProxy served from the fallback %s after the 503 (check inter 100ms, fall 2)",
		downAt.Sub(faultAt).Round(time.Millisecond), switched.Round(time.Millisecond))
	for i := 0; i < 5; i++ {
		if by, err := request(frontend); by != "openai" {
			t.Fatalf("request %d during the outage served by %q (%v), want the fallback", i, by, err)
		}
	}

	// The recovery: calls succeed again.
	failing.Store(false)
	recoveredAt := time.Now()
	waitFor(t, 30*time.Second, "outagewatch answering 200 again", func() bool {
		code, _ := get(health)
		return code == http.StatusOK
	})
	upAt := time.Now()
	waitFor(t, 10*time.Second, "HAProxy back on the primary", func() bool {
		by, _ := request(frontend)
		return by == "anthropic"
	})
	t.Logf("outagewatch answered 200 %s after the recovery; HAProxy back on the primary %s later (rise 2)",
		upAt.Sub(recoveredAt).Round(time.Millisecond), time.Since(upAt).Round(time.Millisecond))
	for i := 0; i < 5; i++ {
		if by, err := request(frontend); by != "anthropic" {
			t.Fatalf("request %d after the recovery served by %q (%v), want the primary", i, by, err)
		}
	}

	// A stale daemon: with outagewatch gone, both checks fail and HAProxy fails open to the
	// last-resort server, the primary without a check, instead of answering 503.
	stop()
	wg.Wait()
	w.Stop(t)
	waitFor(t, 10*time.Second, "HAProxy on the last resort without outagewatch", func() bool {
		by, _ := request(frontend)
		return by == "anthropic-last-resort"
	})
	t.Logf("test took %s", time.Since(began).Round(time.Millisecond))
}

// fakeProvider starts an HTTP server that answers every request 200 with its name, and returns
// its host:port.
func fakeProvider(t *testing.T, name string) string {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = fmt.Fprintf(w, `{"provider":%q}`, name)
	}))
	t.Cleanup(s.Close)
	return strings.TrimPrefix(s.URL, "http://")
}

// freeAddr returns a loopback address with a port that was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

// client is the HTTP client of the test's requests, with a bound on each.
var client = &http.Client{Timeout: 5 * time.Second}

// request posts a chat request through HAProxy and returns the name of the server that served
// it (the X-Served-By header haproxy.cfg adds), checking that the provider's body agrees.
func request(url string) (string, error) {
	resp, err := client.Post(url, "application/json", strings.NewReader(`{"model":"claude-sonnet-4-5","messages":[]}`))
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("status %d: %s", resp.StatusCode, body)
	}
	by := resp.Header.Get("X-Served-By")
	provider := strings.TrimSuffix(by, "-last-resort")
	if want := fmt.Sprintf(`{"provider":%q}`, provider); string(body) != want {
		return "", fmt.Errorf("served by %q but the body is %s", by, body)
	}
	return by, nil
}

// get fetches url and returns its status code and body (0 when it could not be fetched).
func get(url string) (int, string) {
	resp, err := client.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// waitFor polls cond every 20 ms until it holds, and fails the test after timeout.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s after %s", what, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// emitCalls exports a chat span of anthropic/claude-sonnet-4-5 every 25 ms to the daemon's
// OTLP/HTTP receiver until ctx ends: a success, or while failing is set, a 529 overloaded error
// shaped as the instrumented Anthropic SDK records it.
func emitCalls(ctx context.Context, t *testing.T, otlpHTTP string, failing *atomic.Bool) {
	exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpoint(otlpHTTP), otlptracehttp.WithInsecure())
	if err != nil {
		t.Errorf("otlp exporter: %v", err)
		return
	}
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp, sdktrace.WithBatchTimeout(50*time.Millisecond)),
		sdktrace.WithResource(resource.NewSchemaless(semconv.ServiceName("checkout"))),
	)
	defer func() { _ = tp.Shutdown(context.Background()) }()
	tracer := tp.Tracer("haproxy-example")
	tick := time.NewTicker(25 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		attrs := []attribute.KeyValue{
			attribute.String("gen_ai.operation.name", "chat"),
			attribute.String("gen_ai.provider.name", "anthropic"),
			attribute.String("gen_ai.request.model", "claude-sonnet-4-5"),
		}
		fail := failing.Load()
		if fail {
			attrs = append(attrs, attribute.String("error.type", "OverloadedError"))
		} else {
			attrs = append(attrs, attribute.StringSlice("gen_ai.response.finish_reasons", []string{"stop"}))
		}
		_, span := tracer.Start(ctx, "chat claude-sonnet-4-5", trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
		if fail {
			span.SetStatus(codes.Error, "Error code: 529 - {'type': 'error', 'error': {'type': 'overloaded_error'}}")
		}
		span.End()
	}
}
