package slack

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/outagewatch/outagewatch/alerts"
	"github.com/outagewatch/outagewatch/incidents"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

var (
	opened = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	links  = alerts.Links{GrafanaURL: "https://grafana.example.com/", APIURL: "https://outagewatch.example.com"}
)

// goldenIncident is an incident of two models with full evidence.
func goldenIncident() (incidents.Incident, []incidents.Event) {
	inc := incidents.Incident{
		ID: 42, Provider: "anthropic", Models: []string{"claude-haiku-4-5", "claude-sonnet-4-5"},
		Detectors: []string{"error_rate_down"}, Severity: incidents.SeverityCritical, State: incidents.StateOpen,
		OpenedAt: opened, UpdatedAt: opened.Add(3 * time.Minute),
		Peak: incidents.Peak{ErrorRate: 0.42, CallRate: 4.5},
	}
	ev := incidents.Evidence{
		Detector: "error_rate_down", Observed: 0.42, Baseline: 0.01, Threshold: 5, Window: 90, SampleSize: 1200,
		Events: 504, CallRate: 4.5, Classes: map[string]int{"overloaded": 480, "timeout": 20, "server_error": 4},
		SampleError: `529 {"type":"error","error":{"type":"overloaded_error","message":"Overloaded <retry>"}}`,
	}
	timeline := []incidents.Event{
		{ID: 1, IncidentID: 42, At: opened, Kind: incidents.EventOpened, Provider: "anthropic", Model: "claude-sonnet-4-5",
			From: "healthy", To: "down", Severity: incidents.SeverityCritical, Evidence: ev, Actor: incidents.Actor},
		{ID: 2, IncidentID: 42, At: opened.Add(3 * time.Minute), Kind: incidents.EventTransition, Provider: "anthropic",
			Model: "claude-haiku-4-5", From: "healthy", To: "degraded", Severity: incidents.SeverityCritical,
			Evidence: incidents.Evidence{Detector: "truncation", Observed: 0.2, Baseline: 0.005, Window: 300, SampleSize: 80, Events: 16},
			Actor:    incidents.Actor},
	}
	return inc, timeline
}

func resolved(inc incidents.Incident) incidents.Incident {
	inc.State, inc.ResolvedAt, inc.ResolvedBy = incidents.StateResolved, opened.Add(83*time.Minute+20*time.Second), incidents.Actor
	return inc
}

func TestRenderGolden(t *testing.T) {
	t.Parallel()
	inc, timeline := goldenIncident()
	r := renderer{links: links}
	acked := inc
	acked.State, acked.AcknowledgedBy = incidents.StateAcknowledged, "alice"
	warning := inc
	warning.Severity, warning.Models = incidents.SeverityWarning, []string{""}
	long := strings.Repeat("x<&>`", 100)
	bare := timeline[0]
	bare.Evidence.SampleError, bare.Model = long, ""
	vendor := withVendor(inc, 7*time.Minute)
	vendorFirst := withVendor(inc, -3*time.Minute)
	vendorFirst.Vendor.URL = ""
	vendorResolved := vendor
	vendorResolved.Vendor.ResolvedAt = opened.Add(62 * time.Minute)
	for _, tc := range []struct {
		name string
		msg  message
	}{
		{"root_open", r.root(inc, timeline)},
		{"root_acknowledged", r.root(acked, timeline)},
		{"root_resolved", r.root(resolved(inc), timeline)},
		{"root_warning_no_links", renderer{}.root(warning, timeline[:1])},
		{"event_transition", r.event(inc, timeline[1])},
		{"event_escalated", r.event(inc, incidents.Event{At: opened, Kind: incidents.EventEscalated, Severity: incidents.SeverityCritical})},
		{"event_acknowledged", r.event(inc, incidents.Event{At: opened, Kind: incidents.EventAcknowledged, Actor: "alice"})},
		{"event_long_sample_error", r.event(inc, bare)},
		{"resolution", r.resolution(resolved(inc), incidents.Event{Kind: incidents.EventResolved, Actor: incidents.Actor})},
		{"event_vendor_posted", r.event(vendor, vendorPosted(vendor))},
		{"event_vendor_posted_first", r.event(vendorFirst, vendorPosted(vendorFirst))},
		{"event_vendor_resolved", r.event(vendorResolved, incidents.Event{
			At: vendorResolved.Vendor.ResolvedAt, Kind: incidents.EventVendorResolved, Provider: "anthropic",
			Severity: incidents.SeverityCritical, Actor: incidents.Actor,
		})},
		{"root_vendor", r.root(vendor, timeline)},
		{"root_resolved_vendor", r.root(resolved(vendorResolved), timeline)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			requireGolden(t, tc.name, tc.msg)
		})
	}
}

// withVendor links the provider's post, posted lead after the incident opened, to inc.
func withVendor(inc incidents.Incident, lead time.Duration) incidents.Incident {
	inc.Vendor = incidents.VendorPost{
		ID: "tqx3p6lqqd5k", Name: "Elevated errors on Claude Sonnet <4.5>",
		URL: "https://status.claude.com/incidents/tqx3p6lqqd5k", PostedAt: opened.Add(lead),
	}
	return inc
}

// vendorPosted is the event of inc's linked post.
func vendorPosted(inc incidents.Incident) incidents.Event {
	return incidents.Event{
		At: inc.Vendor.PostedAt, Kind: incidents.EventVendorPosted, Provider: inc.Provider,
		Severity: inc.Severity, Actor: incidents.Actor,
	}
}

// TestVendorText: the replies of the provider's post say who posted what, when, and how that
// compares with our detection, in the words the issue gives.
func TestVendorText(t *testing.T) {
	t.Parallel()
	inc, _ := goldenIncident()
	r := renderer{links: links}
	for _, tc := range []struct {
		name string
		lead time.Duration
		want string
	}{
		{"after", 7 * time.Minute, "Anthropic posted “Elevated errors on Claude Sonnet <4.5>” at 12:07 UTC, 7 min after outagewatch detected it"},
		{"before", -3 * time.Minute, "Anthropic posted “Elevated errors on Claude Sonnet <4.5>” at 11:57 UTC, 3 min before outagewatch detected it"},
		{"together", 20 * time.Second, "Anthropic posted “Elevated errors on Claude Sonnet <4.5>” at 12:00 UTC, within a minute of outagewatch detecting it"},
		{"hours", 95 * time.Minute, "Anthropic posted “Elevated errors on Claude Sonnet <4.5>” at 13:35 UTC, 1h 35m after outagewatch detected it"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			v := withVendor(inc, tc.lead)
			require.Equal(t, tc.want, r.event(v, vendorPosted(v)).Text)
		})
	}
	v := withVendor(inc, time.Minute)
	v.Vendor.ResolvedAt = opened.Add(62 * time.Minute)
	msg := r.event(v, incidents.Event{At: v.Vendor.ResolvedAt, Kind: incidents.EventVendorResolved})
	require.Equal(t, "Anthropic resolved “Elevated errors on Claude Sonnet <4.5>” on its status page at 13:02 UTC", msg.Text)

	v.Provider, v.Vendor.Name = "openai", ""
	require.Equal(t, "OpenAI posted an incident at 12:01 UTC, 1 min after outagewatch detected it", r.event(v, vendorPosted(v)).Text)
	require.Equal(t, "Mistral", providerName("mistral"))
	require.Equal(t, "Acme", providerName("acme"))
}

func TestEvidenceLimits(t *testing.T) {
	t.Parallel()
	_, timeline := goldenIncident()
	ev := timeline[0]
	ev.Evidence.SampleError = strings.Repeat("é", 1000)
	text := evidenceText(ev, true)
	start := strings.Index(text, "```")
	require.Positive(t, start)
	sample := strings.TrimSuffix(text[start+3:], "```")
	require.Equal(t, maxSampleError, len([]rune(sample)), "the sample error is capped")

	ev.Evidence.SampleError = "<!channel> & `rm -rf`"
	text = evidenceText(ev, true)
	require.Contains(t, text, "&lt;!channel&gt; &amp; 'rm -rf'", "escaped: no mention, no broken code block")
	require.NotContains(t, text, "<!channel>")
}

func TestHelpers(t *testing.T) {
	t.Parallel()
	for in, want := range map[int]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567", -1200: "-1,200"} {
		require.Equal(t, want, thousands(in), in)
	}
	require.Equal(t, "<!date^1780315200^{date_short_pretty} {time}|2026-06-01 12:00 UTC>", slackDate(opened))
	require.Equal(t, "1780315200.000000", slackTS(opened))
}

// TestEvidenceNamesTheCallers: a message says which calling services the failures came from,
// so that a person sees at once whether it is the provider or one service.
func TestEvidenceNamesTheCallers(t *testing.T) {
	t.Parallel()
	_, timeline := goldenIncident()
	ev := timeline[0]
	ev.Evidence.Callers = []incidents.CallerShare{{Service: "batch-jobs", Calls: 7, Failures: 7}, {Service: "checkout", Calls: 6}}
	require.Contains(t, evidenceText(ev, false), "\n*By caller*: `batch-jobs` 7 of 7, `checkout` 0 of 6")
	require.NotContains(t, evidenceText(ev, false), "Only")
	ev.Evidence.ConfinedTo = "batch-jobs"
	require.Contains(t, evidenceText(ev, false), "\n*Only `batch-jobs` fails*: the other services are at their baseline")
	ev.Evidence.Callers = nil
	require.NotContains(t, evidenceText(ev, false), "By caller")
}

// requireGolden compares msg, as indented JSON, with testdata/name.golden.json (go test -update
// writes it).
func requireGolden(t *testing.T, name string, msg any) {
	t.Helper()
	got, err := json.MarshalIndent(msg, "", "  ")
	require.NoError(t, err)
	got = append(got, '\n')
	path := filepath.Join("testdata", name+".golden.json")
	if *update {
		require.NoError(t, os.WriteFile(path, got, 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test -update to create it")
	require.JSONEq(t, string(want), string(got))
}
