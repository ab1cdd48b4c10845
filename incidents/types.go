package incidents

import (
	"bytes"
	"cmp"
	"encoding/json"
	"slices"
	"time"
)

// Severity is how bad an incident is: critical while any of its series is down, warning while
// they are only degraded.
type Severity string

// Severities.
const (
	SeverityWarning  Severity = "warning"
	SeverityCritical Severity = "critical"
)

// State is an incident's lifecycle state. Open and acknowledged incidents are "active": at most
// one per (provider, group key, caller), which the database enforces.
type State string

// States.
const (
	StateOpen         State = "open"
	StateAcknowledged State = "acknowledged"
	StateResolved     State = "resolved"
)

// Active reports whether the incident is open or acknowledged.
func (s State) Active() bool { return s == StateOpen || s == StateAcknowledged }

// Peak holds the worst figures seen during an incident.
type Peak struct {
	ErrorRate      float64 `json:"error_rate"`
	TruncationRate float64 `json:"truncation_rate"`
	RateLimitRate  float64 `json:"rate_limit_rate"`
	CallRate       float64 `json:"call_rate"`
}

// Merge keeps the worse of each figure.
func (p Peak) Merge(q Peak) Peak {
	return Peak{
		ErrorRate:      max(p.ErrorRate, q.ErrorRate),
		TruncationRate: max(p.TruncationRate, q.TruncationRate),
		RateLimitRate:  max(p.RateLimitRate, q.RateLimitRate),
		CallRate:       max(p.CallRate, q.CallRate),
	}
}

// Incident is one outage of a provider: the models that failed together, from the first
// degraded or down transition until all of them are healthy again. A local incident (Caller set)
// is one caller's: its calls to the provider's models fail while the other callers stay at their
// baseline, so the models stay healthy for everyone else (issue 18).
type Incident struct {
	ID       int64
	Provider string
	// Caller is the caller a local incident is confined to, in its text form
	// ("service:batch-jobs", "endpoint:eu.api.example.com"; see detectors.Caller); "" for a
	// provider incident.
	Caller string
	// GroupKey groups a provider's models into incidents; "" (all models of the provider fail
	// together) unless configured otherwise.
	GroupKey string
	// Models are the models of the incident's series, sorted; never "": the provider's own
	// pooled series (model "") is no model, and only its events name it.
	Models []string
	// Detectors are the detectors that fired, sorted.
	Detectors []string
	Severity  Severity
	State     State
	OpenedAt  time.Time
	UpdatedAt time.Time
	// AcknowledgedAt and ResolvedAt are zero until then.
	AcknowledgedAt time.Time
	AcknowledgedBy string
	ResolvedAt     time.Time
	// ResolvedBy is "outagewatch" for an automatic resolution, else who resolved it.
	ResolvedBy string
	Peak       Peak
	// SlackChannel and SlackTS identify the incident's Slack thread root, once posted.
	SlackChannel string
	SlackTS      string
	// Vendor is the provider's own post of this outage on its status page, once one was linked
	// to it (issue 25); zero until then.
	Vendor VendorPost
}

// VendorPost is the provider's own incident on its status page that an incident was linked to,
// and when it was posted and resolved there: the lead time is PostedAt minus the detection (the
// opening event's time).
type VendorPost struct {
	// ID, Name and URL are the status page's own (Name: "Elevated errors on Claude Sonnet").
	ID   string
	Name string
	URL  string
	// PostedAt is the provider's first post of it; ResolvedAt its resolution there, zero while
	// open.
	PostedAt   time.Time
	ResolvedAt time.Time
}

// Linked reports whether a post was linked.
func (v VendorPost) Linked() bool { return v.ID != "" }

// EventKind says what a timeline event records.
type EventKind string

// Event kinds.
const (
	EventOpened       EventKind = "opened"       // the incident opened with this transition
	EventTransition   EventKind = "transition"   // a series of the incident changed state
	EventEscalated    EventKind = "escalated"    // severity rose to critical
	EventDeescalated  EventKind = "deescalated"  // severity fell to warning
	EventAcknowledged EventKind = "acknowledged" // a person acknowledged it
	EventResolved     EventKind = "resolved"     // all series healthy again, or a person resolved it
	// The provider's status page posted the incident linked to this one, or resolved it there
	// (issue 25): beside our verdict, never changing it.
	EventVendorPosted   EventKind = "vendor_posted"
	EventVendorResolved EventKind = "vendor_resolved"
)

// Evidence is the detector's evidence of a transition, as stored with its event.
type Evidence struct {
	Detector    string      `json:"detector,omitempty"`
	Observed    float64     `json:"observed"`
	Baseline    float64     `json:"baseline"`
	Threshold   float64     `json:"threshold,omitempty"`
	ChangePoint time.Time   `json:"change_point,omitzero"`
	Window      float64     `json:"window_seconds"`
	SampleSize  int         `json:"sample_size"`
	Events      int         `json:"events"`
	CallRate    float64     `json:"call_rate"`
	Classes     ClassCounts `json:"classes,omitempty"`
	SampleError string      `json:"sample_error,omitempty"`
	// Callers are the calling services of the calls since the change point, most failures
	// first (as /v1/health's reasons carry them); absent when one service made them all.
	Callers []CallerShare `json:"callers,omitempty"`
	// Endpoints are the same for the provider endpoint hosts the calls went to; absent when
	// they all went to one host.
	Endpoints []EndpointShare `json:"endpoints,omitempty"`
	// ConfinedTo names the caller the failures were confined to, in its text form
	// ("service:batch-jobs"); "" when everyone's. Rows of older builds hold a bare service name.
	ConfinedTo string `json:"confined_to,omitempty"`
}

// EndpointShare is one provider endpoint host's calls and failures since a change point.
type EndpointShare struct {
	Endpoint string `json:"endpoint"`
	Calls    int    `json:"calls"`
	Failures int    `json:"failures"`
}

// CallerShare is one calling service's calls and failures since a change point.
type CallerShare struct {
	Service  string `json:"service"`
	Calls    int    `json:"calls"`
	Failures int    `json:"failures"`
}

// ClassCounts counts the errors of each class (overloaded, timeout, ...) behind a transition. In
// JSON, stored and in the API, it is the array /v1/health's reasons carry too:
// [{"class": "overloaded", "count": 35}, ...], most frequent first, then by name.
type ClassCounts map[string]int

// ClassCount is one error class and how often it was seen, as JSON.
type ClassCount struct {
	Class string `json:"class"`
	Count int    `json:"count"`
}

// Sorted returns the classes most frequent first, then by name.
func (cc ClassCounts) Sorted() []ClassCount {
	out := make([]ClassCount, 0, len(cc))
	for class, n := range cc {
		out = append(out, ClassCount{Class: class, Count: n})
	}
	slices.SortFunc(out, func(a, b ClassCount) int { return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Class, b.Class)) })
	return out
}

// MarshalJSON writes the classes as an array of {"class", "count"}.
func (cc ClassCounts) MarshalJSON() ([]byte, error) {
	if cc == nil {
		return []byte("null"), nil
	}
	return json.Marshal(cc.Sorted())
}

// UnmarshalJSON reads the array, and the object {"overloaded": 35} that older builds stored.
func (cc *ClassCounts) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		*cc = nil
		return nil
	case len(b) > 0 && b[0] == '{':
		var m map[string]int
		if err := json.Unmarshal(b, &m); err != nil {
			return err
		}
		*cc = m
		return nil
	}
	var list []ClassCount
	if err := json.Unmarshal(b, &list); err != nil {
		return err
	}
	out := make(ClassCounts, len(list))
	for _, c := range list {
		out[c.Class] += c.Count
	}
	*cc = out
	return nil
}

// Event is one entry of an incident's timeline.
type Event struct {
	ID         int64
	IncidentID int64
	At         time.Time
	Kind       EventKind
	// Provider and Model name the series of a transition (Model "" for the provider's own).
	Provider string
	Model    string
	From, To string // states, for transitions
	Severity Severity
	Evidence Evidence
	// Actor is who acted: "outagewatch" or the caller of the API.
	Actor string
}

// Notification kinds, one outbox row each; the alert worker renders them from the incident and
// the event when it sends.
const (
	NotifyOpen    = "open"    // post the thread root
	NotifyEvent   = "event"   // reply in the thread with the event
	NotifyUpdate  = "update"  // update the thread root in place
	NotifyResolve = "resolve" // reply with the resolution and update the root
)

// OutboxRow is one notification to deliver.
type OutboxRow struct {
	ID         int64
	IncidentID int64
	EventID    int64
	Kind       string
	DedupKey   string
	CreatedAt  time.Time
	// Attempts counts the failed attempts recorded with Retry or Fail.
	Attempts int
	// Claims counts how often the row was handed out, this time included. Above 1, a worker
	// had it before and may have sent it without recording so (it died between the two): the
	// sender must look for the message before sending it again.
	Claims        int
	NextAttemptAt time.Time
	DeliveredAt   time.Time
	LastError     string
	// Permanent marks a row that failed for good (a bad token, an unknown channel).
	Permanent bool
}

// Actor names outagewatch itself as the author of events.
const Actor = "outagewatch"
