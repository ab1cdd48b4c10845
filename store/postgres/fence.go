package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// ErrFenced is a write refused because this replica does not hold the cluster's lease (or no
// longer does): docs/cluster.md, "Fencing".
var ErrFenced = errors.New("refused: this replica is not the cluster's leader")

// fenceCode is the SQLSTATE outagewatch_fence raises (migrations/postgres/00004_cluster.sql).
const fenceCode = "OWFEN"

// SetFence makes every write of the store fenced by the cluster's lease (cluster/lease): term
// returns the term this replica writes with, 0 when it does not lead. A write then runs in a
// transaction that first calls outagewatch_fence(term), which refuses it (ErrFenced) unless
// that term still holds an unexpired lease, and holds the lease row against a takeover until
// the write commits. Without a fence (a single node), writes are not fenced. Call it before the
// store is used.
func (s *Store) SetFence(term func() int64) { s.fence = term }

// write runs fn in a transaction, fenced when the store has a fence.
func (s *Store) write(ctx context.Context, fn func(pgx.Tx) error) error {
	if s.fence == nil {
		return pgx.BeginFunc(ctx, s.pool, fn)
	}
	term := s.fence()
	if term == 0 {
		return ErrFenced
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT outagewatch_fence($1)`, term); err != nil {
			return err
		}
		return fn(tx)
	})
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == fenceCode {
		return fmt.Errorf("%w (term %d)", ErrFenced, term)
	}
	return err
}
