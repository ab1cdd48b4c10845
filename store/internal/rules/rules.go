package rules

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/outagewatch/outagewatch/incidents"
)

// DuplicateWindow is how close in time two equal events of an incident must be for the later
// write to count as a duplicate from another writer: |Δat| < DuplicateWindow.
const DuplicateWindow = time.Minute

// List limits of incidents.Filter.
const (
	DefaultLimit = 50
	MaxLimit     = 500
)

// Limit returns the number of incidents to list for a requested limit.
func Limit(n int) int {
	switch {
	case n <= 0:
		return DefaultLimit
	case n > MaxLimit:
		return MaxLimit
	default:
		return n
	}
}

// States returns the incident states a Filter.State selects; nil means all of them.
func States(filter string) ([]string, error) {
	switch filter {
	case "":
		return nil, nil
	case "active":
		return []string{string(incidents.StateOpen), string(incidents.StateAcknowledged)}, nil
	case string(incidents.StateOpen), string(incidents.StateAcknowledged), string(incidents.StateResolved):
		return []string{filter}, nil
	default:
		return nil, fmt.Errorf("unknown state filter %q", filter)
	}
}

// Time returns t as both stores keep it: UTC, truncated to microseconds (Postgres's timestamptz
// precision; SQLite stores the same value so that the stores agree to the nanosecond).
func Time(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.Truncate(time.Microsecond).UTC()
}

// DedupKey is the alert_outbox.dedup_key of a notification: one thread root per incident ever,
// otherwise one row per event and kind.
func DedupKey(incidentID int64, kind string, eventID int64) string {
	if kind == incidents.NotifyOpen {
		return fmt.Sprintf("inc:%d:open", incidentID)
	}
	return fmt.Sprintf("inc:%d:%s:%d", incidentID, kind, eventID)
}

// Key names the incident a change opens or attaches to, for errors: "provider/group", and
// " for caller" for a local incident.
func Key(c incidents.Change) string {
	k := c.Provider + "/" + c.GroupKey
	if c.Caller != "" {
		k += " for " + c.Caller
	}
	return k
}

// Validate rejects a change that no store could write; such errors are bugs of the caller, and
// retrying does not help.
func Validate(c incidents.Change) error {
	var errs []error
	if c.At.IsZero() {
		errs = append(errs, errors.New("at: must be set"))
	}
	if c.IncidentID == 0 && c.Provider == "" {
		errs = append(errs, errors.New("provider: must be set to open an incident"))
	}
	switch c.State {
	case "", incidents.StateOpen, incidents.StateAcknowledged, incidents.StateResolved:
	default:
		errs = append(errs, fmt.Errorf("state: unknown %q", c.State))
	}
	for i, e := range c.Events {
		if e.Kind == "" {
			errs = append(errs, fmt.Errorf("events[%d].kind: must be set", i))
		}
		for _, kind := range e.Notify {
			switch kind {
			case incidents.NotifyOpen, incidents.NotifyEvent, incidents.NotifyUpdate, incidents.NotifyResolve:
			default:
				errs = append(errs, fmt.Errorf("events[%d].notify: unknown kind %q", i, kind))
			}
		}
	}
	return errors.Join(errs...)
}

// Merge returns the incident after change c:
//   - Models and Detectors gain the change's, as sorted sets; Models never hold "" (the
//     provider's own pooled series is no model, and a row written with it loses it); Peak
//     keeps the worse figures; UpdatedAt becomes c.At unless the incident was already updated
//     later (changes from several writers may arrive out of order).
//   - A resolved incident stays resolved: a later change other than a resolution only adds to
//     its sets and peak, so that its severity and state remain those of its resolution. A second
//     resolution keeps the first one's time and author.
//   - Otherwise Severity and State take the change's values when set; moving to acknowledged
//     records the acknowledger, and resolving records the resolver (Actor, or "outagewatch").
func Merge(stored incidents.Incident, c incidents.Change) incidents.Incident {
	inc := stored
	inc.Models = slices.DeleteFunc(Union(stored.Models, c.Models), func(m string) bool { return m == "" })
	inc.Detectors = Union(stored.Detectors, c.Detectors)
	inc.Peak = stored.Peak.Merge(c.Peak)
	if at := Time(c.At); at.After(inc.UpdatedAt) {
		inc.UpdatedAt = at
	}
	if stored.State == incidents.StateResolved {
		return inc
	}
	if c.Severity != "" {
		inc.Severity = c.Severity
	}
	actor := c.Actor
	if actor == "" {
		actor = incidents.Actor
	}
	switch c.State {
	case incidents.StateOpen:
		inc.State = incidents.StateOpen
	case incidents.StateAcknowledged:
		if stored.State != incidents.StateAcknowledged {
			inc.State = incidents.StateAcknowledged
			inc.AcknowledgedAt = Time(c.At)
			inc.AcknowledgedBy = actor
		}
	case incidents.StateResolved:
		inc.State = incidents.StateResolved
		inc.ResolvedAt = Time(c.At)
		inc.ResolvedBy = actor
	}
	return inc
}

// Event returns the event of spec e as stored on incident id: its time defaults to the change's
// and is kept at the stores' precision.
func Event(id int64, e incidents.EventSpec, c incidents.Change) incidents.Event {
	ev := e.Event
	ev.ID = 0
	ev.IncidentID = id
	if ev.At.IsZero() {
		ev.At = c.At
	}
	ev.At = Time(ev.At)
	return ev
}

// Union returns the sorted set of the strings of a and b; never nil.
func Union(a, b []string) []string {
	out := make([]string, 0, len(a)+len(b))
	out = append(out, a...)
	out = append(out, b...)
	slices.Sort(out)
	return slices.Compact(out)
}

// ValidateSilence rejects a silence that no store could keep: one without a provider or an end.
func ValidateSilence(s incidents.Silence) error {
	var errs []error
	if s.Provider == "" {
		errs = append(errs, errors.New("provider: must be set"))
	}
	if s.Until.IsZero() {
		errs = append(errs, errors.New("until: must be set"))
	}
	return errors.Join(errs...)
}
