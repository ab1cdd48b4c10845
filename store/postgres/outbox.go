package postgres

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/outagewatch/outagewatch/incidents"
	"github.com/outagewatch/outagewatch/store/internal/rules"
)

// Claim leases up to limit due notifications to the caller until now+lease, in ID order. A row
// is due when it is neither delivered nor permanently failed, its next attempt is at or before
// now, and no lease on it runs past now. Only the head (lowest ID) of each incident's pending
// rows is eligible, so that an incident's messages go out in order; a permanently failed row no
// longer holds the rest back. Each claim counts in the row's Claims. FOR UPDATE SKIP LOCKED
// makes concurrent claimers take different rows without waiting for each other, and the lease
// keeps a claimed row from being claimed again until it expires (a worker that died).
func (s *Store) Claim(ctx context.Context, now time.Time, limit int, lease time.Duration) ([]incidents.OutboxRow, error) {
	if limit < 1 {
		return nil, fmt.Errorf("claim outbox rows: limit %d must be positive", limit)
	}
	now = rules.Time(now)
	var out []incidents.OutboxRow
	err := s.write(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `UPDATE alert_outbox SET claimed_until = $2, claims = claims + 1
		WHERE id IN (
			SELECT o.id FROM alert_outbox o
			WHERE o.delivered_at IS NULL AND NOT o.permanent AND o.next_attempt_at <= $1
				AND (o.claimed_until IS NULL OR o.claimed_until < $1)
				AND o.id = (SELECT min(p.id) FROM alert_outbox p
					WHERE p.incident_id = o.incident_id AND p.delivered_at IS NULL AND NOT p.permanent)
			ORDER BY o.id LIMIT $3
			FOR UPDATE SKIP LOCKED)
		RETURNING `+outboxColumns, now, now.Add(lease), limit)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, scanOutboxRow)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("claim outbox rows: %w", err)
	}
	slices.SortFunc(out, func(a, b incidents.OutboxRow) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}

// Complete marks row id delivered at at; completing a delivered row again keeps the first time.
func (s *Store) Complete(ctx context.Context, id int64, at time.Time) error {
	return s.finish(ctx, "complete", id, `UPDATE alert_outbox
		SET delivered_at = COALESCE(delivered_at, $2), claimed_until = NULL WHERE id = $1`, rules.Time(at))
}

// Retry records a failed attempt of row id with its error and releases the row for another
// attempt at next. Rows of the same incident after it wait until it is delivered or fails.
func (s *Store) Retry(ctx context.Context, id int64, next time.Time, msg string) error {
	return s.finish(ctx, "retry", id, `UPDATE alert_outbox
		SET attempts = attempts + 1, last_error = $3, next_attempt_at = $2, claimed_until = NULL
		WHERE id = $1 AND delivered_at IS NULL`, rules.Time(next), msg)
}

// Fail records a failed attempt of row id and gives up on it for good: the row is no longer
// claimed, and the incident's later rows become eligible.
func (s *Store) Fail(ctx context.Context, id int64, msg string) error {
	return s.finish(ctx, "fail", id, `UPDATE alert_outbox
		SET attempts = attempts + 1, last_error = $2, permanent = true, claimed_until = NULL
		WHERE id = $1 AND delivered_at IS NULL`, msg)
}

// finish runs an update of row id; when it changes nothing, it tells a missing row
// (incidents.ErrNotFound) from a delivered one (nothing to do).
func (s *Store) finish(ctx context.Context, op string, id int64, q string, args ...any) error {
	err := s.write(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, q, append([]any{id}, args...)...)
		if err == nil && tag.RowsAffected() == 0 {
			err = tx.QueryRow(ctx, `SELECT id FROM alert_outbox WHERE id = $1`, id).Scan(&id)
			if errors.Is(err, pgx.ErrNoRows) {
				err = fmt.Errorf("no such row: %w", incidents.ErrNotFound)
			}
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("%s outbox row %d: %w", op, id, err)
	}
	return nil
}

// Backlog returns the number of notifications created at or before now and not yet delivered
// nor permanently failed, and the creation time of the oldest (zero when there is none).
func (s *Store) Backlog(ctx context.Context, now time.Time) (n int, oldest time.Time, err error) {
	var first *time.Time
	err = s.pool.QueryRow(ctx, `SELECT count(*), min(created_at) FROM alert_outbox
		WHERE delivered_at IS NULL AND NOT permanent AND created_at <= $1`, rules.Time(now)).Scan(&n, &first)
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("outbox backlog: %w", err)
	}
	if first != nil {
		oldest = first.UTC()
	}
	return n, oldest, nil
}
