package main

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// routerFixture is a router over two fake providers whose spans go to memory, with the
// primary's usability set by the test.
type routerFixture struct {
	router            *Router
	primary, fallback *fakeProvider
	spans             *tracetest.InMemoryExporter
	primaryUsable     atomic.Bool
}

func newRouterFixture(tb testing.TB) *routerFixture {
	tb.Helper()
	logger := slog.New(slog.DiscardHandler)
	f := &routerFixture{spans: tracetest.NewInMemoryExporter()}
	f.primaryUsable.Store(true)
	var err error
	f.primary, err = newFakeProvider("anthropic", "claude-sonnet-4-5", "127.0.0.1:0", time.Millisecond, logger)
	require.NoError(tb, err)
	f.fallback, err = newFakeProvider("openai", "gpt-4o", "127.0.0.1:0", time.Millisecond, logger)
	require.NoError(tb, err)
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(f.spans))
	tb.Cleanup(func() {
		ctx := context.Background()
		require.NoError(tb, tp.Shutdown(ctx))
		require.NoError(tb, f.primary.Close(ctx))
		require.NoError(tb, f.fallback.Close(ctx))
	})
	health := healthFunc(func(provider, model string) bool {
		return provider != "anthropic" || f.primaryUsable.Load()
	})
	p, fb := primaryTarget, fallbackTarget
	p.URL, fb.URL = f.primary.URL(), f.fallback.URL()
	f.router = newRouter(health, p, fb, &http.Client{Timeout: 5 * time.Second}, tp.Tracer("test"))
	return f
}

// chatSpans returns the provider-call spans recorded so far, and forgets them.
func (f *routerFixture) chatSpans() []tracetest.SpanStub {
	var out []tracetest.SpanStub
	for _, s := range f.spans.GetSpans() {
		if s.SpanKind == trace.SpanKindClient {
			out = append(out, s)
		}
	}
	f.spans.Reset()
	return out
}

func attrs(s tracetest.SpanStub) map[attribute.Key]attribute.Value {
	m := map[attribute.Key]attribute.Value{}
	for _, kv := range s.Attributes {
		m[kv.Key] = kv.Value
	}
	return m
}

func TestRouterRecordsSpansLikeAnInstrumentedApp(t *testing.T) {
	t.Parallel()
	f := newRouterFixture(t)
	ctx := context.Background()

	text, err := f.router.Handle(ctx, "hello")
	require.NoError(t, err)
	require.Equal(t, "Hello from anthropic.", text)
	spans := f.chatSpans()
	require.Len(t, spans, 1)
	ok := spans[0]
	require.Equal(t, "chat claude-sonnet-4-5", ok.Name)
	require.Equal(t, codes.Unset, ok.Status.Code)
	a := attrs(ok)
	require.Equal(t, "chat", a["gen_ai.operation.name"].AsString())
	require.Equal(t, "anthropic", a["gen_ai.provider.name"].AsString())
	require.Equal(t, "claude-sonnet-4-5", a["gen_ai.request.model"].AsString())
	require.Equal(t, []string{"stop"}, a["gen_ai.response.finish_reasons"].AsStringSlice())
	require.NotContains(t, a, attribute.Key("outagewatch.probe"))
	require.True(t, ok.Parent.IsValid(), "the call is a child of the user request's span")

	// The primary fails: its span says so the way the Anthropic SDK does, and the request is
	// retried on the fallback, so the user sees no error.
	f.primary.SetFailing(true)
	text, err = f.router.Handle(ctx, "hello")
	require.NoError(t, err)
	require.Equal(t, "Hello from openai.", text)
	spans = f.chatSpans()
	require.Len(t, spans, 2)
	failed, retry := spans[0], spans[1]
	require.Equal(t, "chat claude-sonnet-4-5", failed.Name)
	require.Equal(t, codes.Error, failed.Status.Code)
	require.Equal(t, `Error code: 529 - {"type":"error","error":{"type":"overloaded_error"}}`, failed.Status.Description)
	require.Equal(t, "OverloadedError", attrs(failed)["error.type"].AsString())
	require.NotContains(t, attrs(failed), attribute.Key("gen_ai.response.finish_reasons"))
	require.Equal(t, "chat gpt-4o", retry.Name)
	require.Equal(t, "openai", attrs(retry)["gen_ai.provider.name"].AsString())
	require.Equal(t, codes.Unset, retry.Status.Code)

	// outagewatch says the primary is down: requests go to the fallback, probes to the primary.
	f.primaryUsable.Store(false)
	_, err = f.router.Handle(ctx, "hello")
	require.NoError(t, err)
	require.True(t, f.router.Probe(ctx))
	spans = f.chatSpans()
	require.Len(t, spans, 2)
	require.Equal(t, "chat gpt-4o", spans[0].Name)
	probe := spans[1]
	require.Equal(t, "chat claude-sonnet-4-5", probe.Name)
	require.True(t, attrs(probe)["outagewatch.probe"].AsBool())
	require.Equal(t, codes.Error, probe.Status.Code, "the primary still fails")

	f.primaryUsable.Store(true)
	require.False(t, f.router.Probe(ctx), "no probe to a usable primary")
	require.Empty(t, f.chatSpans())

	s := f.router.Stats()
	require.Equal(t, stats{Requests: 3, ToPrimary: 2, ToFallback: 1, Retried: 1, PrimaryErrors: 1, Probes: 1, ProbeErrors: 1}, s)
}

func TestRouterCountsUserVisibleFailures(t *testing.T) {
	t.Parallel()
	f := newRouterFixture(t)
	f.primary.SetFailing(true)
	f.fallback.SetFailing(true)
	_, err := f.router.Handle(context.Background(), "hello")
	require.ErrorContains(t, err, "Error code: 529")
	f.primaryUsable.Store(false)
	_, err = f.router.Handle(context.Background(), "hello")
	require.Error(t, err)
	s := f.router.Stats()
	require.Equal(t, int64(2), s.Failed)
	require.Equal(t, int64(1), s.Retried)
}

func TestErrorType(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"overloaded", &apiError{Status: 529}, "OverloadedError"},
		{"rate limited", &apiError{Status: 429}, "RateLimitError"},
		{"server error", &apiError{Status: 500}, "InternalServerError"},
		{"bad request", &apiError{Status: 400}, "APIStatusError"},
		{"timeout", context.DeadlineExceeded, "APITimeoutError"},
		{"connection", &connError{}, "APIConnectionError"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, errorType(tt.err))
		})
	}
}

type connError struct{}

func (*connError) Error() string { return "dial tcp 127.0.0.1:1: connect: connection refused" }

// TestRouterFailsOverBeforeUsersNotice runs the real daemon, the router at 20 requests/s with
// its spans exported to the daemon, and an outage of the primary: outagewatch must see it from
// the router's own spans, the router must move to the fallback with no user-visible failure,
// and come back to the primary once its probes have shown the recovery. It reads as one
// timeline, so it stays one function.
func TestRouterFailsOverBeforeUsersNotice(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the end-to-end test builds and runs the daemon for about 45 s; scripts/test.sh runs it without -short")
	}
	began := time.Now()
	w := startWatcher(t)
	t.Logf("watcher built and started in %s: api %s, otlp/http %s", time.Since(began).Round(time.Millisecond), w.apiURL, w.otlpHTTP)

	ctx, cancel := context.WithTimeout(context.Background(), 80*time.Second)
	defer cancel()
	logger := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	e, err := newExample(ctx, config{outagewatch: w.apiURL, otlpEndpoint: w.otlpHTTP, rate: 20, latency: 20 * time.Millisecond}, logger)
	require.NoError(t, err)
	handles := newHandleTracker(e.router.tracer)
	e.router.tracer = handles
	var wg sync.WaitGroup
	e.start(ctx, &wg)
	loadCtx, stopLoad := context.WithCancel(ctx)
	wg.Go(func() { generateLoad(loadCtx, e.router, 20) })
	t.Cleanup(func() {
		stopLoad()
		cancel()
		wg.Wait()
		require.NoError(t, e.close())
	})
	select {
	case <-e.health.Ready():
	case <-time.After(10 * time.Second):
		t.Fatal("the health client got no answer from the daemon")
	}
	state := func() string {
		s, err := w.modelState(ctx, "anthropic", "claude-sonnet-4-5")
		if err != nil {
			t.Logf("get /v1/health: %v", err)
		}
		return s
	}

	// The daemon sees the primary's calls (and keeps it unknown: a cold start).
	require.Eventually(t, func() bool { return state() != "" }, 10*time.Second, 50*time.Millisecond, "primary never listed")
	require.True(t, e.router.PrimaryUsable())

	// The outage: every call to the primary gets 529 overloaded.
	e.primary.SetFailing(true)
	faultAt := time.Now()
	require.Eventually(t, func() bool { return state() == "down" }, 10*time.Second, 20*time.Millisecond,
		"outagewatch did not see the outage in the router's spans")
	detected := time.Since(faultAt)
	require.Eventually(t, func() bool { return !e.router.PrimaryUsable() }, 5*time.Second, time.Millisecond,
		"the router's health client did not learn the primary is down")
	switched := time.Since(faultAt)
	// Requests that chose the primary just before the switch are still in flight for one
	// provider latency and their retry: wait until every request begun so far has ended (each
	// begins before it asks for the primary's usability) before taking the counters.
	begun := handles.begun()
	require.Eventually(t, func() bool { return handles.endedUpTo(begun) }, 10*time.Second, time.Millisecond,
		"the requests begun before the switch did not end")
	atSwitch := e.router.Stats()
	require.Zero(t, atSwitch.Failed, "the retry on the fallback hid the failed primary calls")
	require.Positive(t, atSwitch.PrimaryErrors, "some user requests hit the outage before the switch")

	// The provider recovers a little later, after two probes have met the outage; only the
	// probes can tell.
	require.Eventually(t, func() bool { return e.router.Stats().ProbeErrors >= atSwitch.ProbeErrors+2 }, 10*time.Second, 10*time.Millisecond,
		"the router did not probe the unusable primary")
	e.primary.SetFailing(false)
	recoveredAt := time.Now()
	// atBack is the last count taken while the primary was still unusable: counts taken first,
	// then the check, so that no request routed after the flip is in it.
	var atBack stats
	require.Eventually(t, func() bool {
		s := e.router.Stats()
		if e.router.PrimaryUsable() {
			return true
		}
		atBack = s
		return false
	}, 60*time.Second, 10*time.Millisecond, "the primary never became usable again")
	back := time.Since(recoveredAt)
	t.Logf("primary down in /v1/health %s after the fault, router on the fallback after %s; usable again (%s) %s after the provider recovered, after %d probes",
		detected.Round(time.Millisecond), switched.Round(time.Millisecond), state(), back.Round(time.Millisecond), atBack.Probes)

	require.Equal(t, atSwitch.ToPrimary, atBack.ToPrimary, "no user request went to the primary while it was unusable")
	require.Equal(t, atSwitch.PrimaryErrors, atBack.PrimaryErrors, "no user request met the outage after the switch")
	require.Zero(t, atBack.Failed, "no user request failed")
	require.Greater(t, atBack.ToFallback, atSwitch.ToFallback)
	require.Greater(t, atBack.Probes, atSwitch.Probes, "probes went to the primary")
	require.NotEqual(t, "down", state())

	// Back on the primary.
	require.Eventually(t, func() bool { return e.router.Stats().ToPrimary >= atBack.ToPrimary+10 }, 5*time.Second, 10*time.Millisecond)
	final := e.router.Stats()
	require.Zero(t, final.Failed)
	require.Equal(t, atBack.PrimaryErrors, final.PrimaryErrors)
	t.Logf("requests %d: primary %d, fallback %d, retried %d, failed %d; probes %d; test took %s",
		final.Requests, final.ToPrimary, final.ToFallback, final.Retried, final.Failed, final.Probes, time.Since(began).Round(time.Millisecond))
}

// handleTracker wraps the router's tracer to tell which user requests are still being served:
// Handle starts its "router.handle" span before it routes the request and ends it (deferred)
// after its last counter update, so a request whose span has ended is wholly counted.
type handleTracker struct {
	trace.Tracer

	mu      sync.Mutex
	started int64          // router.handle spans started
	open    map[int64]bool // the sequence numbers of those not yet ended
}

func newHandleTracker(tracer trace.Tracer) *handleTracker {
	return &handleTracker{Tracer: tracer, open: map[int64]bool{}}
}

// Start starts the span with the wrapped tracer, and tracks it if it is a user request's.
func (h *handleTracker) Start(ctx context.Context, name string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	ctx, span := h.Tracer.Start(ctx, name, opts...)
	if name != "router.handle" {
		return ctx, span
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.started++
	seq := h.started
	h.open[seq] = true
	return ctx, &trackedSpan{Span: span, ended: func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		delete(h.open, seq)
	}}
}

// begun returns how many user requests have begun so far.
func (h *handleTracker) begun() int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.started
}

// endedUpTo reports whether the first n user requests have all ended.
func (h *handleTracker) endedUpTo(n int64) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	for seq := range h.open {
		if seq <= n {
			return false
		}
	}
	return true
}

// trackedSpan calls ended after the span ends.
type trackedSpan struct {
	trace.Span
	ended func()
}

func (s *trackedSpan) End(opts ...trace.SpanEndOption) {
	s.Span.End(opts...)
	s.ended()
}
