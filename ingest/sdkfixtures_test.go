package ingest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/outagewatch/outagewatch/detectors"
	"github.com/outagewatch/outagewatch/ingest/assemble"
	"github.com/outagewatch/outagewatch/ingest/hosts"
	"github.com/outagewatch/outagewatch/ingest/wire"
	"github.com/outagewatch/outagewatch/internal/sdkfixtures"
)

// TestRecordedSDKsThroughAnUnknownHost replays the traces recorded from real SDK stacks (the
// official OpenAI and Anthropic SDKs with OpenLLMetry and OpenInference, internal/sdkfixtures)
// calling a fake provider on 127.0.0.1, a host that is no provider's, with no
// ingest.provider_hosts: good calls, then calls failing with HTTP 500, 529 and 429 whose LLM
// spans the instrumentations never export. Every SDK call is one call of the right provider,
// ok or failed as the fake provider answered it, the failures attributed from the hosts learned
// from the good calls.
func TestRecordedSDKsThroughAnUnknownHost(t *testing.T) {
	names, err := sdkfixtures.Scenarios()
	require.NoError(t, err)
	require.NotEmpty(t, names)
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			sc, err := sdkfixtures.Load(name)
			require.NoError(t, err)
			learned := hosts.New()
			a := assemble.New(assembleConfig(DefaultConfig(), learned))
			dec := newDecoder()
			// One request every 5 s, the OpenTelemetry SDK's export interval: attempts wait
			// for their LLM span across requests, as in a daemon.
			now := time.Unix(1_782_000_000, 0)
			var calls []detectors.Call
			for _, body := range sc.Requests {
				var b wire.Batch
				require.NoError(t, dec.DecodeProto(body, &b))
				calls = a.Add(now, b.Records, calls)
				now = now.Add(5 * time.Second)
				calls = a.Tick(now, calls)
			}
			calls = a.Flush(calls)

			type tally struct{ ok, failed int }
			want, got := map[string]tally{}, map[string]tally{}
			for _, ph := range sc.Phases {
				w := want[ph.Provider]
				w.ok += ph.Calls - ph.CallsFailed
				w.failed += ph.CallsFailed
				want[ph.Provider] = w
			}
			for _, c := range calls {
				g := got[c.Provider]
				if c.Outcome == detectors.OutcomeOK {
					g.ok++
				} else {
					g.failed++
				}
				got[c.Provider] = g
			}
			require.Equal(t, want, got, "one call per SDK call, of its provider, ok or failed as served")
			require.Zero(t, a.Stats().Unattributed, "no failing call left unattributed")
			for _, mp := range learned.List() {
				require.Equal(t, sc.Host, mp.Host)
				require.Contains(t, want, mp.Provider, "a learned route names the provider that served it")
			}
		})
	}
}
