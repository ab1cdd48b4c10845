package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/outagewatch/outagewatch/incidents"
	"github.com/outagewatch/outagewatch/store/internal/rules"
)

// silenceColumns are the columns scanSilence reads, in order.
const silenceColumns = `id, provider, model, until, reason, created_by, created_at`

// AddSilence records silence sil (its ID is ignored) and returns it as stored, with its ID. A zero
// CreatedAt is the time of the call.
func (s *Store) AddSilence(ctx context.Context, sil incidents.Silence) (incidents.Silence, error) {
	if err := rules.ValidateSilence(sil); err != nil {
		return incidents.Silence{}, fmt.Errorf("add silence: %w", err)
	}
	if sil.CreatedAt.IsZero() {
		sil.CreatedAt = time.Now()
	}
	var out incidents.Silence
	err := s.write(ctx, func(tx pgx.Tx) (err error) {
		out, err = scanSilence(tx.QueryRow(ctx, `INSERT INTO silences
				(provider, model, until, reason, created_by, created_at)
			VALUES ($1, $2, $3, $4, $5, $6) RETURNING `+silenceColumns,
			sil.Provider, sil.Model, rules.Time(sil.Until), sil.Reason, sil.CreatedBy, rules.Time(sil.CreatedAt)))
		return err
	})
	if err != nil {
		return incidents.Silence{}, fmt.Errorf("add silence for %s: %w", sil.Provider, err)
	}
	return out, nil
}

// Silences returns the silences active at now (until after now), oldest first.
func (s *Store) Silences(ctx context.Context, now time.Time) ([]incidents.Silence, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+silenceColumns+` FROM silences WHERE until > $1 ORDER BY id`,
		rules.Time(now))
	if err != nil {
		return nil, fmt.Errorf("list silences: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (incidents.Silence, error) { return scanSilence(row) })
	if err != nil {
		return nil, fmt.Errorf("list silences: %w", err)
	}
	return out, nil
}

// DeleteSilence removes silence id, expired or not; incidents.ErrSilenceNotFound if absent.
func (s *Store) DeleteSilence(ctx context.Context, id int64) error {
	err := s.write(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM silences WHERE id = $1`, id)
		if err == nil && tag.RowsAffected() == 0 {
			err = incidents.ErrSilenceNotFound
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("delete silence %d: %w", id, err)
	}
	return nil
}

func scanSilence(row pgx.Row) (incidents.Silence, error) {
	var sil incidents.Silence
	err := row.Scan(&sil.ID, &sil.Provider, &sil.Model, &sil.Until, &sil.Reason, &sil.CreatedBy, &sil.CreatedAt)
	if err != nil {
		return incidents.Silence{}, err
	}
	sil.Until, sil.CreatedAt = sil.Until.UTC(), sil.CreatedAt.UTC()
	return sil, nil
}
