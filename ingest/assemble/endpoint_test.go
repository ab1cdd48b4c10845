package assemble

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/outagewatch/outagewatch/detectors"
	"github.com/outagewatch/outagewatch/ingest/normalize"
)

// TestEndpointFromAttempts: an LLM span that names no endpoint takes its last attempt's; one
// that names its own keeps it (issue 18).
func TestEndpointFromAttempts(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, own, want string }{
		{"the last attempt's host", "", "eu.api.example.com"},
		{"the span's own server.address", "gateway.internal", "gateway.internal"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			now := time.Unix(1_782_000_000, 0)
			llm := normalize.SpanKey{1}
			attempt := func(end int64, host string) normalize.Record {
				return normalize.Record{
					Attempt: true, Self: normalize.SpanKey{byte(end)}, Parent: llm, HasParent: true, End: end,
					Call: detectors.Call{Provider: "openai", Source: detectors.SourceAttempt, Endpoint: host},
				}
			}
			recs := []normalize.Record{
				attempt(1, "us.api.example.com"),
				attempt(2, "eu.api.example.com"),
				{Self: llm, End: 3, Call: detectors.Call{Provider: "openai", Model: "gpt-4.1", Endpoint: tc.own}},
			}
			a := New(Config{Wait: time.Second, MaxProviders: 10, MaxModels: 10})
			calls := a.Add(now, recs, nil)
			require.Len(t, calls, 1)
			require.Equal(t, tc.want, calls[0].Endpoint)
			require.Equal(t, 2, calls[0].Attempts)
		})
	}
}
