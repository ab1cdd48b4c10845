package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/outagewatch/outagewatch/alerts"
	"github.com/outagewatch/outagewatch/incidents"
)

var update = flag.Bool("update", false, "rewrite the golden bodies in testdata/")

// rowCases are the outbox rows that a webhook carries, one per kind of row and event.
var rowCases = []struct {
	name    string
	kind    string
	eventID int64
	typ     string
	summary string
}{
	{"open", incidents.NotifyOpen, 101, TypeOpened,
		"anthropic is degraded (warning): claude-sonnet-4-5, since 2026-12-03 14:02 UTC"},
	{"transition", incidents.NotifyEvent, 102, TypeUpdated, "anthropic/claude-sonnet-4-5: degraded → down"},
	{"escalated", incidents.NotifyEvent, 103, TypeEscalated, "anthropic escalated to critical"},
	{"acknowledged", incidents.NotifyEvent, 104, TypeAcknowledged, "anthropic acknowledged by alice"},
	{"deescalated", incidents.NotifyEvent, 105, TypeUpdated, "anthropic de-escalated to warning"},
	{"resolve", incidents.NotifyResolve, 106, TypeResolved, "anthropic recovered after 14m 30s"},
}

// TestBodies checks the body of each kind of row against its golden file in testdata/ (go test
// -update rewrites them): the schema is a promise to receivers.
func TestBodies(t *testing.T) {
	t.Parallel()
	for _, tc := range rowCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEndpoint(t, nil)
			n := note(t, tc.kind, tc.eventID)
			got := send(t, newNotifier(t, e.URL, time.Now), e, n)

			var p Payload
			dec := json.NewDecoder(bytes.NewReader(got.body))
			dec.DisallowUnknownFields()
			require.NoError(t, dec.Decode(&p), "the body decodes into Payload")
			require.Equal(t, tc.typ, p.Type)
			require.Equal(t, tc.summary, p.Data.Summary)
			require.Equal(t, n.Event.At, p.Timestamp, "timestamp is the event's time")
			require.NotNil(t, p.Data.Event)
			require.Equal(t, n.Event.ID, p.Data.Event.ID)
			require.Equal(t, n.Event.Kind, p.Data.Event.Kind)
			require.Equal(t, n.Incident.State, p.Data.Incident.State)
			require.Equal(t, KindProvider, p.Data.Incident.Kind)
			require.Equal(t, Links{
				Incident:     "https://outagewatch.example.com/v1/incidents/42",
				IncidentPage: "https://outagewatch.example.com/incidents/42",
				StatusPage:   "https://outagewatch.example.com/",
				Dashboard:    "https://grafana.example.com/d/outagewatch-provider?var-provider=anthropic",
				Runbook:      testRunbook,
			}, p.Data.Links)
			require.Equal(t, "application/json", got.header.Get("Content-Type"))

			var pretty bytes.Buffer
			require.NoError(t, json.Indent(&pretty, got.body, "", "  "))
			pretty.WriteByte('\n')
			golden := filepath.Join("testdata", "body_"+tc.name+".golden.json")
			if *update {
				require.NoError(t, os.WriteFile(golden, pretty.Bytes(), 0o644))
			}
			want, err := os.ReadFile(golden)
			require.NoError(t, err, "run go test -update once to write it")
			require.Equal(t, string(want), pretty.String())
		})
	}
}

// TestSkipped checks the rows that send nothing: update rows (a Slack root refresh), and an
// event row of a resolution, which the resolve row carries.
func TestSkipped(t *testing.T) {
	t.Parallel()
	e := newEndpoint(t, nil)
	nt := newNotifier(t, e.URL, time.Now)
	for _, n := range []alerts.Notification{note(t, incidents.NotifyUpdate, 102), note(t, incidents.NotifyEvent, 106)} {
		receipt, err := nt.Notify(context.Background(), n)
		require.NoError(t, err)
		require.Equal(t, alerts.Receipt{Skipped: alerts.SkipUnsupported}, receipt, "%s row of a %s event", n.Row.Kind, n.Event.Kind)
	}
	require.Empty(t, e.received())
}

// TestBodyDetails covers what the fixture's rows do not: a local incident, a manual resolution,
// a widened end, unset links, a missing event, and the lists never null.
func TestBodyDetails(t *testing.T) {
	t.Parallel()
	nt, err := New(Options{URL: "http://127.0.0.1:1/", Secret: testSecret})
	require.NoError(t, err)
	decode := func(t *testing.T, n alerts.Notification) Payload {
		t.Helper()
		typ := eventType(n)
		require.NotEmpty(t, typ)
		b, err := json.Marshal(nt.payload(typ, n))
		require.NoError(t, err)
		var p Payload
		require.NoError(t, json.Unmarshal(b, &p))
		return p
	}
	t.Run("local incident", func(t *testing.T) {
		n := note(t, incidents.NotifyEvent, 102)
		n.Incident.Caller = "service:batch-jobs"
		p := decode(t, n)
		require.Equal(t, KindLocal, p.Data.Incident.Kind)
		require.Equal(t, "service:batch-jobs", p.Data.Incident.Caller)
		require.Equal(t, "anthropic/claude-sonnet-4-5 for batch-jobs: degraded → down", p.Data.Summary)
	})
	t.Run("endpoint incident opened", func(t *testing.T) {
		n := note(t, incidents.NotifyOpen, 101)
		n.Incident.Caller = "endpoint:eu.api.example.com"
		require.Equal(t, "anthropic via endpoint eu.api.example.com is degraded (warning): claude-sonnet-4-5, since 2026-12-03 14:02 UTC", decode(t, n).Data.Summary)
	})
	t.Run("manual resolution", func(t *testing.T) {
		n := note(t, incidents.NotifyResolve, 106)
		n.Event.Actor, n.Incident.ResolvedBy = "bob", "bob"
		p := decode(t, n)
		require.Equal(t, "anthropic resolved by bob after 14m 30s", p.Data.Summary)
		require.Equal(t, "bob", p.Data.Incident.ResolvedBy)
	})
	t.Run("widened end", func(t *testing.T) {
		n := note(t, incidents.NotifyResolve, 106)
		n.Incident.Caller = "service:batch-jobs"
		n.Event.Evidence = incidents.Evidence{Detector: widenedDetector, Observed: 0.3}
		p := decode(t, n)
		require.Equal(t, "anthropic for batch-jobs ended after 14m 30s: the failures spread beyond batch-jobs: see the anthropic incident", p.Data.Summary)
		require.NotNil(t, p.Data.Event.Evidence)
	})
	t.Run("provider's post", func(t *testing.T) {
		// The provider's post and its resolution there (issue 25) are sent as incident.updated
		// with the event; their update rows refresh a Slack root only.
		summaries := map[incidents.EventKind]string{
			incidents.EventVendorPosted:   "anthropic posted “Elevated errors on Claude Sonnet” on its status page at 14:08 UTC, 6m after outagewatch detected it",
			incidents.EventVendorResolved: "anthropic resolved “Elevated errors on Claude Sonnet” on its status page at 14:08 UTC",
		}
		for _, kind := range []incidents.EventKind{incidents.EventVendorPosted, incidents.EventVendorResolved} {
			n := note(t, incidents.NotifyEvent, 102)
			n.Event = incidents.Event{
				ID: 107, IncidentID: 42, At: n.Incident.OpenedAt.Add(6 * time.Minute), Kind: kind, Provider: "anthropic",
				Severity: incidents.SeverityCritical, Actor: incidents.Actor,
			}
			n.Incident.Vendor = incidents.VendorPost{ID: "p1", Name: "Elevated errors on Claude Sonnet"}
			n.Row.EventID = 107
			p := decode(t, n)
			require.Equal(t, summaries[kind], p.Data.Summary)
			require.Equal(t, TypeUpdated, p.Type, kind)
			require.NotNil(t, p.Data.Event)
			require.Equal(t, Event{
				ID: 107, At: n.Event.At, Kind: kind, Severity: incidents.SeverityCritical, Actor: incidents.Actor,
			}, *p.Data.Event)
			require.Equal(t, n.Event.At, p.Timestamp, "the post's time")
			n.Row.Kind = incidents.NotifyUpdate
			require.Empty(t, eventType(n), "the update row of the post sends nothing")
		}
	})
	t.Run("long sample error", func(t *testing.T) {
		n := note(t, incidents.NotifyEvent, 102)
		n.Event.Evidence.SampleError = strings.Repeat("é", 5000)
		p := decode(t, n)
		require.Equal(t, strings.Repeat("é", maxSampleError-1)+"…", p.Data.Event.Evidence.SampleError)
	})
	t.Run("no links, no event, no lists", func(t *testing.T) {
		n := note(t, incidents.NotifyOpen, 101)
		n.Event = incidents.Event{}
		n.Incident.Models, n.Incident.Detectors = nil, nil
		b, err := json.Marshal(nt.payload(TypeOpened, n))
		require.NoError(t, err)
		s := string(b)
		require.Contains(t, s, `"links":{}`)
		require.Contains(t, s, `"models":[],"detectors":[]`)
		require.NotContains(t, s, `"event"`)
		require.NotContains(t, s, `acknowledged_at`)
		require.NotContains(t, s, `resolved_at`)
		require.NotContains(t, s, `"caller"`)
		require.Contains(t, s, `"timestamp":"2026-12-03T14:02:06Z"`, "without its event, the row's time")
	})
}

// TestDocsExample checks that docs/webhooks.md shows the body the code sends, as the golden
// file of an incident.opened holds it.
func TestDocsExample(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "webhooks.md"))
	require.NoError(t, err)
	m := regexp.MustCompile("(?s)<!-- example: body_open -->\\s*```json\n(.*?)```").FindSubmatch(doc)
	require.NotNil(t, m, "docs/webhooks.md has no json block after <!-- example: body_open -->")
	want, err := os.ReadFile(filepath.Join("testdata", "body_open.golden.json"))
	require.NoError(t, err)
	require.Equal(t, strings.TrimSpace(string(want)), strings.TrimSpace(string(m[1])))
}
