package incidents

import (
	"context"
	"errors"
	"time"
)

// ErrNotFound is returned for an incident that does not exist.
var ErrNotFound = errors.New("incident not found")

// EventSpec is an event to append, with the notifications it implies.
type EventSpec struct {
	Event
	// Notify lists the notification kinds (NotifyOpen, ...) to queue in the outbox for this
	// event, in order.
	Notify []string
}

// Change is one step of an incident's life, written atomically by Store.Apply: the incident's
// new fields, its new timeline events and their outbox rows.
type Change struct {
	// IncidentID is the incident to change; 0 opens an incident for (Provider, GroupKey,
	// Caller), or attaches to the active one if another writer (a replica, a run before a
	// restart) opened it first.
	IncidentID int64
	Provider   string
	GroupKey   string
	// Caller is the caller of a local incident (Incident.Caller), "" for a provider incident.
	Caller string
	At     time.Time
	// Models and Detectors are added to the incident's sets.
	Models    []string
	Detectors []string
	// Severity and State are the incident's new values ("" keeps the stored one).
	Severity Severity
	State    State
	Peak     Peak
	// Actor is recorded as the acknowledger or resolver when State says so.
	Actor string
	// Vendor, when set, records the provider's post linked to the incident (Incident.Vendor):
	// the ID, name and URL are kept from the first link, PostedAt the earliest, ResolvedAt the
	// latest set.
	Vendor *VendorPost
	Events []EventSpec
}

// Store persists incidents. Implementations are safe for concurrent use by several goroutines
// and several processes sharing one database.
type Store interface {
	// Apply writes a change in one transaction: the incident (opened, or the active one of
	// (Provider, GroupKey, Caller) when IncidentID is 0), its events, and one outbox row per
	// notification. An event equal to one recorded in the last minute (same incident, series,
	// from and to) is a duplicate from another writer seeing the same outage: it is skipped with
	// its notifications. A change to a resolved incident, other than a resolution, is recorded
	// on it without reopening it. Apply returns the incident as stored. Errors are retryable
	// unless errors.Is(err, ErrNotFound).
	Apply(ctx context.Context, c Change) (Incident, error)
	// Active returns every open or acknowledged incident, oldest first.
	Active(ctx context.Context) ([]Incident, error)
}

// Filter selects incidents for Query.List.
type Filter struct {
	// State is "active", "open", "acknowledged", "resolved" or "" for all.
	State    string
	Provider string
	// Caller selects the local incidents of one caller ("service:batch-jobs"); "" selects
	// every incident.
	Caller string
	// Since and Until bound the opening time; zero is unbounded.
	Since, Until time.Time
	// Limit is at most 500 (default 50); Before pages: incidents with an ID below it.
	Limit  int
	Before int64
}

// Query reads incidents for the API.
type Query interface {
	// List returns the incidents matching f, newest first.
	List(ctx context.Context, f Filter) ([]Incident, error)
	// Get returns one incident and its timeline, oldest event first; ErrNotFound if absent.
	Get(ctx context.Context, id int64) (Incident, []Event, error)
}
