package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/outagewatch/outagewatch/store/internal/rules"
)

// SaveBaselines stores data under name, replacing what was there. The store keeps no reference
// to data.
func (s *Store) SaveBaselines(ctx context.Context, name string, data []byte, at time.Time) error {
	if data == nil {
		data = []byte{}
	}
	err := s.write(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO baselines (name, data, updated_at) VALUES ($1, $2, $3)
			ON CONFLICT (name) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at`,
			name, data, rules.Time(at))
		return err
	})
	if err != nil {
		return fmt.Errorf("save baselines %q: %w", name, err)
	}
	return nil
}

// LoadBaselines returns the data stored under name (non-nil, possibly empty), or nil and no error
// when there is none.
func (s *Store) LoadBaselines(ctx context.Context, name string) ([]byte, error) {
	var data []byte
	err := s.pool.QueryRow(ctx, `SELECT data FROM baselines WHERE name = $1`, name).Scan(&data)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load baselines %q: %w", name, err)
	}
	if data == nil {
		data = []byte{}
	}
	return data, nil
}
