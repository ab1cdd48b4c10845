package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/outagewatch/outagewatch/incidents"
	"github.com/outagewatch/outagewatch/store/internal/rules"
)

// Claim leases up to limit due notifications to the caller until now+lease, in ID order. A row
// is due when it is neither delivered nor permanently failed, its next attempt is at or before
// now, and no lease on it runs past now. Only the head (lowest ID) of each incident's pending
// rows is eligible, so that an incident's messages go out in order; a permanently failed row no
// longer holds the rest back. Each claim counts in the row's Claims. The single statement runs
// alone on the one connection, so two claimers never take the same row.
func (s *Store) Claim(ctx context.Context, now time.Time, limit int, lease time.Duration) ([]incidents.OutboxRow, error) {
	if limit < 1 {
		return nil, fmt.Errorf("claim outbox rows: limit %d must be positive", limit)
	}
	now = rules.Time(now)
	out, err := collect(ctx, s.db, scanOutbox, `UPDATE alert_outbox SET claimed_until = ?2, claims = claims + 1
		WHERE id IN (
			SELECT o.id FROM alert_outbox o
			WHERE o.delivered_at IS NULL AND o.permanent = 0 AND o.next_attempt_at <= ?1
				AND (o.claimed_until IS NULL OR o.claimed_until < ?1)
				AND o.id = (SELECT min(p.id) FROM alert_outbox p
					WHERE p.incident_id = o.incident_id AND p.delivered_at IS NULL AND p.permanent = 0)
			ORDER BY o.id LIMIT ?3)
		RETURNING `+outboxColumns, nanos(now), nanos(now.Add(lease)), limit)
	if err != nil {
		return nil, fmt.Errorf("claim outbox rows: %w", err)
	}
	slices.SortFunc(out, func(a, b incidents.OutboxRow) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}

// Complete marks row id delivered at at; completing a delivered row again keeps the first time.
func (s *Store) Complete(ctx context.Context, id int64, at time.Time) error {
	return s.finish(ctx, "complete", id, `UPDATE alert_outbox
		SET delivered_at = COALESCE(delivered_at, ?2), claimed_until = NULL WHERE id = ?1`, nanos(at))
}

// Retry records a failed attempt of row id with its error and releases the row for another
// attempt at next. Rows of the same incident after it wait until it is delivered or fails.
func (s *Store) Retry(ctx context.Context, id int64, next time.Time, msg string) error {
	return s.finish(ctx, "retry", id, `UPDATE alert_outbox
		SET attempts = attempts + 1, last_error = ?3, next_attempt_at = ?2, claimed_until = NULL
		WHERE id = ?1 AND delivered_at IS NULL`, nanos(next), msg)
}

// Fail records a failed attempt of row id and gives up on it for good: the row is no longer
// claimed, and the incident's later rows become eligible.
func (s *Store) Fail(ctx context.Context, id int64, msg string) error {
	return s.finish(ctx, "fail", id, `UPDATE alert_outbox
		SET attempts = attempts + 1, last_error = ?2, permanent = 1, claimed_until = NULL
		WHERE id = ?1 AND delivered_at IS NULL`, msg)
}

// finish runs an update of row id; when it changes nothing, it tells a missing row
// (incidents.ErrNotFound) from a delivered one (nothing to do).
func (s *Store) finish(ctx context.Context, op string, id int64, q string, args ...any) error {
	res, err := s.db.ExecContext(ctx, q, append([]any{id}, args...)...)
	var n int64
	if err == nil {
		n, err = res.RowsAffected()
	}
	if err == nil && n == 0 {
		err = s.db.QueryRowContext(ctx, `SELECT id FROM alert_outbox WHERE id = ?`, id).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			err = fmt.Errorf("no such row: %w", incidents.ErrNotFound)
		}
	}
	if err != nil {
		return fmt.Errorf("%s outbox row %d: %w", op, id, err)
	}
	return nil
}

// Backlog returns the number of notifications created at or before now and not yet delivered
// nor permanently failed, and the creation time of the oldest (zero when there is none).
func (s *Store) Backlog(ctx context.Context, now time.Time) (n int, oldest time.Time, err error) {
	var first sql.NullInt64
	err = s.db.QueryRowContext(ctx, `SELECT count(*), min(created_at) FROM alert_outbox
		WHERE delivered_at IS NULL AND permanent = 0 AND created_at <= ?`, nanos(now)).Scan(&n, &first)
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("outbox backlog: %w", err)
	}
	return n, fromNull(first), nil
}
