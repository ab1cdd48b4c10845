package webhook

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/outagewatch/outagewatch/alerts"
	"github.com/outagewatch/outagewatch/incidents"
)

// Event types (Payload.Type): what happened to the incident.
const (
	TypeOpened       = "incident.opened"       // the incident opened
	TypeEscalated    = "incident.escalated"    // its severity rose to critical
	TypeAcknowledged = "incident.acknowledged" // a person acknowledged it
	TypeUpdated      = "incident.updated"      // a series changed state, or the severity fell
	TypeResolved     = "incident.resolved"     // it recovered, or a person resolved it
)

// Payload is the body of every webhook, a Standard Webhooks payload. Its schema is stable:
// fields may be added, none is removed or changes meaning (docs/webhooks.md).
type Payload struct {
	// Type is one of the Type constants.
	Type string `json:"type"`
	// Timestamp is when the event happened (not when it was sent: see the webhook-timestamp
	// header), in UTC.
	Timestamp time.Time `json:"timestamp"`
	Data      Data      `json:"data"`
}

// Data is what the webhook is about.
type Data struct {
	// Incident is the incident as it was when the webhook was sent, which may be later than the
	// event: an incident.opened sent after a retry may show it acknowledged already.
	Incident Incident `json:"incident"`
	// Event is the timeline event the webhook reports; absent when the event is gone.
	Event *Event `json:"event,omitempty"`
	// Summary is one sentence for people: "anthropic is down (critical): claude-sonnet-4-5,
	// since 2026-12-03 14:02 UTC".
	Summary string `json:"summary"`
	// Links point to where to look; each is absent when its base URL is not configured.
	Links Links `json:"links"`
}

// Incident kinds (Incident.Kind), as alerts.Match names them.
const (
	KindProvider = alerts.KindProvider // the provider fails for every caller
	KindLocal    = alerts.KindLocal    // one caller's calls fail alone
)

// Incident is an incident, with the field names of the /v1/incidents API.
type Incident struct {
	ID       int64  `json:"id"`
	Provider string `json:"provider"`
	// GroupKey groups a provider's models into incidents; absent unless configured.
	GroupKey string `json:"group_key,omitempty"`
	// Caller is a local incident's caller ("service:batch-jobs", "endpoint:eu.api.example.com");
	// absent for a provider incident.
	Caller string `json:"caller,omitempty"`
	// Kind is KindProvider or KindLocal.
	Kind string `json:"kind"`
	// Models are the failing models, sorted; never null.
	Models []string `json:"models"`
	// Detectors are the detectors that fired, sorted; never null.
	Detectors []string           `json:"detectors"`
	Severity  incidents.Severity `json:"severity"`
	State     incidents.State    `json:"state"`
	OpenedAt  time.Time          `json:"opened_at"`
	UpdatedAt time.Time          `json:"updated_at"`
	// AcknowledgedAt and AcknowledgedBy are absent until someone acknowledges the incident.
	AcknowledgedAt time.Time `json:"acknowledged_at,omitzero"`
	AcknowledgedBy string    `json:"acknowledged_by,omitempty"`
	// ResolvedAt and ResolvedBy are absent until it is resolved; ResolvedBy is "outagewatch"
	// for an automatic resolution.
	ResolvedAt time.Time `json:"resolved_at,omitzero"`
	ResolvedBy string    `json:"resolved_by,omitempty"`
	// Peak holds the worst rates seen, fractions of the calls (0.42 is 42%), and calls per
	// second.
	Peak incidents.Peak `json:"peak"`
}

// Event is a timeline event, with the field names of the /v1/incidents API.
type Event struct {
	ID   int64               `json:"id"`
	At   time.Time           `json:"at"`
	Kind incidents.EventKind `json:"kind"`
	// Model is the series' model ("" and absent for the provider's own series); From and To
	// are its states (healthy, degraded, down, unknown) for opened and transition events.
	Model    string             `json:"model,omitempty"`
	From     string             `json:"from,omitempty"`
	To       string             `json:"to,omitempty"`
	Severity incidents.Severity `json:"severity,omitempty"`
	// Actor is "outagewatch", or who acknowledged or resolved the incident.
	Actor string `json:"actor,omitempty"`
	// Evidence is the detector's evidence of a transition; absent for the other events.
	Evidence *incidents.Evidence `json:"evidence,omitempty"`
}

// Links are URLs about the incident; each is absent when its base URL is not configured.
type Links struct {
	// Incident is the incident in the API (GET /v1/incidents/{id}), with its timeline.
	Incident string `json:"incident,omitempty"`
	// IncidentPage is the incident's page on the status page.
	IncidentPage string `json:"incident_page,omitempty"`
	// StatusPage is the status page of every provider.
	StatusPage string `json:"status_page,omitempty"`
	// Dashboard is the provider's Grafana dashboard.
	Dashboard string `json:"dashboard,omitempty"`
	// Runbook is the target's runbook_url.
	Runbook string `json:"runbook,omitempty"`
}

// eventType returns the type a notification is sent as, or "" when it is not sent. A resolution
// queues a resolve row only, which carries incident.resolved; an event row of a resolved event
// (none is queued today) is not sent, so that no resolution is sent twice. Update rows refresh a
// Slack thread root, which a webhook does not have.
func eventType(n alerts.Notification) string {
	switch n.Row.Kind {
	case incidents.NotifyOpen:
		return TypeOpened
	case incidents.NotifyResolve:
		return TypeResolved
	case incidents.NotifyEvent:
		return eventKindType(n.Event.Kind)
	default:
		return ""
	}
}

// eventKindType is the type of an event row of an event of kind k.
func eventKindType(k incidents.EventKind) string {
	switch k {
	case incidents.EventEscalated:
		return TypeEscalated
	case incidents.EventAcknowledged:
		return TypeAcknowledged
	case incidents.EventResolved:
		return ""
	default:
		return TypeUpdated
	}
}

// payload builds the body of notification n, of type typ.
func (nt *Notifier) payload(typ string, n alerts.Notification) Payload {
	p := Payload{
		Type:      typ,
		Timestamp: n.Row.CreatedAt.UTC(),
		Data: Data{
			Incident: incidentOf(n.Incident),
			Summary:  summary(typ, n.Incident, n.Event),
			Links:    nt.links(n.Incident),
		},
	}
	if n.Event.ID != 0 {
		ev := eventOf(n.Event)
		p.Data.Event, p.Timestamp = &ev, ev.At
	}
	return p
}

func incidentOf(inc incidents.Incident) Incident {
	kind := KindProvider
	if inc.Caller != "" {
		kind = KindLocal
	}
	return Incident{
		ID: inc.ID, Provider: inc.Provider, GroupKey: inc.GroupKey, Caller: inc.Caller, Kind: kind,
		// Rows of older builds may hold the provider's own series as model "": no model.
		Models:    slices.DeleteFunc(slices.Clone(inc.Models), func(m string) bool { return m == "" }),
		Detectors: slices.Clone(inc.Detectors),
		Severity:  inc.Severity, State: inc.State,
		OpenedAt: utc(inc.OpenedAt), UpdatedAt: utc(inc.UpdatedAt),
		AcknowledgedAt: utc(inc.AcknowledgedAt), AcknowledgedBy: inc.AcknowledgedBy,
		ResolvedAt: utc(inc.ResolvedAt), ResolvedBy: inc.ResolvedBy,
		Peak: inc.Peak,
	}.nonNil()
}

// nonNil makes the lists [] rather than null.
func (i Incident) nonNil() Incident {
	if i.Models == nil {
		i.Models = []string{}
	}
	if i.Detectors == nil {
		i.Detectors = []string{}
	}
	return i
}

func eventOf(e incidents.Event) Event {
	v := Event{
		ID: e.ID, At: utc(e.At), Kind: e.Kind, Model: e.Model, From: e.From, To: e.To,
		Severity: e.Severity, Actor: e.Actor,
	}
	if e.Evidence.Detector != "" {
		ev := e.Evidence
		ev.ChangePoint = utc(ev.ChangePoint)
		ev.SampleError = truncate(ev.SampleError, maxSampleError)
		v.Evidence = &ev
	}
	return v
}

// maxSampleError bounds the sample error a body quotes, in characters, so that bodies stay
// well under the 20 kB the specification recommends.
const maxSampleError = 1000

// truncate cuts s to n characters, marking the cut with an ellipsis.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}

// utc is t in UTC; the zero time stays zero, so that omitzero leaves it out.
func utc(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC()
}

// links are the incident's URLs under the configured base URLs. The dashboard is the one the
// Slack messages link to (outagewatch-provider, the provider selected).
func (nt *Notifier) links(inc incidents.Incident) Links {
	l := Links{Runbook: nt.runbookURL}
	if base := strings.TrimRight(nt.base.APIURL, "/"); base != "" {
		l.Incident = fmt.Sprintf("%s/v1/incidents/%d", base, inc.ID)
		l.IncidentPage = fmt.Sprintf("%s/incidents/%d", base, inc.ID)
		l.StatusPage = base + "/"
	}
	if base := strings.TrimRight(nt.base.GrafanaURL, "/"); base != "" {
		l.Dashboard = base + "/d/outagewatch-provider?var-provider=" + url.QueryEscape(inc.Provider)
	}
	return l
}
