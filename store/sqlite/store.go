package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/pressly/goose/v3"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/outagewatch/outagewatch/incidents"
	"github.com/outagewatch/outagewatch/migrations"
)

// busyTimeoutMillis is how long a statement waits for another process's lock before failing
// with SQLITE_BUSY (a retryable error).
const busyTimeoutMillis = 10000

// Store is the SQLite incident store. It is safe for concurrent use by several goroutines.
type Store struct {
	db *sql.DB
}

var (
	_ incidents.Store = (*Store)(nil)
	_ incidents.Query = (*Store)(nil)
)

// Open opens the database file at path, creating it and its directory when missing, applies the
// pending migrations (a no-op when there are none), and returns the store. A nil logger
// discards.
func Open(ctx context.Context, path string, logger *slog.Logger) (*Store, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	logger = logger.With("component", "store", "dialect", "sqlite")
	if path == "" || strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("open sqlite %q: the path must be set and hold no '?' or '#'", path)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	dsn := path + "?" + url.Values{
		"_pragma": {
			fmt.Sprintf("busy_timeout(%d)", busyTimeoutMillis),
			"journal_mode(WAL)",
			"synchronous(NORMAL)", // durable in WAL mode except on power loss
			"foreign_keys(ON)",
		},
		"_txlock": {"immediate"},
	}.Encode()
	if err := migrate(ctx, dsn, logger); err != nil {
		return nil, err
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	// One connection: SQLite has one writer anyway, and with it every transaction is exclusive,
	// which Apply relies on the way the Postgres store relies on row locks.
	db.SetMaxOpenConns(1)
	db.SetConnMaxIdleTime(0)
	db.SetConnMaxLifetime(0)
	if err := db.PingContext(ctx); err != nil {
		return nil, errors.Join(fmt.Errorf("open sqlite: %w", err), db.Close())
	}
	return &Store{db: db}, nil
}

// migrate applies the pending migrations over a database handle of its own.
func migrate(ctx context.Context, dsn string, logger *slog.Logger) (err error) {
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer func() { err = errors.Join(err, db.Close()) }()
	db.SetMaxOpenConns(1)
	p, err := goose.NewProvider(goose.DialectSQLite3, db, migrations.SQLite, goose.WithDisableGlobalRegistry(true))
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

// Close closes the database.
func (s *Store) Close() error {
	return s.db.Close()
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.db.PingContext(ctx); err != nil {
		return fmt.Errorf("ping sqlite: %w", err)
	}
	return nil
}
