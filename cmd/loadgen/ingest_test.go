package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/outagewatch/outagewatch/detectors"
	"github.com/outagewatch/outagewatch/ingest"
)

// The daemon's own normaliser must read every shape and outcome as intended: the spans go through
// the OTLP/HTTP exporter into ingest's handler and pipeline, and come out as detectors.Call
// values.
// classCase is one shape, provider and outcome, with the call the daemon must make of it.
type classCase struct {
	name    string
	call    *callPlan
	results []result
	stream  bool
	want    detectors.Outcome
	class   detectors.ErrorClass
}

// calls is how many calls the daemon makes of the case: one, attempts folded in, or one per
// attempt for the Vercel AI SDK, which retries itself.
func (c *classCase) calls() int { return 1 } // Vercel's retried doGenerate spans included

// The daemon's own normaliser must read every shape and outcome as intended: the spans go through
// the OTLP/HTTP exporter into ingest's handler and pipeline, and come out as detectors.Call
// values.
func TestShapesAsTheDaemonClassifiesThem(t *testing.T) {
	t.Parallel()
	outcomes := []classCase{
		{name: "ok stream", results: []result{resultOK}, stream: true, want: detectors.OutcomeOK},
		{name: "ok", results: []result{resultOK}, want: detectors.OutcomeOK},
		{name: "retried then ok", results: []result{resultOverloaded, resultOK}, stream: true, want: detectors.OutcomeOK},
		{name: "overloaded", results: []result{resultOverloaded, resultOverloaded, resultOverloaded}, want: detectors.OutcomeError, class: detectors.ClassOverloaded},
		{name: "overloaded stream", results: []result{resultOverloaded, resultOverloaded, resultOverloaded}, stream: true, want: detectors.OutcomeError, class: detectors.ClassOverloaded},
		{name: "rate limited", results: []result{resultRateLimited, resultRateLimited, resultRateLimited}, want: detectors.OutcomeError, class: detectors.ClassRateLimited},
		{name: "server error", results: []result{resultServerError, resultServerError, resultServerError}, stream: true, want: detectors.OutcomeError, class: detectors.ClassServerError},
		{name: "timeout", results: []result{resultTimeout, resultTimeout, resultTimeout}, want: detectors.OutcomeError, class: detectors.ClassTimeout},
		{name: "truncated", results: []result{resultTruncated}, stream: true, want: detectors.OutcomeTruncated, class: detectors.ClassNetwork},
		{name: "truncated after a 429", results: []result{resultRateLimited, resultTruncated}, stream: true, want: detectors.OutcomeTruncated, class: detectors.ClassNetwork},
	}
	conventions := map[shapeName]string{
		shapeGenAI: "genai", shapeOpenLLMetry: "openllmetry", shapeVercel: "vercel_ai",
		shapeOpenInference: "openinference", shapeLiteLLM: "litellm",
	}
	var cases []*classCase
	want := 0
	for _, shape := range shapeNames {
		for _, p := range []*provider{anthropic, openai, gemini} {
			for _, o := range outcomes {
				tc := o
				tc.name = fmt.Sprintf("%s/%s/%s", shape, p.name, o.name)
				model := fmt.Sprintf("model-%03d", len(cases)) // one series per case
				tc.call = testCall(shape, p, model, o.stream, o.results...)
				cases = append(cases, &tc)
				want += tc.calls()
			}
		}
	}
	plans := make([]*callPlan, len(cases))
	for i, tc := range cases {
		plans[i] = tc.call
	}
	got := map[string][]detectors.Call{}
	for _, c := range classify(t, plans, want) {
		got[c.Model] = append(got[c.Model], c)
	}

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cs := got[tc.call.model]
			require.Len(t, cs, tc.calls())
			last, failed := cs[0], 0
			for _, c := range cs {
				if c.Time.After(last.Time) {
					last = c
				}
				failed += c.FailedAttempts
			}
			require.Equal(t, len(tc.results), last.Attempts, "attempts folded into the call")
			require.Equal(t, tc.call.provider.name, last.Provider)
			require.Equal(t, conventions[tc.call.shape], last.Convention)
			require.Equal(t, detectors.SourceLLM, last.Source)
			require.Equal(t, tc.stream, last.Streaming)
			require.Equal(t, tc.want.String(), last.Outcome.String(), "outcome (%s)", last.ErrorMessage)
			require.Equal(t, tc.class.String(), last.ErrorClass.String(), "error class (%s)", last.ErrorMessage)
			wantFailed := 0
			for _, r := range tc.results {
				wantFailed += btoi(r != resultOK) // a cut stream's attempt failed too
			}
			require.Equal(t, wantFailed, failed, "failed attempts")
			if tc.want == detectors.OutcomeOK {
				require.Equal(t, "stop", last.FinishReason.String())
			} else {
				require.Equal(t, "", last.FinishReason.String())
			}
		})
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// classify sends the calls' spans through the OTLP/HTTP exporter to ingest's handler and
// pipeline and returns the calls it makes, once there are want of them.
func classify(tb testing.TB, plans []*callPlan, want int) []detectors.Call {
	tb.Helper()
	var mu sync.Mutex
	var calls []detectors.Call
	cfg := ingest.DefaultConfig()
	p, err := ingest.NewPipeline(cfg, ingest.ConsumerFunc(func(cs []detectors.Call) {
		mu.Lock()
		calls = append(calls, cs...)
		mu.Unlock()
	}), prometheus.NewRegistry(), slog.New(slog.DiscardHandler), ingest.PipelineOptions{})
	require.NoError(tb, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = p.Run(ctx) }()
	defer func() { cancel(); <-done }()
	srv := httptest.NewServer(ingest.NewHTTPHandler(p, cfg.MaxRequestBytes))
	defer srv.Close()

	exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(srv.URL+"/v1/traces"))
	require.NoError(tb, err)
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp))
	em := newEmitter(tp)
	for _, c := range plans {
		em.emitNow(render(c))
	}
	require.NoError(tb, tp.Shutdown(ctx))
	require.Eventually(tb, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(calls) >= want
	}, 10*time.Second, 10*time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	return append([]detectors.Call(nil), calls...)
}
