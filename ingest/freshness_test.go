package ingest

import (
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/outagewatch/outagewatch/detectors"
	"github.com/outagewatch/outagewatch/internal/spangen"
)

func callsOf(provider string, n int) []detectors.Call {
	calls := make([]detectors.Call, n)
	for i := range calls {
		calls[i] = detectors.Call{Provider: provider, Model: "m"}
	}
	return calls
}

func TestFreshnessRates(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 6, 20, 14, 0, 0, 0, time.UTC)
	f := newFreshness(t0, 32)

	got := f.snapshot(t0.Add(time.Minute))
	require.Equal(t, Freshness{Start: t0, Providers: []ProviderFreshness{}}, got, "nothing arrived: zero times, no rate")

	// Ten seconds of 10 calls/s to anthropic and 2 to openai, one batch a second.
	for i := range 10 {
		at := t0.Add(time.Duration(i) * time.Second)
		f.calls(at, append(callsOf("anthropic", 10), callsOf("openai", 2)...))
	}
	last := t0.Add(9 * time.Second)
	got = f.snapshot(last.Add(time.Second))
	require.InDelta(t, 12, got.CallsPerSecond, 1e-9, "under a minute in, the rate is over the time since the first call")
	require.Equal(t, []ProviderFreshness{
		{Provider: "anthropic", LastCall: last, CallsPerSecond: 10},
		{Provider: "openai", LastCall: last, CallsPerSecond: 2},
	}, got.Providers)

	// Then openai alone, at 2 calls/s, for two minutes: anthropic's rate falls to 0 once its
	// calls leave the window, while its last call stays.
	for i := range 120 {
		f.calls(t0.Add(time.Duration(10+i)*time.Second), callsOf("openai", 2))
	}
	now := t0.Add(130 * time.Second)
	got = f.snapshot(now)
	require.InDelta(t, 2, got.CallsPerSecond, 1e-9)
	require.Equal(t, []ProviderFreshness{
		{Provider: "anthropic", LastCall: last, CallsPerSecond: 0},
		{Provider: "openai", LastCall: now.Add(-time.Second), CallsPerSecond: 2},
	}, got.Providers)

	// Half a minute of silence halves the rate; a whole minute empties it.
	require.InDelta(t, 1, f.snapshot(now.Add(29*time.Second)).CallsPerSecond, 0.05)
	require.Zero(t, f.snapshot(now.Add(time.Minute)).CallsPerSecond)
	require.Zero(t, f.snapshot(now.Add(time.Hour)).CallsPerSecond)

	// A batch after an hour's silence starts afresh: the old buckets are gone.
	late := now.Add(time.Hour)
	f.calls(late, callsOf("openai", 6))
	require.InDelta(t, 6.0/59, f.snapshot(late).CallsPerSecond, 1e-9, "6 calls in the 59 s the buckets cover")
}

func TestFreshnessLastSpanOnlyMovesForward(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 6, 20, 14, 0, 0, 0, time.UTC)
	f := newFreshness(t0, 32)
	f.span(t0.Add(2 * time.Second))
	f.span(t0.Add(time.Second)) // a receiver that read its clock earlier publishes later
	require.Equal(t, t0.Add(2*time.Second), f.snapshot(t0.Add(3*time.Second)).LastSpan)
}

func TestFreshnessIsBounded(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 6, 20, 14, 0, 0, 0, time.UTC)
	const maxProviders = 4
	f := newFreshness(t0, maxProviders)
	for i := range 1000 {
		f.calls(t0, callsOf("p"+strconv.Itoa(i), 1))
	}
	got := f.snapshot(t0.Add(time.Second))
	require.Len(t, got.Providers, maxProviders+1, "ingest's cap and \"other\"")
	require.InDelta(t, 1000, got.CallsPerSecond, 1e-9, "every call counts in the total")
	for _, p := range got.Providers {
		require.Contains(t, []string{"p0", "p1", "p2", "p3", "p4"}, p.Provider, "the first come keep their place")
	}
}

// TestPipelineFreshness sends spans through the pipeline: any span moves the last span's time,
// LLM calls move the providers', and the metric follows.
func TestPipelineFreshness(t *testing.T) {
	t.Parallel()
	var clock time.Time
	clockAt := func(d time.Duration) { clock = time.Date(2026, 6, 20, 14, 0, 0, 0, time.UTC).Add(d) }
	clockAt(0)
	reg := prometheus.NewPedanticRegistry()
	p, err := NewPipeline(DefaultConfig(), ConsumerFunc(func([]detectors.Call) {}), reg,
		slog.New(slog.NewTextHandler(io.Discard, nil)), PipelineOptions{Now: func() time.Time { return clock }})
	require.NoError(t, err)
	require.True(t, p.Freshness(clock).LastSpan.IsZero())
	require.Zero(t, metricValue(t, reg, "outagewatch_ingest_last_span_timestamp_seconds"))

	// Spans that are no LLM call: the last span moves, no provider appears.
	clockAt(time.Second)
	_, err = p.SubmitProto("http", spangen.MarshalProto(spangen.MixedBatch(64, 0, 1)))
	require.NoError(t, err)
	got := p.Freshness(clock)
	require.Equal(t, clock, got.LastSpan)
	require.Empty(t, got.Providers)
	require.InDelta(t, float64(clock.Unix()), metricValue(t, reg, "outagewatch_ingest_last_span_timestamp_seconds"), 1e-6)

	// LLM calls: assembled and handed on by the pipeline goroutine's code.
	clockAt(2 * time.Second)
	_, err = p.SubmitProto("http", spangen.MarshalProto(spangen.GenAIBatch(32, 1)))
	require.NoError(t, err)
	var calls []detectors.Call
	for len(p.queue) > 0 {
		calls = p.process(<-p.queue, calls[:0])
		p.deliver(calls)
	}
	got = p.Freshness(clock)
	require.Equal(t, clock, got.LastSpan)
	require.NotEmpty(t, got.Providers)
	total := 0.0
	for _, pf := range got.Providers {
		require.Equal(t, clock, pf.LastCall, pf.Provider)
		total += pf.CallsPerSecond
	}
	require.Positive(t, got.CallsPerSecond)
	require.InDelta(t, got.CallsPerSecond, total, 1e-9)
}

// metricValue is the value of the unlabelled gauge or counter name in reg.
func metricValue(tb testing.TB, reg *prometheus.Registry, name string) float64 {
	tb.Helper()
	mfs, err := reg.Gather()
	require.NoError(tb, err)
	for _, mf := range mfs {
		if mf.GetName() == name {
			m := mf.GetMetric()[0]
			if c := m.GetCounter(); c != nil {
				return c.GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	tb.Fatalf("metric %s not registered", name)
	return 0
}

// BenchmarkFreshnessBatch512 is the pipeline goroutine's cost of counting a batch of 512 calls
// of 4 providers (the way batches come: runs of the same provider).
func BenchmarkFreshnessBatch512(b *testing.B) {
	f := newFreshness(time.Now(), 32)
	var calls []detectors.Call
	for i := range 4 {
		calls = append(calls, callsOf(fmt.Sprintf("provider-%d", i), 128)...)
	}
	t := time.Now()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		f.calls(t.Add(time.Duration(i)*time.Millisecond), calls)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(calls)), "ns/call")
}
