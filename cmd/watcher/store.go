package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"time"

	"github.com/outagewatch/outagewatch/alerts"
	"github.com/outagewatch/outagewatch/incidents"
	"github.com/outagewatch/outagewatch/store/postgres"
	"github.com/outagewatch/outagewatch/store/sqlite"
)

// backend is what the daemon needs of a store; store/postgres and store/sqlite both provide it.
type backend interface {
	incidents.Store
	incidents.Query
	alerts.Outbox
	alerts.Settler
	alerts.Reader
	alerts.SilenceStore
	SaveBaselines(ctx context.Context, name string, data []byte, at time.Time) error
	LoadBaselines(ctx context.Context, name string) ([]byte, error)
	Ping(ctx context.Context) error
	Close() error
}

var (
	_ backend = (*postgres.Store)(nil)
	_ backend = (*sqlite.Store)(nil)
)

// errStoreNotOpen is what every call answers until the store has been opened.
var errStoreNotOpen = errors.New("store not open yet")

// lazyStore is the store as the rest of the daemon sees it: it answers errStoreNotOpen until
// the database could be opened, so that a Postgres that is down when the daemon starts delays
// incidents, not detection or the health signal.
type lazyStore struct {
	mu sync.RWMutex
	b  backend
}

var (
	_ incidents.Store     = (*lazyStore)(nil)
	_ incidents.Query     = (*lazyStore)(nil)
	_ alerts.Outbox       = (*lazyStore)(nil)
	_ alerts.Settler      = (*lazyStore)(nil)
	_ alerts.Reader       = (*lazyStore)(nil)
	_ alerts.SilenceStore = (*lazyStore)(nil)
)

func (l *lazyStore) get() (backend, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.b == nil {
		return nil, errStoreNotOpen
	}
	return l.b, nil
}

func (l *lazyStore) set(b backend) {
	l.mu.Lock()
	l.b = b
	l.mu.Unlock()
}

func (l *lazyStore) Apply(ctx context.Context, c incidents.Change) (incidents.Incident, error) {
	b, err := l.get()
	if err != nil {
		return incidents.Incident{}, err
	}
	return b.Apply(ctx, c)
}

func (l *lazyStore) Active(ctx context.Context) ([]incidents.Incident, error) {
	b, err := l.get()
	if err != nil {
		return nil, err
	}
	return b.Active(ctx)
}

func (l *lazyStore) List(ctx context.Context, f incidents.Filter) ([]incidents.Incident, error) {
	b, err := l.get()
	if err != nil {
		return nil, err
	}
	return b.List(ctx, f)
}

func (l *lazyStore) Get(ctx context.Context, id int64) (incidents.Incident, []incidents.Event, error) {
	b, err := l.get()
	if err != nil {
		return incidents.Incident{}, nil, err
	}
	return b.Get(ctx, id)
}

func (l *lazyStore) Claim(ctx context.Context, now time.Time, limit int, lease time.Duration) ([]incidents.OutboxRow, error) {
	b, err := l.get()
	if err != nil {
		return nil, err
	}
	return b.Claim(ctx, now, limit, lease)
}

func (l *lazyStore) Backlog(ctx context.Context, now time.Time) (int, time.Time, error) {
	b, err := l.get()
	if err != nil {
		return 0, time.Time{}, err
	}
	return b.Backlog(ctx, now)
}

func (l *lazyStore) Complete(ctx context.Context, id int64, at time.Time) error {
	b, err := l.get()
	if err != nil {
		return err
	}
	return b.Complete(ctx, id, at)
}

func (l *lazyStore) Retry(ctx context.Context, id int64, next time.Time, msg string) error {
	b, err := l.get()
	if err != nil {
		return err
	}
	return b.Retry(ctx, id, next, msg)
}

func (l *lazyStore) Fail(ctx context.Context, id int64, msg string) error {
	b, err := l.get()
	if err != nil {
		return err
	}
	return b.Fail(ctx, id, msg)
}

func (l *lazyStore) SetThread(ctx context.Context, incidentID int64, channel, ts string) error {
	b, err := l.get()
	if err != nil {
		return err
	}
	return b.SetThread(ctx, incidentID, channel, ts)
}

func (l *lazyStore) Silences(ctx context.Context, now time.Time) ([]incidents.Silence, error) {
	b, err := l.get()
	if err != nil {
		return nil, err
	}
	return b.Silences(ctx, now)
}

func (l *lazyStore) AddSilence(ctx context.Context, s incidents.Silence) (incidents.Silence, error) {
	b, err := l.get()
	if err != nil {
		return incidents.Silence{}, err
	}
	return b.AddSilence(ctx, s)
}

func (l *lazyStore) DeleteSilence(ctx context.Context, id int64) error {
	b, err := l.get()
	if err != nil {
		return err
	}
	return b.DeleteSilence(ctx, id)
}

// Check pings the database for /readyz.
func (l *lazyStore) Check(ctx context.Context) error {
	b, err := l.get()
	if err != nil {
		return err
	}
	return b.Ping(ctx)
}

// Close closes the database, if it was opened.
func (l *lazyStore) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.b == nil {
		return nil
	}
	err := l.b.Close()
	l.b = nil
	return err
}

// openBackend opens Postgres when a DSN is configured, else the embedded SQLite file.
func openBackend(ctx context.Context, cfg StoreConfig, logger *slog.Logger) (backend, string, error) {
	if cfg.PostgresDSN != "" {
		s, err := postgres.Open(ctx, string(cfg.PostgresDSN), logger)
		if err != nil {
			return nil, "postgres", fmt.Errorf("open postgres: %w", err)
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

// openInBackground retries opening the store with backoff until it succeeds or ctx ends, then
// calls opened.
func openInBackground(ctx context.Context, cfg StoreConfig, l *lazyStore, logger *slog.Logger, opened func(context.Context)) {
	backoff := time.Second
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff/2 + rand.N(backoff/2+1)):
		}
		octx, cancel := context.WithTimeout(ctx, 15*time.Second)
		b, what, err := openBackend(octx, cfg, logger)
		cancel()
		if err == nil {
			l.set(b)
			logger.Info("store open", "store", what)
			opened(ctx)
			return
		}
		logger.Warn("store unreachable, will retry", "err", err, "retry_in", backoff)
		backoff = min(backoff*2, 30*time.Second)
	}
}
