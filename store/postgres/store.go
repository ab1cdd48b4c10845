package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/outagewatch/outagewatch/incidents"
	"github.com/outagewatch/outagewatch/migrations"
)

// migrationLockID is the advisory lock key under which replicas migrate; it differs from goose's
// default so that another goose-managed schema in the same database does not contend with ours.
const migrationLockID int64 = 0x6f75746167 // "outag"

// Store is the PostgreSQL incident store. It is safe for concurrent use by several goroutines and
// several processes sharing one database.
type Store struct {
	pool *pgxpool.Pool
	// fence, when set, fences every write by the cluster's lease (SetFence).
	fence func() int64
}

var (
	_ incidents.Store = (*Store)(nil)
	_ incidents.Query = (*Store)(nil)
)

// Open connects to the database at dsn (a URL or key=value string, as pgx parses it), applies
// the pending migrations under a session advisory lock (a no-op when there are none), and
// returns the store. A nil logger discards.
func Open(ctx context.Context, dsn string, logger *slog.Logger) (*Store, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	logger = logger.With("component", "store", "dialect", "postgres")
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", err) // pgconn redacts the password
	}
	if err := migrate(ctx, cfg.ConnConfig, logger); err != nil {
		return nil, err
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	return &Store{pool: pool}, nil
}

// migrate applies the pending migrations over a connection of its own, closed afterwards, so
// that the session lock can never outlive the migration on a pooled connection.
func migrate(ctx context.Context, cc *pgx.ConnConfig, logger *slog.Logger) (err error) {
	db := stdlib.OpenDB(*cc.Copy())
	defer func() { err = errors.Join(err, db.Close()) }()
	// Retry every second, for up to five minutes, while another replica migrates.
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(migrationLockID), lock.WithLockTimeout(1, 300))
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, migrations.Postgres,
		goose.WithSessionLocker(locker), goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	results, err := p.Up(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if len(results) > 0 {
		logger.InfoContext(ctx, "migrations applied", "count", len(results),
			"version", results[len(results)-1].Source.Version)
	}
	return nil
}

// Close closes the connection pool, waiting for connections in use to be released. It returns
// no error (the pool reports none) and has this signature so that both stores are io.Closers.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("ping postgres: %w", err)
	}
	return nil
}
