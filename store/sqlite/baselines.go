package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// SaveBaselines stores data under name, replacing what was there. The store keeps no reference
// to data.
func (s *Store) SaveBaselines(ctx context.Context, name string, data []byte, at time.Time) error {
	if data == nil {
		data = []byte{}
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO baselines (name, data, updated_at) VALUES (?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at`,
		name, data, nanos(at))
	if err != nil {
		return fmt.Errorf("save baselines %q: %w", name, err)
	}
	return nil
}

// LoadBaselines returns the data stored under name (non-nil, possibly empty), or nil and no error
// when there is none.
func (s *Store) LoadBaselines(ctx context.Context, name string) ([]byte, error) {
	var data []byte
	err := s.db.QueryRowContext(ctx, `SELECT data FROM baselines WHERE name = ?`, name).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
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
