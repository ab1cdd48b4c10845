package client

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/outagewatch/outagewatch/detectors"
	"github.com/outagewatch/outagewatch/health"
)

// TestClientAsACaller runs clients against the daemon's own health API (package health, over a
// board whose model has batch-jobs' local verdict down): batch-jobs' router finds the model
// unusable, checkout's and a router that names no caller find it usable; an endpoint's router
// likewise for an endpoint's verdict.
func TestClientAsACaller(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 6, 20, 14, 7, 0, 0, time.UTC)
	model := detectors.SeriesKey{Provider: "anthropic", Model: "claude-sonnet-4-5"}
	local := func(c detectors.Caller) detectors.Status {
		k := model
		k.Caller = c
		return detectors.Status{Series: k, State: detectors.StateDown, Since: at,
			Evidence: detectors.Evidence{Detector: detectors.DetectorErrorDown, Observed: 0.95, Baseline: 0.01, ConfinedTo: c}}
	}
	batch := detectors.Caller{Kind: detectors.CallerService, Name: "batch-jobs"}
	eu := detectors.Caller{Kind: detectors.CallerEndpoint, Name: "eu.api.example.com"}
	m := detectors.Status{Series: model, State: detectors.StateHealthy, Since: at, Local: []detectors.Status{local(batch), local(eu)}}
	p := detectors.Status{Series: detectors.SeriesKey{Provider: "anthropic"}, State: detectors.StateHealthy, Since: at}
	b := health.NewBoard()
	b.Update([]detectors.Status{p, m}, []detectors.Transition{{Series: model, To: detectors.StateHealthy, At: at}})
	mux := http.NewServeMux()
	health.NewAPI(b, health.HTTPOptions{}).Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	for _, tc := range []struct {
		name              string
		service, endpoint string
		usable            bool
	}{
		{"batch-jobs", "batch-jobs", "", false},
		{"checkout", "checkout", "", true},
		{"no caller", "", "", true},
		{"eu", "", "eu.api.example.com", false},
		{"us", "", "us.api.example.com", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			opts := testOptions()
			opts.Service, opts.Endpoint = tc.service, tc.endpoint
			c := startClient(t, &fakeServer{srv: srv}, opts)
			require.Equal(t, tc.usable, c.Usable("anthropic", "claude-sonnet-4-5"))
			require.True(t, c.Usable("anthropic", ""), "the provider stays usable")
		})
	}
}

func TestServiceAndEndpointAreExclusive(t *testing.T) {
	_, err := New("http://127.0.0.1:1", Options{Service: "a", Endpoint: "b"})
	require.ErrorContains(t, err, "at most one")
}
