package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/outagewatch/outagewatch/health"
	"github.com/outagewatch/outagewatch/internal/statusfake"
)

// providerStatus fetches /v1/health/anthropic: its code and its provider_status object.
func providerStatus(t *testing.T, d *daemon) (int, *health.ProviderStatusView) {
	t.Helper()
	code, body := get(t, d.api()+"/v1/health/anthropic")
	var v struct {
		ProviderStatus *health.ProviderStatusView `json:"provider_status"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &v), body)
	return code, v.ProviderStatus
}

// TestProviderStatusBesideTheVerdict runs the daemon against a fake Statuspage page of
// anthropic that changes over time (issue 25): an incident the provider posts while our traffic
// is healthy is shown as such and changes no answer; an outage outagewatch detects first, which
// the provider posts later, is linked to our incident with its lead time stored and measured; a
// page that turns unreadable is unknown with its reason and changes nothing else.
func TestProviderStatusBesideTheVerdict(t *testing.T) {
	t.Parallel()
	page := statusfake.New(t, "Claude API")
	yaml := fastConfig + fmt.Sprintf(`
provider_status:
  interval: 1s
  timeout: 2s
  sources:
    - {provider: anthropic, format: statuspage, url: %q, page: "https://status.example.com"}
`, page.StatuspageURL())
	d := startDaemonWith(t, yaml, map[string]string{})
	defer d.stop(t)
	sendCalls(t, d, 15, false)

	// The provider reports an incident (posted three hours ago, beyond any link to ours) while
	// our traffic is healthy: beside our verdict, never instead of it.
	old := time.Now().Add(-3 * time.Hour)
	page.PostIncident(statusfake.Incident{ID: "old1", Name: "Elevated errors on Claude Haiku", Status: "investigating",
		Impact: "minor", Components: []string{"Claude API"}, CreatedAt: old, UpdatedAt: old})
	page.SetComponent("Claude API", statusfake.DegradedPerformance)
	require.Eventually(t, func() bool {
		code, ps := providerStatus(t, d)
		return code == http.StatusOK && ps != nil && ps.Note == "provider reports an incident; your traffic is healthy" &&
			len(ps.Incidents) == 1 && ps.Incidents[0].Name == "Elevated errors on Claude Haiku"
	}, 20*time.Second, 50*time.Millisecond, "the provider's incident beside a healthy verdict")
	page.UpdateIncident("old1", "resolved", time.Now())
	page.SetComponent("Claude API", statusfake.Operational)

	// The outage: outagewatch detects it; the provider posts it later.
	outage(t, d)
	require.Eventually(t, func() bool { return len(incidentList(t, d, "?state=active")) == 1 }, 10*time.Second, 50*time.Millisecond)
	inc := incidentList(t, d, "?state=active")[0]
	detected := incidentByID(t, d, inc.ID).Timeline[0].At
	posted := time.Now().Add(2 * time.Second).Truncate(time.Second) // the page's times are in seconds
	page.PostIncident(statusfake.Incident{ID: "new1", Name: "Elevated errors on Claude Sonnet", Status: "investigating",
		Impact: "major", Components: []string{"Claude API"}, CreatedAt: posted, UpdatedAt: posted})
	var view timelineView
	require.Eventually(t, func() bool {
		view = incidentByID(t, d, inc.ID)
		return view.Vendor != nil
	}, 20*time.Second, 50*time.Millisecond, "the provider's post linked to our incident")
	require.Equal(t, "new1", view.Vendor.ID)
	require.Equal(t, "Elevated errors on Claude Sonnet", view.Vendor.Name)
	require.NotNil(t, view.Vendor.LeadSeconds)
	require.InDelta(t, posted.Sub(detected).Seconds(), *view.Vendor.LeadSeconds, 1, "lead: the post minus our detection")
	require.Positive(t, *view.Vendor.LeadSeconds, "outagewatch was first")
	kinds := map[string]int{}
	for _, e := range view.Timeline {
		kinds[string(e.Kind)]++
	}
	require.Equal(t, 1, kinds["vendor_posted"], "one vendor_posted event across the polls")
	// The lead is observed once the link is stored.
	require.Eventually(t, func() bool {
		return strings.Contains(scrape(t, d), "\noutagewatch_provider_status_lead_seconds_count 1\n")
	}, 10*time.Second, 20*time.Millisecond, "the lead observed once")
	code, ps := providerStatus(t, d)
	require.Equal(t, http.StatusServiceUnavailable, code)
	require.True(t, strings.HasPrefix(ps.Note, "provider confirms: "), ps.Note)

	// The page turns unreadable: unknown, with its reason; our verdict is untouched.
	page.SetFault(statusfake.Malformed)
	require.Eventually(t, func() bool {
		_, ps := providerStatus(t, d)
		return ps != nil && ps.Indicator == "unknown" && ps.Error != ""
	}, 20*time.Second, 50*time.Millisecond, "unknown after a malformed page")
	code, _ = providerStatus(t, d)
	require.Equal(t, http.StatusServiceUnavailable, code, "still our verdict: down")
	require.Contains(t, scrape(t, d), `outagewatch_provider_status_up{provider="anthropic"} 0`)
}
