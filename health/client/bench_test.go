package client

import (
	"fmt"
	"testing"
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
