package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/outagewatch/outagewatch/internal/watchertest"
)

// consistentSampler is OpenTelemetry's consistent probability sampling (TraceState Handling,
// "th"), as an SDK configured for a fraction does it: a root span is kept when the 56 random
// bits of its trace ID reach the rejection threshold T = (1 − fraction)·2^56, and carries
// ot=th:T in its tracestate. The Go SDK's TraceIDRatioBased does not write th.
type consistentSampler struct {
	threshold uint64
	th        string
}

func newConsistentSampler(fraction float64) consistentSampler {
	t := uint64((1 - fraction) * (1 << 56))
	return consistentSampler{threshold: t, th: strings.TrimRight(fmt.Sprintf("%014x", t), "0")}
}

func (s consistentSampler) ShouldSample(p sdktrace.SamplingParameters) sdktrace.SamplingResult {
	tid := p.TraceID
	r := binary.BigEndian.Uint64(tid[8:]) & (1<<56 - 1)
	if r < s.threshold {
		return sdktrace.SamplingResult{Decision: sdktrace.Drop}
	}
	ts, err := trace.TraceState{}.Insert("ot", "th:"+s.th)
	if err != nil {
		panic(err)
	}
	return sdktrace.SamplingResult{Decision: sdktrace.RecordAndSample, Tracestate: ts}
}

func (s consistentSampler) Description() string { return "consistent th:" + s.th }

// seededIDs makes random trace and span IDs from a seed, so that which calls a sampler keeps
// is the same on every run.
type seededIDs struct {
	mu  sync.Mutex
	rng *rand.Rand
}

func (g *seededIDs) NewIDs(context.Context) (trace.TraceID, trace.SpanID) {
	g.mu.Lock()
	defer g.mu.Unlock()
	var tid trace.TraceID
	binary.BigEndian.PutUint64(tid[:8], g.rng.Uint64())
	binary.BigEndian.PutUint64(tid[8:], g.rng.Uint64())
	return tid, g.newSpanID()
}

func (g *seededIDs) NewSpanID(context.Context, trace.TraceID) trace.SpanID {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.newSpanID()
}

func (g *seededIDs) newSpanID() trace.SpanID {
	var sid trace.SpanID
	binary.BigEndian.PutUint64(sid[:], g.rng.Uint64()|1)
	return sid
}

// callsTotal sums outagewatch_calls_total of a provider, and outagewatch_ingest_sampled_calls_total.
func callsTotal(t *testing.T, api, provider string) (calls, sampled float64) {
	t.Helper()
	code, body := get(t, "http://"+api+"/metrics")
	require.Equal(t, http.StatusOK, code)
	re := regexp.MustCompile(`(?m)^outagewatch_calls_total\{[^}]*provider="` + regexp.QuoteMeta(provider) + `"[^}]*\} (\S+)$`)
	for _, m := range re.FindAllStringSubmatch(body, -1) {
		v, err := strconv.ParseFloat(m[1], 64)
		require.NoError(t, err)
		calls += v
	}
	if m := regexp.MustCompile(`(?m)^outagewatch_ingest_sampled_calls_total (\S+)$`).FindStringSubmatch(body); m != nil {
		sampled, _ = strconv.ParseFloat(m[1], 64)
	}
	return calls, sampled
}

// TestSampledTrafficIsCountedAsSent: an application head-samples its traces at 10% or 25%
// (consistent probability sampling through the OpenTelemetry SDK: tracestate ot=th:) and sends
// 400 chat calls a second to a fresh binary for 25 s, then its provider fails every call. The
// binary counts the calls sent, within 10%, from the tenth or quarter it sees, and turns the
// model 503 within 10 s of the outage.
func TestSampledTrafficIsCountedAsSent(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: 30 s of real-time traffic; CI runs it in the full-size run")
	}
	t.Parallel()
	for _, fraction := range []float64{0.10, 0.25} {
		t.Run(fmt.Sprintf("%.0f%%", 100*fraction), func(t *testing.T) {
			t.Parallel()
			p := proc{watchertest.StartWatcher(t, "")}
			exp, err := otlptracehttp.New(context.Background(), otlptracehttp.WithEndpoint(p.OTLPHTTP), otlptracehttp.WithInsecure())
			require.NoError(t, err)
			tp := sdktrace.NewTracerProvider(
				sdktrace.WithSampler(newConsistentSampler(fraction)),
				sdktrace.WithIDGenerator(&seededIDs{rng: rand.New(rand.NewPCG(42, uint64(100*fraction)))}),
				sdktrace.WithBatcher(exp, sdktrace.WithBatchTimeout(100*time.Millisecond), sdktrace.WithMaxExportBatchSize(512)),
				sdktrace.WithResource(resource.NewSchemaless(semconv.ServiceName("checkout"))))
			tracer := tp.Tracer("test")
			sent := 0
			send := func(n int, failing bool) {
				for range n {
					_, span := tracer.Start(context.Background(), "chat claude-sonnet", trace.WithSpanKind(trace.SpanKindClient),
						trace.WithAttributes(chatAttributes("claude-sonnet", failing)...))
					if failing {
						span.SetStatus(codes.Error, "Error code: 529 - overloaded_error")
					}
					span.End()
					sent++
				}
			}
			// 400 calls a second, in 40 every 100 ms.
			tick := time.NewTicker(100 * time.Millisecond)
			defer tick.Stop()
			for range 250 {
				<-tick.C
				send(40, false)
			}
			require.Equal(t, "healthy", modelState(p.health(t), "claude-sonnet"))

			start := time.Now()
			url := "http://" + p.API + "/v1/health/anthropic/claude-sonnet"
			for {
				<-tick.C
				send(40, true)
				if code, _ := get(t, url); code == http.StatusServiceUnavailable {
					break
				}
				require.Less(t, time.Since(start), 10*time.Second, "the hard outage is 503 within 10 s")
			}
			delay := time.Since(start)
			require.NoError(t, tp.Shutdown(context.Background())) // every kept span exported

			var calls, sampled float64
			require.Eventually(t, func() bool {
				calls, sampled = callsTotal(t, p.API, "anthropic")
				return calls >= 0.5*float64(sent) && calls == mustCalls(t, p.API)
			}, 10*time.Second, 50*time.Millisecond)
			t.Logf("%.0f%%: sent %d calls, %.0f seen, counted %.0f (%+.1f%%); 503 %s after the outage began",
				100*fraction, sent, sampled, calls, 100*(calls/float64(sent)-1), delay.Round(10*time.Millisecond))
			require.InDelta(t, float64(sent), calls, 0.10*float64(sent), "calls counted as sent, within 10%")
			require.InDelta(t, fraction*float64(sent), sampled, 0.15*fraction*float64(sent), "about the sampled fraction seen")
		})
	}
}

// mustCalls reads the anthropic calls counted again: equal to the last reading once ingest
// has settled.
func mustCalls(t *testing.T, api string) float64 {
	calls, _ := callsTotal(t, api, "anthropic")
	return calls
}
