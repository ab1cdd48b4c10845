package sqlite

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/outagewatch/outagewatch/incidents"
	"github.com/outagewatch/outagewatch/store/internal/rules"
)

// incidentColumns are the columns scanIncident reads, in order.
const incidentColumns = `id, provider, group_key, caller, models, detectors, severity, state, opened_at,
	updated_at, acknowledged_at, acknowledged_by, resolved_at, resolved_by, peak, slack_channel,
	slack_ts, vendor_incident_id, vendor_incident_name, vendor_incident_url, vendor_posted_at,
	vendor_resolved_at`

// eventColumns are the columns scanEvent reads, in order.
const eventColumns = `id, incident_id, at, kind, provider, model, from_state, to_state, severity,
	evidence, actor`

// outboxColumns are the columns scanOutbox reads, in order.
const outboxColumns = `id, incident_id, event_id, kind, dedup_key, created_at, attempts,
	claims, next_attempt_at, delivered_at, last_error, permanent`

// row is a *sql.Row or *sql.Rows.
type row interface{ Scan(dest ...any) error }

func scanIncident(r row) (incidents.Incident, error) {
	var (
		inc                     incidents.Incident
		models, detectors, peak string
		severity, state         string
		openedAt, updatedAt     int64
		ackAt, resAt            sql.NullInt64
		postedAt, vendorResAt   sql.NullInt64
	)
	err := r.Scan(&inc.ID, &inc.Provider, &inc.GroupKey, &inc.Caller, &models, &detectors, &severity, &state,
		&openedAt, &updatedAt, &ackAt, &inc.AcknowledgedBy, &resAt, &inc.ResolvedBy, &peak,
		&inc.SlackChannel, &inc.SlackTS, &inc.Vendor.ID, &inc.Vendor.Name, &inc.Vendor.URL, &postedAt,
		&vendorResAt)
	if err != nil {
		return incidents.Incident{}, err
	}
	inc.Severity, inc.State = incidents.Severity(severity), incidents.State(state)
	inc.OpenedAt, inc.UpdatedAt = fromNanos(openedAt), fromNanos(updatedAt)
	inc.AcknowledgedAt, inc.ResolvedAt = fromNull(ackAt), fromNull(resAt)
	inc.Vendor.PostedAt, inc.Vendor.ResolvedAt = fromNull(postedAt), fromNull(vendorResAt)
	if err := decode(models, &inc.Models); err != nil {
		return incidents.Incident{}, err
	}
	if err := decode(detectors, &inc.Detectors); err != nil {
		return incidents.Incident{}, err
	}
	if err := decode(peak, &inc.Peak); err != nil {
		return incidents.Incident{}, err
	}
	inc.Models, inc.Detectors = nonNil(inc.Models), nonNil(inc.Detectors)
	return inc, nil
}

func scanEvent(r row) (incidents.Event, error) {
	var (
		ev                       incidents.Event
		at                       int64
		kind, severity, evidence string
	)
	err := r.Scan(&ev.ID, &ev.IncidentID, &at, &kind, &ev.Provider, &ev.Model, &ev.From, &ev.To,
		&severity, &evidence, &ev.Actor)
	if err != nil {
		return incidents.Event{}, err
	}
	ev.At, ev.Kind, ev.Severity = fromNanos(at), incidents.EventKind(kind), incidents.Severity(severity)
	if err := decode(evidence, &ev.Evidence); err != nil {
		return incidents.Event{}, err
	}
	return ev, nil
}

func scanOutbox(r row) (incidents.OutboxRow, error) {
	var (
		o                 incidents.OutboxRow
		createdAt, nextAt int64
		delivered         sql.NullInt64
	)
	err := r.Scan(&o.ID, &o.IncidentID, &o.EventID, &o.Kind, &o.DedupKey, &createdAt, &o.Attempts,
		&o.Claims, &nextAt, &delivered, &o.LastError, &o.Permanent)
	if err != nil {
		return incidents.OutboxRow{}, err
	}
	o.CreatedAt, o.NextAttemptAt, o.DeliveredAt = fromNanos(createdAt), fromNanos(nextAt), fromNull(delivered)
	return o, nil
}

// nanos returns t as stored: unix nanoseconds at the stores' common precision.
func nanos(t time.Time) int64 { return rules.Time(t).UnixNano() }

// null returns the value to write for t: NULL for the zero time.
func null(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return nanos(t)
}

func fromNanos(n int64) time.Time { return time.Unix(0, n).UTC() }

func fromNull(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return fromNanos(n.Int64)
}

// encode returns v as JSON text.
func encode(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}

func decode(s string, v any) error {
	if err := json.Unmarshal([]byte(s), v); err != nil {
		return fmt.Errorf("decode %T: %w", v, err)
	}
	return nil
}

// nonNil returns s, or an empty slice for nil: empty sets read back the same from both stores.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
