package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/outagewatch/outagewatch/incidents"
	"github.com/outagewatch/outagewatch/store/internal/rules"
)

// Apply writes change c in one transaction, as incidents.Store documents: the incident, its new
// events unless duplicates, and their outbox rows. The transaction begins IMMEDIATE on the one
// connection, so it runs alone: no row locks are needed.
func (s *Store) Apply(ctx context.Context, c incidents.Change) (incidents.Incident, error) {
	if err := rules.Validate(c); err != nil {
		return incidents.Incident{}, fmt.Errorf("apply: %w", err)
	}
	var out incidents.Incident
	err := s.inTx(ctx, func(tx *sql.Tx) error {
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

// inTx runs fn in a transaction, committed when fn returns nil and rolled back otherwise.
func (s *Store) inTx(ctx context.Context, fn func(tx *sql.Tx) error) (err error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, ignoreDone(tx.Rollback()))
		}
	}()
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

func ignoreDone(err error) error {
	if errors.Is(err, sql.ErrTxDone) {
		return nil
	}
	return err
}

// lockIncident returns the incident c changes. For IncidentID 0 it opens one for (Provider,
// GroupKey, Caller) unless one is active, in which case it attaches to that. ok is false when c
// resolves an incident that is not there: nothing to do.
func lockIncident(ctx context.Context, tx *sql.Tx, c incidents.Change) (inc incidents.Incident, ok bool, err error) {
	if c.IncidentID != 0 {
		inc, err = scanIncident(tx.QueryRowContext(ctx,
			`SELECT `+incidentColumns+` FROM incidents WHERE id = ?`, c.IncidentID))
		if errors.Is(err, sql.ErrNoRows) {
			return inc, false, incidents.ErrNotFound
		}
		return inc, err == nil, err
	}
	if c.State != incidents.StateResolved {
		_, err := tx.ExecContext(ctx, `INSERT INTO incidents (provider, group_key, caller, severity, state, opened_at, updated_at)
			VALUES (?1, ?2, ?3, ?4, 'open', ?5, ?5)
			ON CONFLICT (provider, group_key, caller) WHERE state IN ('open', 'acknowledged') DO NOTHING`,
			c.Provider, c.GroupKey, c.Caller, string(c.Severity), nanos(c.At))
		if err != nil {
			return inc, false, fmt.Errorf("insert incident: %w", err)
		}
	}
	inc, err = scanIncident(tx.QueryRowContext(ctx, `SELECT `+incidentColumns+` FROM incidents
		WHERE provider = ? AND group_key = ? AND caller = ? AND state IN ('open', 'acknowledged')`,
		c.Provider, c.GroupKey, c.Caller))
	switch {
	case err == nil:
		return inc, true, nil
	case errors.Is(err, sql.ErrNoRows) && c.State == incidents.StateResolved:
		return inc, false, nil
	default:
		return inc, false, fmt.Errorf("select active incident: %w", err)
	}
}

func updateIncident(ctx context.Context, tx *sql.Tx, inc incidents.Incident) (incidents.Incident, error) {
	models, err := encode(inc.Models)
	if err != nil {
		return incidents.Incident{}, err
	}
	detectors, err := encode(inc.Detectors)
	if err != nil {
		return incidents.Incident{}, err
	}
	peak, err := encode(inc.Peak)
	if err != nil {
		return incidents.Incident{}, err
	}
	stored, err := scanIncident(tx.QueryRowContext(ctx, `UPDATE incidents SET
			models = ?2, detectors = ?3, severity = ?4, state = ?5, updated_at = ?6,
			acknowledged_at = ?7, acknowledged_by = ?8, resolved_at = ?9, resolved_by = ?10, peak = ?11,
			vendor_incident_id = ?12, vendor_incident_name = ?13, vendor_incident_url = ?14,
			vendor_posted_at = ?15, vendor_resolved_at = ?16
		WHERE id = ?1 RETURNING `+incidentColumns,
		inc.ID, models, detectors, string(inc.Severity), string(inc.State), nanos(inc.UpdatedAt),
		null(inc.AcknowledgedAt), inc.AcknowledgedBy, null(inc.ResolvedAt), inc.ResolvedBy, peak,
		inc.Vendor.ID, inc.Vendor.Name, inc.Vendor.URL, null(inc.Vendor.PostedAt), null(inc.Vendor.ResolvedAt)))
	if err != nil {
		return incidents.Incident{}, fmt.Errorf("update incident %d: %w", inc.ID, err)
	}
	return stored, nil
}

// insertEvent records ev unless an equal event of the incident lies within rules.DuplicateWindow
// (another writer saw the same transition), and queues its notifications.
func insertEvent(ctx context.Context, tx *sql.Tx, ev incidents.Event, notify []string, c incidents.Change) error {
	var dup bool
	at := nanos(ev.At)
	err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM incident_events
		WHERE incident_id = ? AND kind = ? AND provider = ? AND model = ? AND from_state = ?
			AND to_state = ? AND at > ? AND at < ?)`,
		ev.IncidentID, string(ev.Kind), ev.Provider, ev.Model, ev.From, ev.To,
		at-int64(rules.DuplicateWindow), at+int64(rules.DuplicateWindow)).Scan(&dup)
	if err != nil {
		return fmt.Errorf("check duplicate event: %w", err)
	}
	if dup {
		return nil
	}
	evidence, err := encode(ev.Evidence)
	if err != nil {
		return err
	}
	err = tx.QueryRowContext(ctx, `INSERT INTO incident_events
			(incident_id, at, kind, provider, model, from_state, to_state, severity, evidence, actor)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		ev.IncidentID, at, string(ev.Kind), ev.Provider, ev.Model, ev.From, ev.To,
		string(ev.Severity), evidence, ev.Actor).Scan(&ev.ID)
	if err != nil {
		return fmt.Errorf("insert event: %w", err)
	}
	for _, kind := range notify {
		if err := queue(ctx, tx, ev, kind, nanos(c.At)); err != nil {
			return fmt.Errorf("queue %s notification: %w", kind, err)
		}
	}
	return nil
}

// queue writes the outbox row of notification kind of ev, created at at, and one delivery of it
// per registered target (RegisterTargets). A row whose dedup key is taken is a duplicate: it
// writes nothing.
func queue(ctx context.Context, tx *sql.Tx, ev incidents.Event, kind string, at int64) error {
	var id int64
	err := tx.QueryRowContext(ctx, `INSERT INTO alert_outbox
			(incident_id, event_id, kind, dedup_key, created_at, next_attempt_at)
		VALUES (?1, ?2, ?3, ?4, ?5, ?5) ON CONFLICT (dedup_key) DO NOTHING RETURNING id`,
		ev.IncidentID, ev.ID, kind, rules.DedupKey(ev.IncidentID, kind, ev.ID), at).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO alert_deliveries
			(target, outbox_id, incident_id, created_at, next_attempt_at)
		SELECT name, ?1, ?2, ?3, ?3 FROM alert_targets`, id, ev.IncidentID, at)
	if err != nil {
		return fmt.Errorf("queue deliveries: %w", err)
	}
	return nil
}
