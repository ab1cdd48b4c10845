package slack

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/outagewatch/outagewatch/incidents"
)

// localIncident is batch-jobs' local incident (issue 18): its calls to claude-sonnet-4-5 time
// out while search and checkout stay at their baseline.
func localIncident(caller string) (incidents.Incident, []incidents.Event) {
	inc := incidents.Incident{
		ID: 43, Provider: "anthropic", Caller: caller, Models: []string{"claude-sonnet-4-5"},
		Detectors: []string{"error_rate_down"}, Severity: incidents.SeverityCritical, State: incidents.StateOpen,
		OpenedAt: opened, UpdatedAt: opened, Peak: incidents.Peak{ErrorRate: 0.95, CallRate: 2},
	}
	ev := incidents.Evidence{
		Detector: "error_rate_down", Observed: 0.95, Baseline: 0.01, Threshold: 5, Window: 60, SampleSize: 40,
		Events: 38, CallRate: 2, Classes: map[string]int{"timeout": 36, "server_error": 2}, ConfinedTo: caller,
		Callers: []incidents.CallerShare{
			{Service: "batch-jobs", Calls: 40, Failures: 38}, {Service: "search", Calls: 30}, {Service: "checkout", Calls: 20},
		},
		Endpoints: []incidents.EndpointShare{
			{Endpoint: "eu.api.example.com", Calls: 40, Failures: 38}, {Endpoint: "api.example.com", Calls: 50},
		},
		SampleError: "context deadline exceeded",
	}
	timeline := []incidents.Event{{
		ID: 10, IncidentID: 43, At: opened, Kind: incidents.EventOpened, Provider: "anthropic", Model: "claude-sonnet-4-5",
		From: "healthy", To: "down", Severity: incidents.SeverityCritical, Evidence: ev, Actor: incidents.Actor,
	}}
	return inc, timeline
}

// widenedEnd is the end of a local incident whose failures spread: its transition back to
// healthy and the resolution, both with the widened evidence.
func widenedEnd(inc incidents.Incident, timeline []incidents.Event) (incidents.Incident, []incidents.Event) {
	at := opened.Add(4 * time.Minute)
	ev := incidents.Evidence{Detector: "widened", Observed: 0.6, CallRate: 2}
	timeline = append(timeline,
		incidents.Event{ID: 11, IncidentID: inc.ID, At: at, Kind: incidents.EventTransition, Provider: "anthropic",
			Model: "claude-sonnet-4-5", From: "down", To: "healthy", Severity: incidents.SeverityCritical, Evidence: ev, Actor: incidents.Actor},
		incidents.Event{ID: 12, IncidentID: inc.ID, At: at, Kind: incidents.EventResolved, Provider: "anthropic",
			Model: "claude-sonnet-4-5", Severity: incidents.SeverityCritical, Evidence: ev, Actor: incidents.Actor})
	inc.State, inc.ResolvedAt, inc.ResolvedBy, inc.UpdatedAt = incidents.StateResolved, at, incidents.Actor, at
	return inc, timeline
}

// texts returns every mrkdwn and plain text of msg's blocks, in order, joined by newlines.
func texts(t *testing.T, msg message) string {
	t.Helper()
	b, err := json.Marshal(msg.Blocks)
	require.NoError(t, err)
	var blocks []struct {
		Text   *struct{ Text string }  `json:"text"`
		Fields []struct{ Text string } `json:"fields"`
	}
	require.NoError(t, json.Unmarshal(b, &blocks))
	out := ""
	for _, bl := range blocks {
		if bl.Text != nil {
			out += bl.Text.Text + "\n"
		}
		for _, f := range bl.Fields {
			out += f.Text + "\n"
		}
	}
	return out
}

// TestLocalRootNamesTheCaller: a local incident's root says whose failures they are, how bad,
// how many other callers are fine, and what that points to; it does not repeat the evidence's
// own "only ... fails" line.
func TestLocalRootNamesTheCaller(t *testing.T) {
	t.Parallel()
	r := renderer{links: links}

	inc, timeline := localIncident("service:batch-jobs")
	msg := r.root(inc, timeline)
	body := texts(t, msg)
	require.Contains(t, body, ":red_circle: anthropic for batch-jobs is down")
	require.Contains(t, body, "*batch-jobs* fails alone: 95.0% errors (mostly timeout) on its calls to `anthropic/claude-sonnet-4-5`; "+
		"2 other services at their baseline: likely batch-jobs' own network, key or deploy")
	require.NotContains(t, body, "*Only", "said once, in the verdict")
	require.Contains(t, body, "*By caller*: `batch-jobs` 38 of 40, `search` 0 of 30, `checkout` 0 of 20")
	require.Equal(t, "anthropic for batch-jobs is down (critical): claude-sonnet-4-5, since 2026-06-01 12:00 UTC", msg.Text)

	inc, timeline = localIncident("endpoint:eu.api.example.com")
	msg = r.root(inc, timeline)
	body = texts(t, msg)
	require.Contains(t, body, ":red_circle: anthropic via endpoint eu.api.example.com is down")
	require.Contains(t, body, "Endpoint *eu.api.example.com* fails alone: 95.0% errors (mostly timeout) on its calls to "+
		"`anthropic/claude-sonnet-4-5`; 1 other endpoint at its baseline: likely that region or deployment")

	// A provider incident has no verdict line.
	inc, timeline = goldenIncident()
	require.NotContains(t, texts(t, r.root(inc, timeline)), "fails alone")
}

func TestLocalOthers(t *testing.T) {
	t.Parallel()
	svc := caller{kind: kindService, name: "batch-jobs"}
	for _, tc := range []struct {
		name    string
		callers []string
		want    string
	}{
		{"none compared", nil, "the other services at their baseline"},
		{"one", []string{"batch-jobs", "search"}, "1 other service at its baseline"},
		{"three", []string{"batch-jobs", "search", "checkout", "api"}, "3 other services at their baseline"},
		{"beyond the counted ones", []string{"batch-jobs", "search", "checkout", "other"}, "3 or more other services at their baseline"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var e incidents.Evidence
			for _, c := range tc.callers {
				e.Callers = append(e.Callers, incidents.CallerShare{Service: c})
			}
			require.Equal(t, tc.want, othersText(svc, e))
		})
	}
	require.Equal(t, caller{kind: kindService, name: "batch-jobs"}, parseCaller("batch-jobs"), "an older build's bare service name")
	require.Equal(t, caller{kind: kindEndpoint, name: "eu.api.example.com"}, parseCaller("endpoint:eu.api.example.com"))
	require.Equal(t, "search's", possessive("search"))
}

// TestLocalWidenedEnd: when batch-jobs' failures spread to the other callers, its thread says so
// and points to the provider's incident, in the transition's reply, the resolution and the root.
func TestLocalWidenedEnd(t *testing.T) {
	t.Parallel()
	r := renderer{links: links}
	inc, timeline := widenedEnd(localIncident("service:batch-jobs"))

	reply := r.resolution(inc, timeline[len(timeline)-1])
	require.Contains(t, texts(t, reply), ":twisted_rightwards_arrows: *anthropic for batch-jobs* ended after *4m*: "+
		"the failures spread beyond *batch-jobs*: see the *anthropic* incident")
	require.Equal(t, "anthropic for batch-jobs ended after 4m: the failures spread beyond batch-jobs: see the anthropic incident", reply.Text)

	event := r.event(inc, timeline[1])
	require.Contains(t, texts(t, event), "the failures spread beyond *batch-jobs*: see the *anthropic* incident")
	require.NotContains(t, texts(t, event), "*widened*", "no figures for the end of a local verdict")

	root := texts(t, r.root(inc, timeline))
	require.Contains(t, root, ":twisted_rightwards_arrows: anthropic for batch-jobs ended: the failures spread\n")
	require.Contains(t, root, "the failures spread beyond *batch-jobs*: see the *anthropic* incident")

	// A plain recovery of the caller says nothing of spreading.
	inc, timeline = localIncident("service:batch-jobs")
	inc = resolved(inc)
	recovered := r.resolution(inc, incidents.Event{Kind: incidents.EventResolved, Actor: incidents.Actor})
	require.NotContains(t, texts(t, recovered), "spread")
	require.Contains(t, texts(t, recovered), "*anthropic for batch-jobs* recovered after")
	require.NotContains(t, texts(t, r.root(inc, timeline)), "spread")
}

func TestLocalRenderGolden(t *testing.T) {
	t.Parallel()
	r := renderer{links: links}
	inc, timeline := localIncident("service:batch-jobs")
	endpoint, endpointTimeline := localIncident("endpoint:eu.api.example.com")
	ended, endedTimeline := widenedEnd(inc, timeline)
	for _, tc := range []struct {
		name string
		msg  message
	}{
		{"root_local_service", r.root(inc, timeline)},
		{"root_local_endpoint", r.root(endpoint, endpointTimeline)},
		{"root_local_widened", r.root(ended, endedTimeline)},
		{"resolution_local_widened", r.resolution(ended, endedTimeline[len(endedTimeline)-1])},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			requireGolden(t, tc.name, tc.msg)
		})
	}
}
