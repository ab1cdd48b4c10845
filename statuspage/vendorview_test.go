package statuspage

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/outagewatch/outagewatch/detectors"
	"github.com/outagewatch/outagewatch/incidents"
	"github.com/outagewatch/outagewatch/vendorstatus"
)

// fakeVendor is a VendorStatusSource over a fixed map (read only: safe for concurrent use).
type fakeVendor map[string]vendorstatus.Status

func (f fakeVendor) VendorStatus(provider string) (vendorstatus.Status, bool) {
	s, ok := f[provider]
	return s, ok
}

// vendorPage is a provider's page read at now, with the given indicator and open incidents.
func vendorPage(provider string, ind vendorstatus.Indicator, open ...vendorstatus.Incident) vendorstatus.Status {
	return vendorstatus.Status{
		Provider: provider, Page: "https://status." + provider + ".com", Indicator: ind,
		Incidents: append(open, vendorstatus.Incident{ID: "old", Name: "Resolved yesterday", Status: "resolved",
			CreatedAt: now.Add(-26 * time.Hour), ResolvedAt: now.Add(-25 * time.Hour)}),
		CheckedAt: now, FetchedAt: now,
	}
}

func vendorIncident(name string, posted time.Time) vendorstatus.Incident {
	return vendorstatus.Incident{ID: name, Name: name, Status: "investigating", Impact: "major", CreatedAt: posted, UpdatedAt: posted}
}

// vendorBlock is the provider's vendor line and note, if any, in the page.
func vendorBlock(tb testing.TB, body, provider string) string {
	tb.Helper()
	b := seriesBlock(tb, body, provider, "")
	i := strings.Index(b, `<p class="vendor"`)
	if i < 0 {
		return ""
	}
	b = b[i:]
	return b[:strings.Index(b, `<p class="since"`)]
}

// The fixture board: anthropic down, openai healthy.
func TestIndexShowsTheProvidersOwnStatusPage(t *testing.T) {
	t.Parallel()
	posted := time.Date(2026, 6, 20, 14, 7, 0, 0, time.UTC)
	unreadable := vendorstatus.Status{Provider: "anthropic", Page: "https://status.anthropic.com", Indicator: vendorstatus.IndicatorUnknown,
		CheckedAt: now, Error: "GET https://status.anthropic.com/api/v2/summary.json: timeout"}
	for _, tc := range []struct {
		name, provider string
		page           vendorstatus.Status
		want           string
	}{
		{
			"healthy, the provider reports an incident", "openai",
			vendorPage("openai", vendorstatus.IndicatorMajor, vendorIncident("Elevated errors on GPT-4o", posted)),
			`<p class="vendor" data-role="vendor" data-indicator="major"><a href="https://status.openai.com">Status page: Partial outage — Elevated errors on GPT-4o (posted 14:07 UTC)</a></p>
<p class="vendor-note" data-role="vendor-note">provider reports an incident; your traffic is healthy</p>
`,
		},
		{
			"down, the provider confirms", "anthropic",
			vendorPage("anthropic", vendorstatus.IndicatorCritical, vendorIncident("Elevated errors on Claude Sonnet", posted),
				vendorIncident("Console unavailable", posted.Add(-time.Hour))),
			`<p class="vendor" data-role="vendor" data-indicator="critical"><a href="https://status.anthropic.com">Status page: Major outage — Elevated errors on Claude Sonnet (posted 14:07 UTC) and 1 more</a></p>
`,
		},
		{
			"down, the page all operational", "anthropic", vendorPage("anthropic", vendorstatus.IndicatorNone),
			`<p class="vendor" data-role="vendor" data-indicator="none"><a href="https://status.anthropic.com">Status page: all operational</a></p>
<p class="vendor-note" data-role="vendor-note">not on the provider&#39;s status page yet</p>
`,
		},
		{
			"unknown", "anthropic", unreadable,
			`<p class="vendor" data-role="vendor" data-indicator="unknown"><a href="https://status.anthropic.com" title="GET https://status.anthropic.com/api/v2/summary.json: timeout">Status page: unknown (timeout)</a></p>
`,
		},
		{
			"a degraded component without an incident", "openai", func() vendorstatus.Status {
				s := vendorPage("openai", vendorstatus.IndicatorMinor)
				s.Description = "Minor Service Outage"
				return s
			}(),
			`<p class="vendor" data-role="vendor" data-indicator="minor"><a href="https://status.openai.com">Status page: Degraded performance — Minor Service Outage</a></p>
<p class="vendor-note" data-role="vendor-note">provider reports an incident; your traffic is healthy</p>
`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := serve(t, fixtureIncidents(), fixtureSilences(), Options{VendorStatus: fakeVendor{tc.provider: tc.page}})
			resp, body := get(t, srv.URL+"/")
			require.Equal(t, http.StatusOK, resp.StatusCode)
			require.Equal(t, tc.want, vendorBlock(t, body, tc.provider))
			require.Equal(t, 1, strings.Count(body, `data-role="vendor"`), "one line, under its provider's header only")
			require.Contains(t, body, `6 series: 3 down, 1 degraded, 2 healthy.`, "the page changes no state")
		})
	}
}

func TestNoVendorLineWithoutAStatus(t *testing.T) {
	t.Parallel()
	for name, opts := range map[string]Options{
		"no source":                 {},
		"no status of the provider": {VendorStatus: fakeVendor{"mistral": vendorPage("mistral", vendorstatus.IndicatorNone)}},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv := serve(t, fixtureIncidents(), fixtureSilences(), opts)
			_, body := get(t, srv.URL+"/")
			require.NotContains(t, body, `data-role="vendor`)
		})
	}
}

func TestVendorLineEscapesThePagesText(t *testing.T) {
	t.Parallel()
	s := vendorPage("openai", vendorstatus.IndicatorMajor, vendorIncident(hostile, now))
	s.Page = "javascript:alert(4)"
	srv := serve(t, fixtureIncidents(), fixtureSilences(), Options{VendorStatus: fakeVendor{"openai": s}})
	_, body := get(t, srv.URL+"/")
	line := vendorBlock(t, body, "openai")
	require.Contains(t, line, `<a href="#ZgotmplZ">Status page: Partial outage — &lt;script&gt;alert(1)&lt;/script&gt; (posted 14:10 UTC)</a>`)
	require.NotContains(t, body, hostile)
	require.Equal(t, 1, strings.Count(body, "<script"))
}

func TestVendorLineOf(t *testing.T) {
	t.Parallel()
	yesterday := vendorPage("p", vendorstatus.IndicatorMajor, vendorIncident("Slow", now.Add(-20*time.Hour)))
	noPage := vendorPage("p", vendorstatus.IndicatorNone)
	noPage.Page = ""
	parseErr := vendorstatus.Status{Indicator: vendorstatus.IndicatorUnknown, Error: "parse: unexpected EOF"}
	odd := vendorPage("p", "bizarre")
	for name, tc := range map[string]struct {
		s    vendorstatus.Status
		ours detectors.State
		want vendorLine
	}{
		"posted another day": {yesterday, detectors.StateDown, vendorLine{Shown: true, Indicator: "major", Page: "https://status.p.com",
			Text: "Partial outage — Slow (posted 19 Jun 18:10 UTC)"}},
		"no page to link":       {noPage, detectors.StateHealthy, vendorLine{Shown: true, Indicator: "none", Text: "all operational"}},
		"an error of the parse": {parseErr, detectors.StateHealthy, vendorLine{Shown: true, Indicator: "unknown", Text: "unknown (parse: unexpected EOF)", Title: "parse: unexpected EOF"}},
		"an unknown indicator":  {odd, detectors.StateHealthy, vendorLine{Shown: true, Indicator: "unknown", Page: "https://status.p.com", Text: "bizarre"}},
		"our state unknown":     {yesterday, detectors.StateUnknown, vendorLine{Shown: true, Indicator: "major", Page: "https://status.p.com", Text: "Partial outage — Slow (posted 19 Jun 18:10 UTC)"}},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, vendorLineOf(tc.s, tc.ours, now))
		})
	}
}

func TestIncidentPageShowsTheProvidersPost(t *testing.T) {
	t.Parallel()
	q := fixtureIncidents()
	opened := q.incidents[0].OpenedAt // 14:03:01; its opening event is at the same time
	q.incidents[0].Vendor = incidents.VendorPost{ID: "yk2b", Name: "Elevated errors on Claude Sonnet",
		URL: "https://status.anthropic.com/incidents/yk2b", PostedAt: opened.Add(6*time.Minute + 10*time.Second)}
	srv := serve(t, q, fixtureSilences(), Options{})
	resp, body := get(t, srv.URL+"/incidents/7")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, body, `<div class="wide" data-role="vendor-post"><dt>provider’s status page</dt><dd>Provider posted “<a href="https://status.anthropic.com/incidents/yk2b">Elevated errors on Claude Sonnet</a>” at 14:09 UTC, 6 min after outagewatch detected it; still open there.</dd></div>`)
	_, index := get(t, srv.URL+"/")
	require.Contains(t, section(t, index, "incidents"), `<p class="vendor-post" data-role="vendor-post">Provider posted “<a href="https://status.anthropic.com/incidents/yk2b">Elevated errors on Claude Sonnet</a>” at 14:09 UTC, 6 min after outagewatch detected it; still open there.</p>`)

	_, other := get(t, srv.URL+"/incidents/6")
	require.NotContains(t, other, "vendor-post", "no post linked")
}

func TestVendorPostOf(t *testing.T) {
	t.Parallel()
	detected := time.Date(2026, 6, 20, 14, 7, 0, 0, time.UTC)
	opening := []incidents.Event{
		{Kind: incidents.EventOpened, At: detected},
		{Kind: incidents.EventVendorPosted, At: detected.Add(9 * time.Minute)},
	}
	inc := func(posted, vendorResolved, resolved time.Time) incidents.Incident {
		st := incidents.StateOpen
		if !resolved.IsZero() {
			st = incidents.StateResolved
		}
		return incidents.Incident{ID: 1, OpenedAt: detected.Add(3 * time.Second), State: st, ResolvedAt: resolved,
			Vendor: incidents.VendorPost{ID: "x", Name: "Elevated errors", PostedAt: posted, ResolvedAt: vendorResolved}}
	}
	for name, tc := range map[string]struct {
		inc    incidents.Incident
		events []incidents.Event
		want   vendorPost
	}{
		"after": {inc(detected.Add(6*time.Minute), time.Time{}, time.Time{}), opening,
			vendorPost{Name: "Elevated errors", Posted: "at 14:13 UTC, 6 min after outagewatch detected it", Resolved: "still open there"}},
		"before": {inc(detected.Add(-4*time.Minute), time.Time{}, time.Time{}), opening,
			vendorPost{Name: "Elevated errors", Posted: "at 14:03 UTC, 4 min before outagewatch detected it", Resolved: "still open there"}},
		"within a minute": {inc(detected.Add(20*time.Second), time.Time{}, time.Time{}), opening,
			vendorPost{Name: "Elevated errors", Posted: "at 14:07 UTC, within a minute of outagewatch’s detection", Resolved: "still open there"}},
		"hours after, resolved there first": {inc(detected.Add(65*time.Minute), detected.Add(2*time.Hour), time.Time{}), opening,
			vendorPost{Name: "Elevated errors", Posted: "at 15:12 UTC, 1 h 5 min after outagewatch detected it",
				Resolved: "resolved there at 16:07 UTC, while outagewatch’s incident is still open"}},
		"both resolved": {inc(detected.Add(6*time.Minute), detected.Add(2*time.Hour), detected.Add(time.Hour+48*time.Minute)), opening,
			vendorPost{Name: "Elevated errors", Posted: "at 14:13 UTC, 6 min after outagewatch detected it",
				Resolved: "resolved there at 16:07 UTC, 12 min after outagewatch’s resolution"}},
		"without the timeline: from the opening": {inc(detected.Add(6*time.Minute), time.Time{}, time.Time{}), nil,
			vendorPost{Name: "Elevated errors", Posted: "at 14:13 UTC, 6 min after outagewatch detected it", Resolved: "still open there"}},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got := vendorPostOf(tc.inc, tc.events, detected.Add(3*time.Hour))
			require.NotNil(t, got)
			require.Equal(t, tc.want, *got)
		})
	}
	require.Nil(t, vendorPostOf(incidents.Incident{OpenedAt: detected}, opening, detected), "no post linked")
}
