package webhook

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/outagewatch/outagewatch/alerts"
	"github.com/outagewatch/outagewatch/incidents"
)

// testSecret is a 32-byte key, as "echo whsec_$(openssl rand -base64 32)" makes them.
var testSecret = "whsec_" + base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789ABCDEF"))

const testBearer = "tok-7f3a9c2e5b1d"

var testLinks = alerts.Links{GrafanaURL: "https://grafana.example.com/", APIURL: "https://outagewatch.example.com"}

const testRunbook = "https://wiki.example.com/runbooks/llm-outage"

// opened is when the fixtures' incident opened.
var opened = time.Date(2026, 12, 3, 14, 2, 5, 0, time.UTC)

// fixture is an incident of anthropic, down on one model, and its timeline.
func fixture() (incidents.Incident, []incidents.Event) {
	inc := incidents.Incident{
		ID: 42, Provider: "anthropic", Models: []string{"claude-sonnet-4-5"}, Detectors: []string{"error_rate"},
		Severity: incidents.SeverityCritical, State: incidents.StateOpen,
		OpenedAt: opened, UpdatedAt: opened.Add(3 * time.Minute),
		Peak: incidents.Peak{ErrorRate: 0.42, RateLimitRate: 0.03, CallRate: 4.2},
	}
	evidence := incidents.Evidence{
		Detector: "error_rate", Observed: 0.42, Baseline: 0.012, Threshold: 0.1,
		ChangePoint: opened.Add(-90 * time.Second), Window: 300, SampleSize: 1200, Events: 504, CallRate: 4.2,
		Classes:     incidents.ClassCounts{"overloaded": 430, "timeout": 74},
		SampleError: "529 {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}",
	}
	timeline := []incidents.Event{
		{ID: 101, IncidentID: 42, At: opened, Kind: incidents.EventOpened, Provider: "anthropic", Model: "claude-sonnet-4-5",
			From: "healthy", To: "degraded", Severity: incidents.SeverityWarning, Evidence: evidence, Actor: incidents.Actor},
		{ID: 102, IncidentID: 42, At: opened.Add(2 * time.Minute), Kind: incidents.EventTransition, Provider: "anthropic",
			Model: "claude-sonnet-4-5", From: "degraded", To: "down", Severity: incidents.SeverityCritical, Evidence: evidence, Actor: incidents.Actor},
		{ID: 103, IncidentID: 42, At: opened.Add(2 * time.Minute), Kind: incidents.EventEscalated, Provider: "anthropic",
			Severity: incidents.SeverityCritical, Actor: incidents.Actor},
		{ID: 104, IncidentID: 42, At: opened.Add(3 * time.Minute), Kind: incidents.EventAcknowledged, Actor: "alice"},
		{ID: 105, IncidentID: 42, At: opened.Add(9 * time.Minute), Kind: incidents.EventDeescalated, Provider: "anthropic",
			Severity: incidents.SeverityWarning, Actor: incidents.Actor},
		{ID: 106, IncidentID: 42, At: opened.Add(14*time.Minute + 30*time.Second), Kind: incidents.EventResolved, Provider: "anthropic",
			Severity: incidents.SeverityWarning, Actor: incidents.Actor},
	}
	return inc, timeline
}

// note is the notification of the outbox row of kind for event eventID of the fixture, with the
// incident as it stood after that event.
func note(tb testing.TB, kind string, eventID int64) alerts.Notification {
	tb.Helper()
	inc, timeline := fixture()
	var ev incidents.Event
	for _, e := range timeline {
		if e.ID > eventID {
			break
		}
		ev = e
		switch e.Kind {
		case incidents.EventAcknowledged:
			inc.State, inc.AcknowledgedAt, inc.AcknowledgedBy = incidents.StateAcknowledged, e.At, e.Actor
		case incidents.EventResolved:
			inc.State, inc.ResolvedAt, inc.ResolvedBy = incidents.StateResolved, e.At, e.Actor
		case incidents.EventOpened:
			inc.Severity = e.Severity
		case incidents.EventEscalated, incidents.EventDeescalated:
			inc.Severity = e.Severity
		}
		inc.UpdatedAt = e.At
	}
	require.Equal(tb, eventID, ev.ID, "no event %d in the fixture", eventID)
	// The keys of store/internal/rules.DedupKey.
	key := fmt.Sprintf("inc:42:%s:%d", kind, eventID)
	if kind == incidents.NotifyOpen {
		key = "inc:42:open"
	}
	return alerts.Notification{
		Row:      incidents.OutboxRow{ID: eventID * 10, IncidentID: 42, EventID: eventID, Kind: kind, DedupKey: key, CreatedAt: ev.At.Add(time.Second), Claims: 1},
		Incident: inc, Event: ev, Timeline: timeline[:eventID-100],
	}
}

// request is what the endpoint received.
type request struct {
	header http.Header
	body   []byte
}

// endpoint is a webhook receiver that records the requests and answers with respond.
type endpoint struct {
	*httptest.Server
	mu       sync.Mutex
	requests []request
	respond  func(w http.ResponseWriter)
}

func newEndpoint(tb testing.TB, respond func(w http.ResponseWriter)) *endpoint {
	tb.Helper()
	e := &endpoint{respond: respond}
	e.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		e.mu.Lock()
		e.requests = append(e.requests, request{header: r.Header.Clone(), body: body})
		e.mu.Unlock()
		if e.respond == nil {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		e.respond(w)
	}))
	tb.Cleanup(e.Close)
	return e
}

func (e *endpoint) received() []request {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]request(nil), e.requests...)
}

// clock is a settable time for Options.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// newNotifier returns a notifier of the test secret, bearer token and links sending to url.
func newNotifier(tb testing.TB, url string, now func() time.Time) *Notifier {
	tb.Helper()
	nt, err := New(Options{URL: url, Secret: testSecret + "\n", BearerToken: testBearer + "\n", RunbookURL: testRunbook, Links: testLinks, Now: now})
	require.NoError(tb, err)
	return nt
}

// send notifies n and returns the one request the endpoint got for it.
func send(tb testing.TB, nt *Notifier, e *endpoint, n alerts.Notification) request {
	tb.Helper()
	before := len(e.received())
	receipt, err := nt.Notify(context.Background(), n)
	require.NoError(tb, err)
	require.Equal(tb, alerts.Receipt{}, receipt)
	got := e.received()
	require.Len(tb, got, before+1)
	return got[before]
}
