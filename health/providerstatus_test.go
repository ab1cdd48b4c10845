package health

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/outagewatch/outagewatch/detectors"
	"github.com/outagewatch/outagewatch/vendorstatus"
)

// fakeVendor is a VendorStatusSource over a fixed map (read only, so safe for concurrent use).
type fakeVendor map[string]vendorstatus.Status

func (f fakeVendor) VendorStatus(provider string) (vendorstatus.Status, bool) {
	s, ok := f[provider]
	return s, ok
}

var (
	postedAt   = t0.Add(7 * time.Minute)
	sonnetPost = vendorstatus.Incident{
		ID: "inc-1", Name: "Elevated errors on Claude Sonnet", Status: "investigating", Impact: "major",
		URL: "https://status.anthropic.com/incidents/inc-1", CreatedAt: postedAt, UpdatedAt: postedAt,
	}
	resolvedPost = vendorstatus.Incident{
		ID: "inc-0", Name: "Slow responses yesterday", Status: "resolved", Impact: "minor",
		CreatedAt: t0.Add(-20 * time.Hour), ResolvedAt: t0.Add(-19 * time.Hour),
	}
)

// incidentPage is a page reporting an open incident (and one resolved earlier).
func incidentPage(provider string) vendorstatus.Status {
	return vendorstatus.Status{
		Provider: provider, Page: "https://status.example.com/" + provider, Indicator: vendorstatus.IndicatorMajor,
		Description: "Partial System Outage", Incidents: []vendorstatus.Incident{sonnetPost, resolvedPost},
		CheckedAt: t0.Add(9 * time.Minute), FetchedAt: t0.Add(9 * time.Minute),
	}
}

// operationalPage is a page saying all is well.
func operationalPage(provider string) vendorstatus.Status {
	return vendorstatus.Status{
		Provider: provider, Page: "https://status.example.com/" + provider, Indicator: vendorstatus.IndicatorNone,
		Description: "All Systems Operational", Incidents: []vendorstatus.Incident{resolvedPost},
		CheckedAt: t0.Add(9 * time.Minute), FetchedAt: t0.Add(9 * time.Minute),
	}
}

// unreadablePage is a page whose last read failed; it was never read.
func unreadablePage(provider string) vendorstatus.Status {
	return vendorstatus.Status{
		Provider: provider, Page: "https://status.example.com/" + provider, Indicator: vendorstatus.IndicatorUnknown,
		CheckedAt: t0.Add(9 * time.Minute), Error: "GET https://status.example.com/api/v2/summary.json: timeout",
	}
}

func TestVendorNote(t *testing.T) {
	t.Parallel()
	maintenance := operationalPage("p")
	maintenance.Indicator, maintenance.Description = vendorstatus.IndicatorMaintenance, "Scheduled maintenance"
	componentOnly := operationalPage("p")
	componentOnly.Indicator, componentOnly.Description = vendorstatus.IndicatorMinor, "Minor Service Outage"
	noError := unreadablePage("p")
	noError.Error = ""
	for _, tc := range []struct {
		name      string
		ours      detectors.State
		page      vendorstatus.Status
		note      string
		disagrees bool
	}{
		{"an incident, healthy traffic", detectors.StateHealthy, incidentPage("p"), "provider reports an incident; your traffic is healthy", true},
		{"an incident confirms down", detectors.StateDown, incidentPage("p"), "provider confirms: Elevated errors on Claude Sonnet", false},
		{"an incident confirms degraded", detectors.StateDegraded, incidentPage("p"), "provider confirms: Elevated errors on Claude Sonnet", false},
		{"a degraded component without an incident confirms", detectors.StateDown, componentOnly, "provider confirms: Minor Service Outage", false},
		{"down, the page all operational", detectors.StateDown, operationalPage("p"), "not on the provider's status page yet", true},
		{"degraded, the page all operational", detectors.StateDegraded, operationalPage("p"), "not on the provider's status page yet", true},
		{"both well", detectors.StateHealthy, operationalPage("p"), "", false},
		{"maintenance is no incident for healthy traffic", detectors.StateHealthy, maintenance, "", false},
		{"maintenance while down", detectors.StateDown, maintenance, "provider confirms: Scheduled maintenance", false},
		{"no traffic to compare", detectors.StateUnknown, incidentPage("p"), "", false},
		{"unreadable", detectors.StateDown, unreadablePage("p"), "provider status unknown: GET https://status.example.com/api/v2/summary.json: timeout", false},
		{"unreadable, healthy", detectors.StateHealthy, unreadablePage("p"), "provider status unknown: GET https://status.example.com/api/v2/summary.json: timeout", false},
		{"unreadable without an error", detectors.StateHealthy, noError, "provider status unknown", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			note, disagrees := VendorNote(tc.ours, tc.page)
			require.Equal(t, tc.note, note)
			require.Equal(t, tc.disagrees, disagrees)
		})
	}
}

// rawProviderStatus is the "provider_status" object as a client reads it.
type rawProviderStatus struct {
	Indicator   string  `json:"indicator"`
	Description string  `json:"description"`
	Page        string  `json:"page"`
	CheckedAt   string  `json:"checked_at"`
	FetchedAt   *string `json:"fetched_at"`
	Error       string  `json:"error"`
	Note        string  `json:"note"`
	Incidents   []struct {
		Name      string `json:"name"`
		Status    string `json:"status"`
		Impact    string `json:"impact"`
		URL       string `json:"url"`
		CreatedAt string `json:"created_at"`
	} `json:"incidents"`
}

// vendorAnswer is what the per-series answers say, with the object and without.
type vendorAnswer struct {
	State          string             `json:"state"`
	Usable         bool               `json:"usable"`
	Reasons        []Reason           `json:"reasons"`
	ProviderStatus *rawProviderStatus `json:"provider_status"`
}

func serveVendor(tb testing.TB, b *Board, src VendorStatusSource) string {
	tb.Helper()
	mux := http.NewServeMux()
	NewAPI(b, HTTPOptions{Now: func() time.Time { return t0 }, VendorStatus: src}).Register(mux)
	srv := httptest.NewServer(mux)
	tb.Cleanup(srv.Close)
	return srv.URL
}

// The fixture: anthropic degraded (a model down), aws.bedrock and gcp.gemini healthy.
func TestProviderStatusBesideTheVerdict(t *testing.T) {
	t.Parallel()
	b, _ := fixture()
	src := fakeVendor{
		"aws.bedrock": incidentPage("aws.bedrock"), // an incident while our traffic is healthy
		"anthropic":   operationalPage("anthropic"),
		"gcp.gemini":  unreadablePage("gcp.gemini"),
	}
	with, without := serveVendor(t, b, src), serveVendor(t, b, nil)

	read := func(url string) (int, vendorAnswer) {
		t.Helper()
		resp, body := get(t, url)
		var a vendorAnswer
		require.NoError(t, json.Unmarshal(body, &a), "%s", body)
		return resp.StatusCode, a
	}
	t.Run("an incident with healthy traffic is still 200 and usable", func(t *testing.T) {
		t.Parallel()
		code, a := read(with + "/v1/health/aws.bedrock")
		require.Equal(t, http.StatusOK, code)
		require.Equal(t, "healthy", a.State)
		require.True(t, a.Usable)
		ps := a.ProviderStatus
		require.NotNil(t, ps)
		require.Equal(t, rawProviderStatus{
			Indicator: "major", Description: "Partial System Outage", Page: "https://status.example.com/aws.bedrock",
			CheckedAt: "2026-06-20T14:09:00Z", FetchedAt: ptr("2026-06-20T14:09:00Z"),
			Note:      "provider reports an incident; your traffic is healthy",
			Incidents: ps.Incidents,
		}, *ps)
		require.Len(t, ps.Incidents, 1, "the open ones only")
		require.Equal(t, "Elevated errors on Claude Sonnet", ps.Incidents[0].Name)
		require.Equal(t, "investigating", ps.Incidents[0].Status)
		require.Equal(t, "major", ps.Incidents[0].Impact)
		require.Equal(t, "https://status.anthropic.com/incidents/inc-1", ps.Incidents[0].URL)
		require.Equal(t, "2026-06-20T14:07:00Z", ps.Incidents[0].CreatedAt)
	})
	t.Run("the page changes no answer", func(t *testing.T) {
		t.Parallel()
		for _, path := range []string{
			"/v1/health/aws.bedrock", "/v1/health/anthropic", "/v1/health/gcp.gemini",
			"/v1/health/anthropic/claude-sonnet-4-5", "/v1/health/aws.bedrock/anthropic.claude-3-5-sonnet-20240620-v1:0",
			"/v1/health/gcp.gemini/models/gemini-2.5-flash", "/v1/health/anthropic?fail_degraded=1",
		} {
			code, a := read(with + path)
			plainCode, plain := read(without + path)
			require.Equal(t, plainCode, code, path)
			require.NotNil(t, a.ProviderStatus, path)
			require.Nil(t, plain.ProviderStatus, "%s: no object without a source", path)
			a.ProviderStatus = nil
			require.Equal(t, plain, a, path)
		}
	})
	t.Run("down, the page all operational", func(t *testing.T) {
		t.Parallel()
		code, a := read(with + "/v1/health/anthropic/claude-sonnet-4-5")
		require.Equal(t, http.StatusServiceUnavailable, code)
		require.Equal(t, "not on the provider's status page yet", a.ProviderStatus.Note, "beside the model's own state")
		require.Empty(t, a.ProviderStatus.Incidents)
		require.NotNil(t, a.ProviderStatus.Incidents, "[] rather than null")
		_, p := read(with + "/v1/health/anthropic")
		require.Equal(t, "not on the provider's status page yet", p.ProviderStatus.Note, "anthropic is degraded")
	})
	t.Run("unknown", func(t *testing.T) {
		t.Parallel()
		_, a := read(with + "/v1/health/gcp.gemini")
		require.Equal(t, "unknown", a.ProviderStatus.Indicator)
		require.Nil(t, a.ProviderStatus.FetchedAt, "never read")
		require.Equal(t, "GET https://status.example.com/api/v2/summary.json: timeout", a.ProviderStatus.Error)
		require.Equal(t, "provider status unknown: GET https://status.example.com/api/v2/summary.json: timeout", a.ProviderStatus.Note)
	})
	t.Run("on every provider of the list, beside the caller's view", func(t *testing.T) {
		t.Parallel()
		resp, body := get(t, with+"/v1/health")
		require.Equal(t, http.StatusOK, resp.StatusCode)
		var rep struct {
			Providers []struct {
				Provider       string             `json:"provider"`
				State          string             `json:"state"`
				ProviderStatus *rawProviderStatus `json:"provider_status"`
			} `json:"providers"`
		}
		require.NoError(t, json.Unmarshal(body, &rep))
		notes := map[string]string{}
		for _, p := range rep.Providers {
			require.NotNil(t, p.ProviderStatus, p.Provider)
			notes[p.Provider] = p.ProviderStatus.Note
		}
		require.Equal(t, map[string]string{
			"anthropic":   "not on the provider's status page yet",
			"aws.bedrock": "provider reports an incident; your traffic is healthy",
			"gcp.gemini":  "provider status unknown: GET https://status.example.com/api/v2/summary.json: timeout",
		}, notes)
	})
	t.Run("absent for a provider without a status", func(t *testing.T) {
		t.Parallel()
		partial := serveVendor(t, b, fakeVendor{"anthropic": incidentPage("anthropic")})
		_, a := read(partial + "/v1/health/aws.bedrock")
		require.Nil(t, a.ProviderStatus)
		resp, body := get(t, partial+"/v1/health/aws.bedrock")
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.NotContains(t, string(body), "provider_status")
		_, c := read(partial + "/v1/health/anthropic")
		require.Equal(t, "provider confirms: Elevated errors on Claude Sonnet", c.ProviderStatus.Note)
	})
	t.Run("gRPC answers the board's verdict alone", func(t *testing.T) {
		t.Parallel()
		// The page is never consulted by the gRPC service; this pins it.
		conn, err := grpc.NewClient(startGRPC(t, b), grpc.WithTransportCredentials(insecure.NewCredentials()))
		require.NoError(t, err)
		defer conn.Close()
		resp, err := healthpb.NewHealthClient(conn).Check(context.Background(), &healthpb.HealthCheckRequest{Service: "aws.bedrock"})
		require.NoError(t, err)
		require.Equal(t, healthpb.HealthCheckResponse_SERVING, resp.GetStatus())
	})
}

// A page that changes shows within a second
// (answers are cached for the second, as with ingest's freshness).
func TestProviderStatusFollowsThePageWithinASecond(t *testing.T) {
	t.Parallel()
	b, _ := fixture()
	clock := t0
	var page vendorstatus.Status
	src := VendorStatusSourceFunc(func(provider string) (vendorstatus.Status, bool) {
		return page, provider == "aws.bedrock"
	})
	mux := http.NewServeMux()
	a := NewAPI(b, HTTPOptions{Now: func() time.Time { return clock }, VendorStatus: src})
	a.Register(mux)
	note := func() string {
		t.Helper()
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/v1/health/aws.bedrock", nil))
		require.Equal(t, http.StatusOK, rec.Code)
		var v vendorAnswer
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &v))
		return v.ProviderStatus.Note
	}
	page = operationalPage("aws.bedrock")
	require.Empty(t, note())
	page = incidentPage("aws.bedrock")
	require.Empty(t, note(), "cached for the second")
	clock = clock.Add(time.Second)
	require.Equal(t, "provider reports an incident; your traffic is healthy", note())
}

func ptr[T any](v T) *T { return &v }
