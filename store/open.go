package store

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"path/filepath"
	"time"

	"github.com/outagewatch/outagewatch/store/postgres"
	"github.com/outagewatch/outagewatch/store/sqlite"
)

// Options choose the database.
type Options struct {
	// PostgresDSN selects Postgres; empty selects the embedded SQLite file under DataDir.
	PostgresDSN string
	// DataDir holds the embedded SQLite database, outagewatch.db.
	DataDir string
	// Fence, for a replica of a cluster, fences every Postgres write by the cluster's lease
	// (postgres.Store.SetFence): the term this replica writes with, 0 when it does not lead.
	Fence func() int64
}

// Embedded reports whether o selects the embedded SQLite file.
func (o Options) Embedded() bool { return o.PostgresDSN == "" }

// Open opens Postgres when a DSN is configured, else the embedded SQLite file.
func Open(ctx context.Context, cfg Options, logger *slog.Logger) (Backend, string, error) {
	if cfg.PostgresDSN != "" {
		s, err := postgres.Open(ctx, cfg.PostgresDSN, logger)
		if err != nil {
			return nil, "postgres", fmt.Errorf("open postgres: %w", err)
		}
		if cfg.Fence != nil {
			s.SetFence(cfg.Fence)
			return s, "postgres (cluster)", nil
		}
		return s, "postgres", nil
	}
	path := filepath.Join(cfg.DataDir, "outagewatch.db")
	s, err := sqlite.Open(ctx, path, logger)
	if err != nil {
		return nil, "sqlite", fmt.Errorf("open sqlite %s: %w", path, err)
	}
	return s, "sqlite " + path, nil
}

// OpenInBackground retries opening the store with backoff and jitter until it succeeds or ctx
// ends; then it sets l and calls opened. It returns when done.
func OpenInBackground(ctx context.Context, cfg Options, l *Lazy, logger *slog.Logger, opened func(context.Context)) {
	backoff := time.Second
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff/2 + rand.N(backoff/2+1)):
		}
		octx, cancel := context.WithTimeout(ctx, 15*time.Second)
		b, what, err := Open(octx, cfg, logger)
		cancel()
		if err == nil {
			l.Set(b)
			logger.Info("store open", "store", what)
			opened(ctx)
			return
		}
		logger.Warn("store unreachable, will retry", "err", err, "retry_in", backoff)
		backoff = min(backoff*2, 30*time.Second)
	}
}
