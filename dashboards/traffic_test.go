package dashboards_test

import (
	"context"
	"math/rand/v2"
	"sync"
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
)

// series is one provider and model that the simulated application calls.
type series struct{ provider, model string }

// The series of the simulated application: two providers, five models. sonnet is the one that
// goes down, gpt4o the one whose streams get cut.
var (
	sonnet      = series{"anthropic", "claude-sonnet-4-5"}
	gpt4o       = series{"openai", "gpt-4o"}
	everySeries = []series{
		sonnet, {"anthropic", "claude-haiku-4-5"}, {"anthropic", "claude-opus-4-1"},
		gpt4o, {"openai", "gpt-4o-mini"},
	}
)

// fault is what is wrong with a series' provider.
type fault int

const (
	noFault    fault = iota // the baseline mix: a few 429s, 529s and 500s, 3 % of streams cut
	outage                  // every call fails with 529 overloaded, status Error
	truncation              // 40 % of streams end without a finish reason
)

// trafficTick is how often the traffic emits a round of calls.
const trafficTick = 100 * time.Millisecond

// traffic is an application's LLM calls, exported as GenAI `chat <model>` spans through the
// OpenTelemetry SDK, the way an instrumented application sends them.
type traffic struct {
	tp     *sdktrace.TracerProvider
	tracer trace.Tracer
	rng    *rand.Rand // used by the emitting goroutine only

	mu     sync.Mutex
	faults map[series]fault
}

// startTraffic sends perSecond calls per second of every series to the daemon's OTLP/HTTP
// receiver until the test ends.
func startTraffic(tb testing.TB, d *daemon, perSecond int) *traffic {
	tb.Helper()
	exp, err := otlptracehttp.New(context.Background(), otlptracehttp.WithEndpoint(d.otlpHTTP), otlptracehttp.WithInsecure())
	require.NoError(tb, err)
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp, sdktrace.WithBatchTimeout(trafficTick),
			sdktrace.WithMaxQueueSize(20000), sdktrace.WithMaxExportBatchSize(2000)),
		sdktrace.WithResource(resource.NewSchemaless(semconv.ServiceName("checkout"))))
	tr := &traffic{
		tp: tp, tracer: tp.Tracer("dashboards_test"), rng: rand.New(rand.NewPCG(7, 11)),
		faults: map[series]fault{},
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		tr.run(ctx, max(1, perSecond*int(trafficTick)/int(time.Second)))
	}()
	tb.Cleanup(func() {
		cancel()
		<-done
		shutdown, stop := context.WithTimeout(context.Background(), 10*time.Second)
		defer stop()
		_ = tp.Shutdown(shutdown) // the daemon may already be gone
	})
	return tr
}

// set changes the fault of a series from the next round on.
func (tr *traffic) set(s series, f fault) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.faults[s] = f
}

// run emits perTick calls of every series every trafficTick until ctx ends.
func (tr *traffic) run(ctx context.Context, perTick int) {
	t := time.NewTicker(trafficTick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			for _, s := range everySeries {
				tr.mu.Lock()
				f := tr.faults[s]
				tr.mu.Unlock()
				for range perTick {
					tr.call(s, f, now)
				}
			}
		}
	}
}

// call emits one call of s that ended at end: what a GenAI instrumentation records for a chat
// completion, streamed or not, succeeded or failed.
func (tr *traffic) call(s series, f fault, end time.Time) {
	r := tr.rng
	stream := r.Float64() < 0.4
	dur := time.Duration((0.5 + r.ExpFloat64()) * float64(time.Second))
	attrs := []attribute.KeyValue{
		attribute.String("gen_ai.operation.name", "chat"),
		attribute.String("gen_ai.provider.name", s.provider),
		attribute.String("gen_ai.request.model", s.model),
		attribute.Bool("gen_ai.request.stream", stream),
	}
	var status, message string
	switch u := r.Float64(); {
	case f == outage || u < 0.01:
		status, message = "OverloadedError", "Error code: 529 - overloaded_error"
		attrs = append(attrs, attribute.Int("http.response.status_code", 529))
		dur /= 4
	case u < 0.03:
		status, message = "RateLimitError", "Error code: 429 - rate_limit_error"
		attrs = append(attrs, attribute.Int("http.response.status_code", 429))
		dur /= 10
	case u < 0.035:
		status, message = "InternalServerError", "Error code: 500 - api_error"
		attrs = append(attrs, attribute.Int("http.response.status_code", 500))
	default:
		cut := 0.03
		if f == truncation {
			cut = 0.4
		}
		if !stream || r.Float64() >= cut {
			attrs = append(attrs, attribute.StringSlice("gen_ai.response.finish_reasons", []string{"stop"}))
		}
		if stream {
			ttft := 0.15 + r.ExpFloat64()*0.25
			attrs = append(attrs, attribute.Float64("gen_ai.response.time_to_first_chunk", ttft))
		}
		attrs = append(attrs, attribute.Int("gen_ai.usage.input_tokens", 200+r.IntN(2000)),
			attribute.Int("gen_ai.usage.output_tokens", 50+r.IntN(800)))
	}
	if status != "" {
		attrs = append(attrs, attribute.String("error.type", status))
	}
	_, span := tr.tracer.Start(context.Background(), "chat "+s.model, trace.WithSpanKind(trace.SpanKindClient),
		trace.WithTimestamp(end.Add(-dur)), trace.WithAttributes(attrs...))
	if status != "" {
		span.SetStatus(codes.Error, message)
	}
	span.End(trace.WithTimestamp(end))
}
