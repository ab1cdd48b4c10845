package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/outagewatch/outagewatch/incidents"
	"github.com/outagewatch/outagewatch/store/internal/rules"
)

// attachAttempts bounds how often Apply retries attaching to the active incident when it is
// resolved between the insert that lost the race and the lock that follows.
const attachAttempts = 5

// Apply writes change c in one transaction, as incidents.Store documents: the incident (locked
// with FOR UPDATE), its new events unless duplicates, and their outbox rows.
func (s *Store) Apply(ctx context.Context, c incidents.Change) (incidents.Incident, error) {
	if err := rules.Validate(c); err != nil {
		return incidents.Incident{}, fmt.Errorf("apply: %w", err)
	}
	var out incidents.Incident
	err := s.write(ctx, func(tx pgx.Tx) error {
		stored, ok, err := lockIncident(ctx, tx, c)
		if err != nil || !ok {
			return err
		}
		inc, err := updateIncident(ctx, tx, rules.MergeVendor(rules.Merge(stored, c), c.Vendor))
		if err != nil {
			return err
		}
		for _, spec := range c.Events {
			if err := insertEvent(ctx, tx, rules.Event(inc.ID, spec, c), spec.Notify, c); err != nil {
				return err
			}
		}
		out = inc
		return nil
	})
	if err != nil {
		return incidents.Incident{}, fmt.Errorf("apply to %s #%d: %w", rules.Key(c), c.IncidentID, err)
	}
	return out, nil
}

// lockIncident returns the incident c changes, locked for the transaction. For IncidentID 0 it
// opens one for (Provider, GroupKey, Caller) unless another writer's is active, in which case it
// attaches to that. ok is false when c resolves an incident that is not there: nothing to do.
func lockIncident(ctx context.Context, tx pgx.Tx, c incidents.Change) (inc incidents.Incident, ok bool, err error) {
	if c.IncidentID != 0 {
		inc, err = scanIncident(tx.QueryRow(ctx,
			`SELECT `+incidentColumns+` FROM incidents WHERE id = $1 FOR UPDATE`, c.IncidentID))
		if errors.Is(err, pgx.ErrNoRows) {
			return inc, false, incidents.ErrNotFound
		}
		return inc, err == nil, err
	}
	at := rules.Time(c.At)
	for range attachAttempts {
		if c.State != incidents.StateResolved {
			// Under READ COMMITTED, a concurrent opener's uncommitted row makes this wait for it;
			// once it commits, DO NOTHING, and the SELECT below sees and locks its row.
			_, err := tx.Exec(ctx, `INSERT INTO incidents (provider, group_key, caller, severity, state, opened_at, updated_at)
				VALUES ($1, $2, $3, $4, 'open', $5, $5)
				ON CONFLICT (provider, group_key, caller) WHERE state IN ('open', 'acknowledged') DO NOTHING`,
				c.Provider, c.GroupKey, c.Caller, string(c.Severity), at)
			if err != nil {
				return inc, false, fmt.Errorf("insert incident: %w", err)
			}
		}
		inc, err = scanIncident(tx.QueryRow(ctx, `SELECT `+incidentColumns+` FROM incidents
			WHERE provider = $1 AND group_key = $2 AND caller = $3 AND state IN ('open', 'acknowledged')
			FOR UPDATE`, c.Provider, c.GroupKey, c.Caller))
		switch {
		case err == nil:
			return inc, true, nil
		case !errors.Is(err, pgx.ErrNoRows):
			return inc, false, fmt.Errorf("lock active incident: %w", err)
		case c.State == incidents.StateResolved:
			return inc, false, nil
		}
		// The active incident was resolved after our insert yielded to it: open a new one.
	}
	return inc, false, errors.New("no active incident after retries")
}

func updateIncident(ctx context.Context, tx pgx.Tx, inc incidents.Incident) (incidents.Incident, error) {
	stored, err := scanIncident(tx.QueryRow(ctx, `UPDATE incidents SET
			models = $2, detectors = $3, severity = $4, state = $5, updated_at = $6,
			acknowledged_at = $7, acknowledged_by = $8, resolved_at = $9, resolved_by = $10, peak = $11,
			vendor_incident_id = $12, vendor_incident_name = $13, vendor_incident_url = $14,
			vendor_posted_at = $15, vendor_resolved_at = $16
		WHERE id = $1 RETURNING `+incidentColumns,
		inc.ID, inc.Models, inc.Detectors, string(inc.Severity), string(inc.State), inc.UpdatedAt,
		null(inc.AcknowledgedAt), inc.AcknowledgedBy, null(inc.ResolvedAt), inc.ResolvedBy, inc.Peak,
		inc.Vendor.ID, inc.Vendor.Name, inc.Vendor.URL, null(inc.Vendor.PostedAt), null(inc.Vendor.ResolvedAt)))
	if err != nil {
		return incidents.Incident{}, fmt.Errorf("update incident %d: %w", inc.ID, err)
	}
	return stored, nil
}

// insertEvent records ev unless an equal event of the incident lies within rules.DuplicateWindow
// (another writer saw the same transition), and queues its notifications. The incident row lock
// serialises writers of one incident, so the check cannot race with their inserts.
func insertEvent(ctx context.Context, tx pgx.Tx, ev incidents.Event, notify []string, c incidents.Change) error {
	var dup bool
	err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM incident_events
		WHERE incident_id = $1 AND kind = $2 AND provider = $3 AND model = $4 AND from_state = $5
			AND to_state = $6 AND at > $7 AND at < $8)`,
		ev.IncidentID, string(ev.Kind), ev.Provider, ev.Model, ev.From, ev.To,
		ev.At.Add(-rules.DuplicateWindow), ev.At.Add(rules.DuplicateWindow)).Scan(&dup)
	if err != nil {
		return fmt.Errorf("check duplicate event: %w", err)
	}
	if dup {
		return nil
	}
	err = tx.QueryRow(ctx, `INSERT INTO incident_events
			(incident_id, at, kind, provider, model, from_state, to_state, severity, evidence, actor)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id`,
		ev.IncidentID, ev.At, string(ev.Kind), ev.Provider, ev.Model, ev.From, ev.To,
		string(ev.Severity), ev.Evidence, ev.Actor).Scan(&ev.ID)
	if err != nil {
		return fmt.Errorf("insert event: %w", err)
	}
	at := rules.Time(c.At)
	for _, kind := range notify {
		// One statement writes the outbox row and its delivery to each registered target
		// (RegisterTargets); a duplicate dedup key returns no row, so it writes neither.
		_, err := tx.Exec(ctx, `WITH o AS (
				INSERT INTO alert_outbox (incident_id, event_id, kind, dedup_key, created_at, next_attempt_at)
				VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT (dedup_key) DO NOTHING
				RETURNING id, incident_id, created_at)
			INSERT INTO alert_deliveries (target, outbox_id, incident_id, created_at, next_attempt_at)
			SELECT t.name, o.id, o.incident_id, o.created_at, o.created_at FROM o CROSS JOIN alert_targets t`,
			ev.IncidentID, ev.ID, kind, rules.DedupKey(ev.IncidentID, kind, ev.ID), at)
		if err != nil {
			return fmt.Errorf("queue %s notification: %w", kind, err)
		}
	}
	return nil
}
