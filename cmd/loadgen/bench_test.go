package main

import (
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// How fast loadgen can generate is measured here, not asserted by the unit tests, whose figures
// depend on the machine: go test -run '^$' -bench . ./cmd/loadgen

// BenchmarkPlan measures drawing the arrivals and plans of the baseline scenario's first
// target: the work behind each call before any span is built.
func BenchmarkPlan(b *testing.B) {
	sc := mustScenario(b, "baseline")
	g := newGenerator(sc, 1, t0, time.Hour)
	at := t0
	for b.Loop() {
		next, ok := g.nextArrival(0, at)
		if !ok {
			next = t0
		}
		g.plan(0, next)
		at = next
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "calls/s")
}

// BenchmarkEmit measures rendering planned calls into spans and ending them through the
// OpenTelemetry SDK (to memory, no export), as spans per second.
func BenchmarkEmit(b *testing.B) {
	sc := mustScenario(b, "baseline")
	g := newGenerator(sc, 1, t0, time.Hour)
	plans := make([]*callPlan, 256)
	at := t0
	for i := range plans {
		at, _ = g.nextArrival(0, at)
		plans[i] = g.plan(0, at)
	}
	exp := tracetest.NewInMemoryExporter()
	e := newEmitter(sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp)))
	spans := 0
	i := 0
	for b.Loop() {
		e.emitNow(render(plans[i%len(plans)]))
		spans += len(exp.GetSpans())
		exp.Reset()
		i++
	}
	b.ReportMetric(float64(spans)/b.Elapsed().Seconds(), "spans/s")
}
