package health

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// fakeIngest is a FreshnessSource that the test feeds with arrivals.
type fakeIngest struct {
	mu    sync.Mutex
	f     Freshness
	reads atomic.Int64
}

func (fi *fakeIngest) Freshness(time.Time) Freshness {
	fi.reads.Add(1)
	fi.mu.Lock()
	defer fi.mu.Unlock()
	out := fi.f
	out.Providers = append([]ProviderFreshness(nil), fi.f.Providers...)
	return out
}

// arrive records spans at t and calls of provider at rate.
func (fi *fakeIngest) arrive(t time.Time, provider string, rate float64) {
	fi.mu.Lock()
	defer fi.mu.Unlock()
	fi.f.LastSpan, fi.f.CallsPerSecond = t, rate
	fi.f.Providers = []ProviderFreshness{{Provider: provider, LastCall: t, CallsPerSecond: rate}}
}

// rawIngest is the "ingest" object as JSON values, to check nulls and names as a client reads them.
type rawIngest struct {
	Ingest *struct {
		LastSpanAt         *string  `json:"last_span_at"`
		LastSpanSecondsAgo *float64 `json:"last_span_seconds_ago"`
		CallsPerSecond     *float64 `json:"calls_per_second"`
		Providers          []struct {
			Provider           string   `json:"provider"`
			LastCallAt         *string  `json:"last_call_at"`
			LastCallSecondsAgo *float64 `json:"last_call_seconds_ago"`
			CallsPerSecond     *float64 `json:"calls_per_second"`
		} `json:"providers"`
	} `json:"ingest"`
}

func TestListCarriesIngestFreshness(t *testing.T) {
	t.Parallel()
	b, _ := fixture()
	var clock atomic.Int64
	clock.Store(t0.UnixNano())
	now := func() time.Time { return time.Unix(0, clock.Load()).UTC() }
	src := &fakeIngest{f: Freshness{Start: t0}}
	mux := http.NewServeMux()
	NewAPI(b, HTTPOptions{Now: now, Freshness: src}).Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	read := func() (rawIngest, string) {
		t.Helper()
		resp, body := get(t, srv.URL+"/v1/health")
		require.Equal(t, http.StatusOK, resp.StatusCode)
		var r rawIngest
		require.NoError(t, json.Unmarshal(body, &r))
		require.NotNil(t, r.Ingest, "the ingest object: %s", body)
		return r, resp.Header.Get("ETag")
	}

	// Nothing has arrived: null times, a zero rate, no providers; never "healthy"-looking.
	r, tag := read()
	require.Nil(t, r.Ingest.LastSpanAt)
	require.Nil(t, r.Ingest.LastSpanSecondsAgo)
	require.NotNil(t, r.Ingest.CallsPerSecond)
	require.Zero(t, *r.Ingest.CallsPerSecond)
	require.NotNil(t, r.Ingest.Providers)
	require.Empty(t, r.Ingest.Providers)
	require.Equal(t, `W/"1"`, tag)

	// Spans arrive: the next second's answer shows them.
	src.arrive(t0.Add(500*time.Millisecond), "anthropic", 4.25)
	clock.Store(t0.Add(1500 * time.Millisecond).UnixNano())
	r, tag = read()
	require.Equal(t, "2026-06-20T14:00:00.5Z", *r.Ingest.LastSpanAt)
	require.InDelta(t, 1.0, *r.Ingest.LastSpanSecondsAgo, 1e-9)
	require.InDelta(t, 4.25, *r.Ingest.CallsPerSecond, 1e-9)
	require.Len(t, r.Ingest.Providers, 1)
	p := r.Ingest.Providers[0]
	require.Equal(t, "anthropic", p.Provider)
	require.Equal(t, "2026-06-20T14:00:00.5Z", *p.LastCallAt)
	require.InDelta(t, 1.0, *p.LastCallSecondsAgo, 1e-9)
	require.InDelta(t, 4.25, *p.CallsPerSecond, 1e-9)
	require.Equal(t, `W/"1"`, tag, "the ETag follows states, not figures")

	// Nothing more arrives: the figures age; the ETag still says no state changed.
	clock.Store(t0.Add(91500 * time.Millisecond).UnixNano())
	src.arrive(t0.Add(500*time.Millisecond), "anthropic", 0)
	r, _ = read()
	require.InDelta(t, 91.0, *r.Ingest.LastSpanSecondsAgo, 1e-9)
	require.InDelta(t, 91.0, *r.Ingest.Providers[0].LastCallSecondsAgo, 1e-9)
	require.Zero(t, *r.Ingest.Providers[0].CallsPerSecond)
	resp, _ := get(t, srv.URL+"/v1/health", "If-None-Match", `W/"1"`)
	require.Equal(t, http.StatusNotModified, resp.StatusCode)

	// Within one second the answer is cached: the source is read once a second, not per request.
	before := src.reads.Load()
	for range 20 {
		read()
	}
	require.Equal(t, before, src.reads.Load())

	// The stream's snapshot carries it too.
	s, stop := openStream(t, srv.URL+"/v1/health/stream", "")
	defer stop()
	ev := s.next(t)
	require.Equal(t, "snapshot", ev.event)
	var snap rawIngest
	require.NoError(t, json.Unmarshal([]byte(ev.data), &snap))
	require.NotNil(t, snap.Ingest)
	require.InDelta(t, 91.0, *snap.Ingest.LastSpanSecondsAgo, 1e-9)
}

func TestListWithoutFreshnessSource(t *testing.T) {
	t.Parallel()
	b, _ := fixture()
	srv := serve(t, b, time.Second)
	_, body := get(t, srv.URL+"/v1/health")
	var m map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(body, &m))
	require.NotContains(t, m, "ingest")
	require.Contains(t, m, "providers")
}
