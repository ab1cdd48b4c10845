package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// How fast otlpload can send is measured here, not asserted by the unit tests, whose figures
// depend on the machine: go test -run '^$' -bench . ./cmd/otlpload

// BenchmarkBuildRequests measures building and marshalling the request bodies, before a run.
func BenchmarkBuildRequests(b *testing.B) {
	cfg := config{SpansPerRequest: 512, LLMFraction: 0.5, Requests: 1, Seed: 1}
	now := time.Now()
	for b.Loop() {
		_, err := buildRequests(cfg, now)
		require.NoError(b, err)
	}
	b.ReportMetric(float64(b.N*cfg.SpansPerRequest)/b.Elapsed().Seconds(), "spans/s")
}

// BenchmarkSend measures one connection sending 512-span requests to the in-process fake
// receiver, over each protocol, as spans accepted per second (the fake refuses a request in
// four, as a loaded daemon might).
func BenchmarkSend(b *testing.B) {
	reqs, err := buildRequests(config{SpansPerRequest: 512, LLMFraction: 0.5, Requests: 8, Seed: 1}, time.Now())
	require.NoError(b, err)
	for _, p := range []struct {
		name  string
		start func(b *testing.B) sender
	}{
		{"grpc", func(b *testing.B) sender {
			s, err := newGRPCSender(b.Context(), startGRPC(b, &fakeReceiver{}), 1, connectTimeout)
			require.NoError(b, err)
			return s
		}},
		{"http", func(b *testing.B) sender { return newHTTPSender(startHTTP(b, &fakeReceiver{}), 1, false) }},
	} {
		b.Run(p.name, func(b *testing.B) {
			s := p.start(b)
			defer s.close()
			var spans int64
			i := 0
			for b.Loop() {
				r := reqs[i%len(reqs)]
				if o := s.send(b.Context(), 0, r); o.result == resultOK {
					spans += r.spans - o.rejected
				}
				i++
			}
			b.ReportMetric(float64(spans)/b.Elapsed().Seconds(), "spans/s")
		})
	}
}
