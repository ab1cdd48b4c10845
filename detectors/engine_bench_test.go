package detectors

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"
)

// BenchmarkObserve measures the engine's cost per call on warmed-up series: 2% errors, a mix
// of streaming calls with TTFT and non-streaming ones with tokens, over 50 models.
func BenchmarkObserve(b *testing.B) {
	e, err := NewEngine(DefaultConfig())
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	models := make([]string, 50)
	for i := range models {
		models[i] = fmt.Sprintf("model-%d", i)
	}
	calls := make([]Call, 4096)
	for i := range calls {
		c := Call{Provider: "anthropic", Model: models[i%len(models)], Outcome: OutcomeOK, RequestID: uint64(i + 1),
			Duration: time.Duration(500+rng.IntN(3000)) * time.Millisecond, OutputTokens: 200}
		if i%2 == 0 {
			c.Streaming, c.TTFT = true, time.Duration(200+rng.IntN(400))*time.Millisecond
		}
		if rng.Float64() < 0.02 {
			c.Outcome, c.ErrorClass = OutcomeError, ClassOverloaded
		}
		calls[i] = c
	}
	now := t0
	var out []Transition
	// Warm up: two hours at 100 calls/s.
	for i := 0; i < 720_000; i++ {
		now = now.Add(10 * time.Millisecond)
		out = e.Observe(now, &calls[i%len(calls)], out[:0])
		if i%100 == 0 {
			out = e.Tick(now, out[:0])
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		now = now.Add(10 * time.Millisecond)
		out = e.Observe(now, &calls[i%len(calls)], out[:0])
	}
}

// BenchmarkSeriesMemory reports the heap held per series.
func BenchmarkSeriesMemory(b *testing.B) {
	for i := 0; i < b.N; i++ {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		cfg := DefaultConfig()
		cfg.Limits = Limits{MaxProviders: 100, MaxModelsPerProvider: 1000} // above the 20 × 100 below
		e, _ := NewEngine(cfg)
		const n = 2000
		now := t0
		var out []Transition
		for j := 0; j < n; j++ {
			c := Call{Provider: fmt.Sprintf("p%d", j%20), Model: fmt.Sprintf("m%d", j), Outcome: OutcomeOK, Streaming: true, TTFT: time.Second, Duration: 2 * time.Second, OutputTokens: 10}
			out = e.Observe(now, &c, out[:0])
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(len(e.ordered)), "B/series")
		runtime.KeepAlive(e)
	}
}
