package postgres

import (
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/outagewatch/outagewatch/incidents"
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

func scanIncident(row pgx.Row) (incidents.Incident, error) {
	var (
		inc             incidents.Incident
		severity, state string
		ackAt, resAt    pgtype.Timestamptz
		postedAt        pgtype.Timestamptz
		vendorResAt     pgtype.Timestamptz
	)
	err := row.Scan(&inc.ID, &inc.Provider, &inc.GroupKey, &inc.Caller, &inc.Models, &inc.Detectors, &severity,
		&state, &inc.OpenedAt, &inc.UpdatedAt, &ackAt, &inc.AcknowledgedBy, &resAt, &inc.ResolvedBy,
		&inc.Peak, &inc.SlackChannel, &inc.SlackTS, &inc.Vendor.ID, &inc.Vendor.Name, &inc.Vendor.URL,
		&postedAt, &vendorResAt)
	if err != nil {
		return incidents.Incident{}, err
	}
	inc.Severity, inc.State = incidents.Severity(severity), incidents.State(state)
	inc.OpenedAt, inc.UpdatedAt = inc.OpenedAt.UTC(), inc.UpdatedAt.UTC()
	inc.AcknowledgedAt, inc.ResolvedAt = fromNull(ackAt), fromNull(resAt)
	inc.Vendor.PostedAt, inc.Vendor.ResolvedAt = fromNull(postedAt), fromNull(vendorResAt)
	inc.Models, inc.Detectors = nonNil(inc.Models), nonNil(inc.Detectors)
	return inc, nil
}

func scanEvent(row pgx.Row) (incidents.Event, error) {
	var (
		ev       incidents.Event
		kind     string
		severity string
	)
	err := row.Scan(&ev.ID, &ev.IncidentID, &ev.At, &kind, &ev.Provider, &ev.Model, &ev.From, &ev.To,
		&severity, &ev.Evidence, &ev.Actor)
	if err != nil {
		return incidents.Event{}, err
	}
	ev.Kind, ev.Severity, ev.At = incidents.EventKind(kind), incidents.Severity(severity), ev.At.UTC()
	return ev, nil
}

func scanOutbox(row pgx.Row) (incidents.OutboxRow, error) {
	var (
		r         incidents.OutboxRow
		delivered pgtype.Timestamptz
	)
	err := row.Scan(&r.ID, &r.IncidentID, &r.EventID, &r.Kind, &r.DedupKey, &r.CreatedAt, &r.Attempts,
		&r.Claims, &r.NextAttemptAt, &delivered, &r.LastError, &r.Permanent)
	if err != nil {
		return incidents.OutboxRow{}, err
	}
	r.CreatedAt, r.NextAttemptAt, r.DeliveredAt = r.CreatedAt.UTC(), r.NextAttemptAt.UTC(), fromNull(delivered)
	return r, nil
}

// null returns the value to write for t: NULL for the zero time.
func null(t time.Time) pgtype.Timestamptz {
	return pgtype.Timestamptz{Time: t, Valid: !t.IsZero()}
}

func fromNull(t pgtype.Timestamptz) time.Time {
	if !t.Valid {
		return time.Time{}
	}
	return t.Time.UTC()
}

// nonNil returns s, or an empty slice for nil: empty sets read back the same from both stores.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
