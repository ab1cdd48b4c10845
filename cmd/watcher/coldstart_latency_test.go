package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/outagewatch/outagewatch/health"
	"github.com/outagewatch/outagewatch/internal/watchertest"
)

// The proofs in this file run fresh binaries, as coldstart_test.go does, with traffic that has
// latencies: spans that start when the call started and end when it ended, streams that report
// their time to first token. The daemon reads latency from the span's start and end, TTFT from
// gen_ai.response.time_to_first_chunk or a first-chunk event (ingest/normalize).

// llmCall is one call of an Anthropic model as an instrumented application exports it.
type llmCall struct {
	model     string
	stream    bool
	ttft      time.Duration // streams: the time to the first chunk
	ttftEvent bool          // report the TTFT as an ai.stream.firstChunk event, not as an attribute
	duration  time.Duration // the span's end minus its start
	tokens    int           // output tokens
	kind      streamCall    // finished, cut (streams: no finish reason) or failed with a 529
}

// exportCalls exports, through the OpenTelemetry SDK, about rate calls a second to addr, each the
// call next returns, until stop is closed. Each span ends when it is sent and starts its
// duration earlier. It runs on its own goroutine: it reports a failure as its error.
func exportCalls(addr string, rate float64, next func() llmCall, stop <-chan struct{}) error {
	exp, err := otlptracehttp.New(context.Background(), otlptracehttp.WithEndpoint(addr), otlptracehttp.WithInsecure())
	if err != nil {
		return err
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp, sdktrace.WithBatchTimeout(100*time.Millisecond)),
		sdktrace.WithResource(resource.NewSchemaless(semconv.ServiceName("checkout"))))
	tracer := tp.Tracer("test")
	tick := time.NewTicker(time.Duration(float64(time.Second) / rate))
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return tp.Shutdown(context.Background())
		case <-tick.C:
		}
		c := next()
		end := time.Now()
		start := end.Add(-c.duration)
		attrs := []attribute.KeyValue{
			attribute.String("gen_ai.operation.name", "chat"),
			attribute.String("gen_ai.provider.name", "anthropic"),
			attribute.String("gen_ai.request.model", c.model),
			attribute.Bool("gen_ai.request.stream", c.stream),
		}
		if c.kind != streamOverloaded {
			attrs = append(attrs, attribute.Int("gen_ai.usage.output_tokens", c.tokens))
			if c.stream && !c.ttftEvent {
				attrs = append(attrs, attribute.Float64("gen_ai.response.time_to_first_chunk", c.ttft.Seconds()))
			}
		}
		if c.kind == streamOK {
			attrs = append(attrs, attribute.StringSlice("gen_ai.response.finish_reasons", []string{"stop"}))
		}
		if c.kind == streamOverloaded {
			attrs = append(attrs, attribute.String("error.type", "OverloadedError"))
		}
		_, span := tracer.Start(context.Background(), "chat "+c.model, trace.WithSpanKind(trace.SpanKindClient),
			trace.WithTimestamp(start), trace.WithAttributes(attrs...))
		if c.stream && c.ttftEvent && c.kind != streamOverloaded {
			span.AddEvent("ai.stream.firstChunk", trace.WithTimestamp(start.Add(c.ttft)))
		}
		if c.kind == streamOverloaded {
			span.SetStatus(codes.Error, "Error code: 529 - overloaded_error")
		}
		span.End(trace.WithTimestamp(end))
	}
}

// lognormal draws a lognormal value with the given median and log-scale sigma.
func lognormal(rng *rand.Rand, median time.Duration, sigma float64) time.Duration {
	return time.Duration(float64(median) * math.Exp(sigma*rng.NormFloat64()))
}

// normalCall is a call of model with realistic latencies, times slow: a duration of about
// 1.5 s (lognormal, σ = 0.4), a TTFT of about 400 ms for streams, 150 to 250 output tokens.
func normalCall(rng *rand.Rand, model string, stream bool, slow float64) llmCall {
	c := llmCall{model: model, stream: stream, tokens: 150 + rng.IntN(101)}
	c.duration = time.Duration(slow * float64(lognormal(rng, 1500*time.Millisecond, 0.4)))
	if stream {
		c.ttft = time.Duration(slow * float64(lognormal(rng, 400*time.Millisecond, 0.4)))
		c.duration += c.ttft
	}
	return c
}

// report fetches GET /v1/health; with after > 0 it long-polls (?wait=1s&after=after) so that it
// answers as soon as a state changes, and at least once a second for the figures. It returns
// an error instead of failing, for goroutines.
func (p proc) report(after uint64) (health.Report, error) {
	url := "http://" + p.API + "/v1/health"
	if after > 0 {
		url += fmt.Sprintf("?wait=1s&after=%d", after)
	}
	var r health.Report
	resp, err := http.Get(url)
	if err != nil {
		return r, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return r, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return r, json.NewDecoder(resp.Body).Decode(&r)
}

// await follows the health API (long-polls) until cond holds on a report, and returns that
// report, or fails the test with what after within.
func (p proc) await(t *testing.T, within time.Duration, what string, cond func(health.Report) bool) health.Report {
	t.Helper()
	deadline := time.Now().Add(within)
	var last health.Report
	for {
		r, err := p.report(last.Version)
		require.NoError(t, err)
		if cond(r) {
			return r
		}
		last = r
		if time.Now().After(deadline) {
			b, _ := json.MarshalIndent(r.Providers, "", " ")
			t.Fatalf("not within %s: %s\nlast report: %s", within, what, b)
		}
	}
}

// model returns an Anthropic model's view in a report.
func model(r health.Report, name string) (health.ModelView, bool) {
	for _, p := range r.Providers {
		if p.Provider != "anthropic" {
			continue
		}
		for _, m := range p.Models {
			if m.Model == name {
				return m, true
			}
		}
	}
	return health.ModelView{}, false
}

// anthropic returns the Anthropic provider's view in a report.
func anthropic(r health.Report) (health.ProviderView, bool) {
	for _, p := range r.Providers {
		if p.Provider == "anthropic" {
			return p, true
		}
	}
	return health.ProviderView{}, false
}

func unhealthy(state string) bool { return state == "degraded" || state == "down" }

// reasonLine sums a reason up for logs.
func reasonLine(rs []health.Reason) string {
	if len(rs) == 0 {
		return "no reason"
	}
	r := rs[0]
	return fmt.Sprintf("%s: observed %.3g, baseline %.3g, threshold %.3g, %d events in %d calls",
		r.Detector, r.Observed, r.Baseline, r.Threshold, r.Events, r.SampleSize)
}

// TestLatencyShiftOnAFreshDaemon runs fresh binaries (default detectors) with 10 calls a second
// of a model they have never seen, with realistic latencies (about 1.5 s, TTFT about 400 ms),
// and after 300 normal calls makes every call four times slower, TTFT included. The series is
// still on its priors (its warm-up takes an hour), but its own latency sketch holds 300
// samples, more than the 200 after which its own q95 (at its upper confidence bound) replaces
// the global prior's (20 s TTFT, 0.5 s per token): the shift is a degradation named by the
// ttft member for streams, by the latency member (per output token) for non-streaming calls.
// -short sends 25 calls a second.
func TestLatencyShiftOnAFreshDaemon(t *testing.T) {
	t.Parallel()
	rate, normal := 10.0, 300
	if testing.Short() {
		rate = 25
	}
	for i, tc := range []struct {
		name      string
		stream    bool
		ttftEvent bool
		detector  string
	}{
		{"streams, TTFT as gen_ai.response.time_to_first_chunk", true, false, "ttft"},
		{"streams, TTFT as a first-chunk event", true, true, "ttft"},
		{"non-streaming, latency per output token", false, false, "latency"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := proc{watchertest.StartWatcher(t, "")}
			rng := rand.New(rand.NewPCG(7, uint64(i)))
			var shifted atomic.Bool
			var shiftedCalls atomic.Int64
			var shiftAt atomic.Pointer[time.Time]
			stop, done := make(chan struct{}), make(chan error, 1)
			go func() {
				done <- exportCalls(p.OTLPHTTP, rate, func() llmCall {
					slow := 1.0
					if shifted.Load() {
						slow = 4
					}
					c := normalCall(rng, "claude-sonnet", tc.stream, slow)
					c.ttftEvent = tc.ttftEvent
					if slow > 1 && shiftedCalls.Add(1) == 1 {
						at := time.Now() // the first slow span ends now
						shiftAt.Store(&at)
					}
					return c
				}, stop)
			}()
			defer func() { close(stop); require.NoError(t, <-done) }()

			p.await(t, 10*time.Second, "a new series with calls is judged healthy", func(r health.Report) bool {
				m, _ := model(r, "claude-sonnet")
				return m.State == "healthy"
			})
			r := p.await(t, 2*time.Minute, fmt.Sprintf("%d normal calls", normal), func(r health.Report) bool {
				m, _ := model(r, "claude-sonnet")
				return m.Figures.Calls >= uint64(normal) || m.State != "healthy"
			})
			m, _ := model(r, "claude-sonnet")
			require.Equal(t, "healthy", m.State, "no false alarm on normal latencies: %s", reasonLine(m.Reasons))
			require.Equal(t, "global", m.Baseline.From, "a fresh daemon's series is on the global priors")
			t.Logf("before the shift: %d calls, p95 latency %.2fs, p95 TTFT %.2fs", m.Figures.Calls, m.Figures.LatencyP95Seconds, m.Figures.TTFTP95Seconds)
			shifted.Store(true)

			// A slowdown is a degradation, never an outage; three minutes of slow traffic bound it.
			r = p.await(t, 3*time.Minute, "the latency shift is detected", func(r health.Report) bool {
				m, _ := model(r, "claude-sonnet")
				return unhealthy(m.State)
			})
			detected := time.Now()
			m, _ = model(r, "claude-sonnet")
			require.Equal(t, "degraded", m.State)
			require.NotEmpty(t, m.Reasons)
			require.Equal(t, tc.detector, m.Reasons[0].Detector, "the evidence names the latency member: %s", reasonLine(m.Reasons))
			t.Logf("%s: degraded %s (%d slow calls sent) after the shift; %s; the series had %d calls, baseline %s",
				tc.name, detected.Sub(*shiftAt.Load()).Round(10*time.Millisecond), shiftedCalls.Load(),
				reasonLine(m.Reasons), m.Figures.Calls, m.Baseline.From)
		})
	}
}

// newModelConfig shortens the warm-up age (an hour by default, on the daemon's clock) so that a
// model's own baselines, and its provider's, take over within the test, and raises the warm-up
// calls to 300 so that a new model at 5 calls a second stays on its provider's baselines for a
// minute, longer than its part of the test: when a series turns warm its design moves from its
// lagged counts to its own baselines, which would have learned a fault not yet detected.
func newModelConfig(age time.Duration) string {
	return fmt.Sprintf("detectors:\n  warmup_calls: 300\n  warmup_age: %s\n", age)
}

// TestNewModelOnAWarmDaemon runs a binary warm on one model of a provider (claude-sonnet, 10
// streams a second with realistic latencies and 0.5% 529s, until its baselines and its
// provider's are its own: 300 calls over the warm-up age, shortened here to 30 s; 30 streams a
// second and 10 s in -short), then a second model of the provider (claude-haiku, 5 calls a second) appears. It is
// judged on its provider's baselines from its first calls (baseline from: provider), healthy
// with normal traffic, and when a fault hits it alone (a third of its streams cut, or 30% of
// its calls failing with 529) it is degraded or down while claude-sonnet stays healthy.
func TestNewModelOnAWarmDaemon(t *testing.T) {
	t.Parallel()
	age, rateA, normalB := 30*time.Second, 10.0, 50
	if testing.Short() {
		age, rateA, normalB = 10*time.Second, 30.0, 25
	}
	for i, tc := range []struct {
		name  string
		fault streamCall
		share float64
	}{
		{"a third of the new model's streams cut", streamCut, 1.0 / 3},
		{"30% of the new model's calls failing", streamOverloaded, 0.3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := proc{watchertest.StartWatcher(t, newModelConfig(age))}
			stop := make(chan struct{})
			var wg sync.WaitGroup
			errs := make(chan error, 2)
			send := func(rate float64, next func() llmCall) {
				wg.Add(1)
				go func() { defer wg.Done(); errs <- exportCalls(p.OTLPHTTP, rate, next, stop) }()
			}
			defer func() {
				close(stop)
				wg.Wait()
				close(errs)
				for err := range errs {
					require.NoError(t, err)
				}
			}()
			// Each sender has its own generator: the senders run concurrently.
			rngA := rand.New(rand.NewPCG(11, uint64(i)))
			send(rateA, func() llmCall {
				c := normalCall(rngA, "claude-sonnet", true, 1)
				if rngA.Float64() < 0.005 {
					c.kind = streamOverloaded
				}
				return c
			})
			start := time.Now()
			r := p.await(t, age+time.Minute, "claude-sonnet and anthropic on their own baselines", func(r health.Report) bool {
				m, _ := model(r, "claude-sonnet")
				pv, _ := anthropic(r)
				return m.Baseline.From == "own" && pv.Baseline.From == "own"
			})
			a, _ := model(r, "claude-sonnet")
			require.Equal(t, "healthy", a.State, reasonLine(a.Reasons))
			t.Logf("warm after %s: claude-sonnet %d calls, baseline %s", time.Since(start).Round(100*time.Millisecond), a.Figures.Calls, a.Baseline.From)
			sinceA := a.Since

			rngB := rand.New(rand.NewPCG(13, uint64(i)))
			var faulty atomic.Bool
			var faultCalls atomic.Int64
			var faultAt atomic.Pointer[time.Time]
			firstB := time.Now()
			send(5, func() llmCall {
				c := normalCall(rngB, "claude-haiku", true, 1)
				if faulty.Load() {
					if faultCalls.Add(1) == 1 {
						at := time.Now()
						faultAt.Store(&at)
					}
					if rngB.Float64() < tc.share {
						c.kind = tc.fault
					}
				} else if rngB.Float64() < 0.005 {
					c.kind = streamOverloaded
				}
				return c
			})

			// From its first calls: on its provider's baselines, and judged.
			r = p.await(t, 10*time.Second, "claude-haiku appears", func(r health.Report) bool {
				_, ok := model(r, "claude-haiku")
				return ok
			})
			b, _ := model(r, "claude-haiku")
			require.Equal(t, "provider", b.Baseline.From, "a new model of a warm provider is judged on the provider's baselines from its first call")
			require.NotEqual(t, "unknown", b.State)
			require.False(t, unhealthy(b.State), reasonLine(b.Reasons))
			t.Logf("claude-haiku: %s, baseline %s after %d calls, %s after its first call",
				b.State, b.Baseline.From, b.Baseline.Calls, time.Since(firstB).Round(10*time.Millisecond))
			r = p.await(t, time.Minute, fmt.Sprintf("%d normal calls of claude-haiku", normalB), func(r health.Report) bool {
				b, _ := model(r, "claude-haiku")
				return b.Figures.Calls >= uint64(normalB) || b.State != "healthy"
			})
			b, _ = model(r, "claude-haiku")
			require.Equal(t, "healthy", b.State, "no false alarm on the new model's normal traffic: %s", reasonLine(b.Reasons))
			require.Equal(t, "provider", b.Baseline.From, "still on its provider's baselines when the fault begins")

			faulty.Store(true)
			r = p.await(t, time.Minute, "the fault on claude-haiku is detected", func(r health.Report) bool {
				a, _ := model(r, "claude-sonnet")
				require.Equal(t, "healthy", a.State, "claude-sonnet stays healthy: %s", reasonLine(a.Reasons))
				b, _ := model(r, "claude-haiku")
				return unhealthy(b.State)
			})
			detected := time.Now()
			a, _ = model(r, "claude-sonnet")
			b, _ = model(r, "claude-haiku")
			require.Equal(t, sinceA, a.Since, "claude-sonnet did not change state")
			require.NotEmpty(t, b.Reasons)
			want := []string{"truncation"}
			if tc.fault == streamOverloaded {
				want = []string{"error_rate", "error_rate_mid", "error_rate_down"}
			}
			require.Contains(t, want, b.Reasons[0].Detector, reasonLine(b.Reasons))
			require.Equal(t, "provider", b.Baseline.From, "the fault was detected on the provider's baselines")
			t.Logf("%s: claude-haiku %s %s (%d calls into the fault) after it began, baseline %s after %d calls; %s",
				tc.name, b.State, detected.Sub(*faultAt.Load()).Round(10*time.Millisecond), faultCalls.Load(),
				b.Baseline.From, b.Baseline.Calls, reasonLine(b.Reasons))
		})
	}
}
