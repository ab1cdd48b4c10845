package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/outagewatch/outagewatch/incidents"
	"github.com/outagewatch/outagewatch/store/internal/rules"
)

// deliveryColumns are a claimed delivery (c) joined with its outbox row (o), in outboxColumns'
// order, so that scanOutbox reads them: the delivery's own ID and state, the outbox row's
// notification.
const deliveryColumns = `c.id, o.incident_id, o.event_id, o.kind, o.dedup_key, o.created_at,
	c.attempts, c.claims, c.next_attempt_at, c.delivered_at, c.last_error, c.permanent`

// RegisterTargets records that the destinations are configured at now: every outbox row written
// from then on gets a delivery per destination (Apply). It then drops the destinations not
// registered since now-rules.TargetExpiry, and their deliveries with them (ON DELETE CASCADE).
// It is a write, fenced like the others.
func (s *Store) RegisterTargets(ctx context.Context, destinations []string, now time.Time) error {
	now = rules.Time(now)
	err := s.write(ctx, func(tx pgx.Tx) error {
		// Sorted: two registrations upsert their rows in the same order, and cannot deadlock.
		_, err := tx.Exec(ctx, `INSERT INTO alert_targets (name, seen_at)
			SELECT name, $2 FROM unnest($1::text[]) AS name
			ON CONFLICT (name) DO UPDATE SET seen_at = excluded.seen_at`,
			rules.Destinations(destinations), now)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `DELETE FROM alert_targets WHERE seen_at < $1`, now.Add(-rules.TargetExpiry))
		return err
	})
	if err != nil {
		return fmt.Errorf("register targets: %w", err)
	}
	return nil
}

// ClaimDeliveries is Claim on the deliveries of destination: it leases up to limit due
// deliveries until now+lease, in the order of their outbox rows, only the head of each
// incident's pending deliveries, and counts the claim in Claims. As in Claim, FOR UPDATE SKIP
// LOCKED makes concurrent claimers take different deliveries without waiting for each other.
func (s *Store) ClaimDeliveries(ctx context.Context, destination string, now time.Time, limit int, lease time.Duration) ([]incidents.OutboxRow, error) {
	if limit < 1 {
		return nil, fmt.Errorf("claim deliveries to %s: limit %d must be positive", destination, limit)
	}
	now = rules.Time(now)
	var out []incidents.OutboxRow
	err := s.write(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `WITH c AS (
			UPDATE alert_deliveries SET claimed_until = $3, claims = claims + 1
			WHERE id IN (
				SELECT d.id FROM alert_deliveries d
				WHERE d.target = $1 AND d.delivered_at IS NULL AND NOT d.permanent AND d.next_attempt_at <= $2
					AND (d.claimed_until IS NULL OR d.claimed_until < $2)
					AND d.outbox_id = (SELECT min(p.outbox_id) FROM alert_deliveries p
						WHERE p.target = d.target AND p.incident_id = d.incident_id
							AND p.delivered_at IS NULL AND NOT p.permanent)
				ORDER BY d.outbox_id LIMIT $4
				FOR UPDATE SKIP LOCKED)
			RETURNING *)
		SELECT `+deliveryColumns+` FROM c JOIN alert_outbox o ON o.id = c.outbox_id
		ORDER BY c.outbox_id`, destination, now, now.Add(lease), limit)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, scanOutboxRow)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("claim deliveries to %s: %w", destination, err)
	}
	return out, nil
}

// DeliveryBacklog is Backlog on the deliveries of destination.
func (s *Store) DeliveryBacklog(ctx context.Context, destination string, now time.Time) (n int, oldest time.Time, err error) {
	var first *time.Time
	err = s.pool.QueryRow(ctx, `SELECT count(*), min(created_at) FROM alert_deliveries
		WHERE target = $1 AND delivered_at IS NULL AND NOT permanent AND created_at <= $2`,
		destination, rules.Time(now)).Scan(&n, &first)
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("delivery backlog of %s: %w", destination, err)
	}
	if first != nil {
		oldest = first.UTC()
	}
	return n, oldest, nil
}

// CompleteDelivery is Complete on delivery id.
func (s *Store) CompleteDelivery(ctx context.Context, id int64, at time.Time) error {
	return s.finishDelivery(ctx, "complete", id, `UPDATE alert_deliveries
		SET delivered_at = COALESCE(delivered_at, $2), claimed_until = NULL WHERE id = $1`, rules.Time(at))
}

// RetryDelivery is Retry on delivery id.
func (s *Store) RetryDelivery(ctx context.Context, id int64, next time.Time, msg string) error {
	return s.finishDelivery(ctx, "retry", id, `UPDATE alert_deliveries
		SET attempts = attempts + 1, last_error = $3, next_attempt_at = $2, claimed_until = NULL
		WHERE id = $1 AND delivered_at IS NULL`, rules.Time(next), msg)
}

// FailDelivery is Fail on delivery id.
func (s *Store) FailDelivery(ctx context.Context, id int64, msg string) error {
	return s.finishDelivery(ctx, "fail", id, `UPDATE alert_deliveries
		SET attempts = attempts + 1, last_error = $2, permanent = true, claimed_until = NULL
		WHERE id = $1 AND delivered_at IS NULL`, msg)
}

// finishDelivery is finish on alert_deliveries: when the update changes nothing, it tells a
// missing delivery (incidents.ErrNotFound) from a delivered one (nothing to do).
func (s *Store) finishDelivery(ctx context.Context, op string, id int64, q string, args ...any) error {
	err := s.write(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, q, append([]any{id}, args...)...)
		if err == nil && tag.RowsAffected() == 0 {
			err = tx.QueryRow(ctx, `SELECT id FROM alert_deliveries WHERE id = $1`, id).Scan(&id)
			if errors.Is(err, pgx.ErrNoRows) {
				err = fmt.Errorf("no such delivery: %w", incidents.ErrNotFound)
			}
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("%s delivery %d: %w", op, id, err)
	}
	return nil
}
