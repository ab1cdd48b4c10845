package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/outagewatch/outagewatch/incidents"
	"github.com/outagewatch/outagewatch/store/internal/rules"
)

// deliveryColumns are a delivery joined with its outbox row (d and o), in outboxColumns'
// order, so that scanOutbox reads them: the delivery's own ID and state, the outbox row's
// notification.
const deliveryColumns = `d.id, o.incident_id, o.event_id, o.kind, o.dedup_key, o.created_at,
	d.attempts, d.claims, d.next_attempt_at, d.delivered_at, d.last_error, d.permanent`

// RegisterTargets records that the destinations are configured at now: every outbox row written
// from then on gets a delivery per destination (Apply). It then drops the destinations not
// registered since now-rules.TargetExpiry, and their deliveries with them (ON DELETE CASCADE).
func (s *Store) RegisterTargets(ctx context.Context, destinations []string, now time.Time) error {
	names, err := encode(nonNil(rules.Destinations(destinations)))
	if err != nil {
		return fmt.Errorf("register targets: %w", err)
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		// WHERE true: SQLite's parser needs it between an INSERT's SELECT and its ON CONFLICT.
		_, err := tx.ExecContext(ctx, `INSERT INTO alert_targets (name, seen_at)
			SELECT value, ?2 FROM json_each(?1) WHERE true
			ON CONFLICT (name) DO UPDATE SET seen_at = excluded.seen_at`, names, nanos(now))
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM alert_targets WHERE seen_at < ?`,
			nanos(now.Add(-rules.TargetExpiry)))
		return err
	})
	if err != nil {
		return fmt.Errorf("register targets: %w", err)
	}
	return nil
}

// ClaimDeliveries is Claim on the deliveries of destination: it leases up to limit due
// deliveries until now+lease, in the order of their outbox rows, only the head of each
// incident's pending deliveries, and counts the claim in Claims. The update and the read of the
// outbox rows run in one transaction, alone on the one connection.
func (s *Store) ClaimDeliveries(ctx context.Context, destination string, now time.Time, limit int, lease time.Duration) ([]incidents.OutboxRow, error) {
	if limit < 1 {
		return nil, fmt.Errorf("claim deliveries to %s: limit %d must be positive", destination, limit)
	}
	now = rules.Time(now)
	out := []incidents.OutboxRow{}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		ids, err := collect(ctx, tx, scanID, `UPDATE alert_deliveries SET claimed_until = ?3, claims = claims + 1
			WHERE id IN (
				SELECT d.id FROM alert_deliveries d
				WHERE d.target = ?1 AND d.delivered_at IS NULL AND d.permanent = 0 AND d.next_attempt_at <= ?2
					AND (d.claimed_until IS NULL OR d.claimed_until < ?2)
					AND d.outbox_id = (SELECT min(p.outbox_id) FROM alert_deliveries p
						WHERE p.target = d.target AND p.incident_id = d.incident_id
							AND p.delivered_at IS NULL AND p.permanent = 0)
				ORDER BY d.outbox_id LIMIT ?4)
			RETURNING id`, destination, nanos(now), nanos(now.Add(lease)), limit)
		if err != nil || len(ids) == 0 {
			return err
		}
		list, err := encode(ids)
		if err != nil {
			return err
		}
		out, err = collect(ctx, tx, scanOutbox, `SELECT `+deliveryColumns+`
			FROM alert_deliveries d JOIN alert_outbox o ON o.id = d.outbox_id
			WHERE d.id IN (SELECT value FROM json_each(?)) ORDER BY d.outbox_id`, list)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("claim deliveries to %s: %w", destination, err)
	}
	return out, nil
}

func scanID(r row) (id int64, err error) {
	err = r.Scan(&id)
	return id, err
}

// DeliveryBacklog is Backlog on the deliveries of destination.
func (s *Store) DeliveryBacklog(ctx context.Context, destination string, now time.Time) (n int, oldest time.Time, err error) {
	var first sql.NullInt64
	err = s.db.QueryRowContext(ctx, `SELECT count(*), min(created_at) FROM alert_deliveries
		WHERE target = ? AND delivered_at IS NULL AND permanent = 0 AND created_at <= ?`,
		destination, nanos(now)).Scan(&n, &first)
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("delivery backlog of %s: %w", destination, err)
	}
	return n, fromNull(first), nil
}

// CompleteDelivery is Complete on delivery id.
func (s *Store) CompleteDelivery(ctx context.Context, id int64, at time.Time) error {
	return s.finishDelivery(ctx, "complete", id, `UPDATE alert_deliveries
		SET delivered_at = COALESCE(delivered_at, ?2), claimed_until = NULL WHERE id = ?1`, nanos(at))
}

// RetryDelivery is Retry on delivery id.
func (s *Store) RetryDelivery(ctx context.Context, id int64, next time.Time, msg string) error {
	return s.finishDelivery(ctx, "retry", id, `UPDATE alert_deliveries
		SET attempts = attempts + 1, last_error = ?3, next_attempt_at = ?2, claimed_until = NULL
		WHERE id = ?1 AND delivered_at IS NULL`, nanos(next), msg)
}

// FailDelivery is Fail on delivery id.
func (s *Store) FailDelivery(ctx context.Context, id int64, msg string) error {
	return s.finishDelivery(ctx, "fail", id, `UPDATE alert_deliveries
		SET attempts = attempts + 1, last_error = ?2, permanent = 1, claimed_until = NULL
		WHERE id = ?1 AND delivered_at IS NULL`, msg)
}

// finishDelivery is finish on alert_deliveries: when the update changes nothing, it tells a
// missing delivery (incidents.ErrNotFound) from a delivered one (nothing to do).
func (s *Store) finishDelivery(ctx context.Context, op string, id int64, q string, args ...any) error {
	res, err := s.db.ExecContext(ctx, q, append([]any{id}, args...)...)
	var n int64
	if err == nil {
		n, err = res.RowsAffected()
	}
	if err == nil && n == 0 {
		err = s.db.QueryRowContext(ctx, `SELECT id FROM alert_deliveries WHERE id = ?`, id).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			err = fmt.Errorf("no such delivery: %w", incidents.ErrNotFound)
		}
	}
	if err != nil {
		return fmt.Errorf("%s delivery %d: %w", op, id, err)
	}
	return nil
}
