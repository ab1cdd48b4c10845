package client

import (
	"fmt"
	"runtime"
	"testing"
	"time"
)

// benchClient returns a client holding an answer of 32 providers with 16 models each.
func benchClient(b *testing.B) *Client {
	b.Helper()
	c, err := New("http://127.0.0.1:9317", Options{})
	if err != nil {
		b.Fatal(err)
	}
	rep := report{Version: 7}
	for p := range 32 {
		pr := providerReport{Provider: fmt.Sprintf("provider-%d", p), State: Healthy}
		for m := range 16 {
			pr.Models = append(pr.Models, modelReport{Model: fmt.Sprintf("models/model-%d-2025-06-01", m), State: Healthy})
		}
		rep.Providers = append(rep.Providers, pr)
	}
	rep.Providers = append(rep.Providers, providerReport{Provider: "anthropic", State: Healthy,
		Models: []modelReport{{Model: "claude-sonnet-4-5", State: Down}}})
	c.accept(&rep)
	return c
}

// BenchmarkUsable is the router's hot path: one call per request.
func BenchmarkUsable(b *testing.B) {
	c := benchClient(b)
	provider, model := "anthropic", "claude-sonnet-4-5"
	b.ReportAllocs()
	for b.Loop() {
		if c.Usable(provider, model) {
			b.Fatal("down model reported usable")
		}
	}
}

// BenchmarkUsableAbsentModel takes the slow path: a model the answer does not list, answered
// from its provider.
func BenchmarkUsableAbsentModel(b *testing.B) {
	c := benchClient(b)
	provider, model := "provider-3", "models/not-listed"
	b.ReportAllocs()
	for b.Loop() {
		if !c.Usable(provider, model) {
			b.Fatal("unknown model of a healthy provider reported unusable")
		}
	}
}

// BenchmarkUsableParallel asks from every core at once, as a busy router does.
func BenchmarkUsableParallel(b *testing.B) {
	c := benchClient(b)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if !c.Usable("provider-5", "models/model-9-2025-06-01") {
				b.Fatal("healthy model reported unusable")
			}
		}
	})
}

// BenchmarkLongPollDelivery measures the time from a state change on the server to Usable
// answering it, through the long-poll in flight (loopback HTTP). Target: well under 500 ms, the
// bound the unit tests used to assert; on loopback it is a fraction of a millisecond.
func BenchmarkLongPollDelivery(b *testing.B) {
	f := newFakeServer(b)
	f.set("anthropic", "claude-sonnet-4-5", Healthy)
	c := startClient(b, f, Options{Wait: 5 * time.Minute})
	var total time.Duration
	var waited int64 // long-polls that began to wait before the last change
	usable := true
	for b.Loop() {
		// A long-poll waits before the change, as a router's client does between changes.
		spin(b, func() bool { return f.waiting.Load() > waited }, "a long-poll waiting")
		waited = f.waiting.Load()
		state := Down
		if !usable {
			state = Healthy
		}
		start := time.Now()
		f.set("anthropic", "claude-sonnet-4-5", state)
		spin(b, func() bool { return c.Usable("anthropic", "claude-sonnet-4-5") != usable }, "the change")
		total += time.Since(start)
		usable = !usable
	}
	b.ReportMetric(float64(total.Microseconds())/float64(b.N), "µs/change")
}

// spin waits for cond without sleeping (a benchmark measures the wait), for at most hangGuard.
func spin(b *testing.B, cond func() bool, what string) {
	b.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > hangGuard {
			b.Fatalf("waited %s for %s", hangGuard, what)
		}
		runtime.Gosched()
	}
}
