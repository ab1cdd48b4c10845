package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/outagewatch/outagewatch/incidents"
	"github.com/outagewatch/outagewatch/store/internal/rules"
)

// silenceColumns are the columns scanSilence reads, in order.
const silenceColumns = `id, provider, model, until, reason, created_by, created_at`

// AddSilence records silence sil (its ID is ignored) and returns it as stored, with its ID. A
// zero CreatedAt is the time of the call.
func (s *Store) AddSilence(ctx context.Context, sil incidents.Silence) (incidents.Silence, error) {
	if err := rules.ValidateSilence(sil); err != nil {
		return incidents.Silence{}, fmt.Errorf("add silence: %w", err)
	}
	if sil.CreatedAt.IsZero() {
		sil.CreatedAt = time.Now()
	}
	out, err := scanSilence(s.db.QueryRowContext(ctx, `INSERT INTO silences
			(provider, model, until, reason, created_by, created_at)
		VALUES (?, ?, ?, ?, ?, ?) RETURNING `+silenceColumns,
		sil.Provider, sil.Model, nanos(sil.Until), sil.Reason, sil.CreatedBy, nanos(sil.CreatedAt)))
	if err != nil {
		return incidents.Silence{}, fmt.Errorf("add silence for %s: %w", sil.Provider, err)
	}
	return out, nil
}

// Silences returns the silences active at now (until after now), oldest first.
func (s *Store) Silences(ctx context.Context, now time.Time) ([]incidents.Silence, error) {
	out, err := collect(ctx, s.db, scanSilence, `SELECT `+silenceColumns+` FROM silences
		WHERE until > ? ORDER BY id`, nanos(now))
	if err != nil {
		return nil, fmt.Errorf("list silences: %w", err)
	}
	return out, nil
}

// DeleteSilence removes silence id, expired or not; incidents.ErrSilenceNotFound if absent.
func (s *Store) DeleteSilence(ctx context.Context, id int64) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM silences WHERE id = ?`, id)
	if err == nil {
		var n int64
		if n, err = res.RowsAffected(); err == nil && n == 0 {
			err = incidents.ErrSilenceNotFound
		}
	}
	if err != nil {
		return fmt.Errorf("delete silence %d: %w", id, err)
	}
	return nil
}

func scanSilence(r row) (incidents.Silence, error) {
	var (
		sil              incidents.Silence
		until, createdAt int64
	)
	err := r.Scan(&sil.ID, &sil.Provider, &sil.Model, &until, &sil.Reason, &sil.CreatedBy, &createdAt)
	if err != nil {
		return incidents.Silence{}, err
	}
	sil.Until, sil.CreatedAt = fromNanos(until), fromNanos(createdAt)
	return sil, nil
}
