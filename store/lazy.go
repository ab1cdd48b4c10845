package store

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/outagewatch/outagewatch/incidents"
	"github.com/outagewatch/outagewatch/store/postgres"
	"github.com/outagewatch/outagewatch/store/sqlite"
)

// Backend is what the daemon needs of a store; store/postgres and store/sqlite both provide it.
// Besides incidents' interfaces it serves the alert outbox, the deliveries of the targets
// besides Slack and the silences (the methods of alerts.Outbox, Settler, Reader, TargetStore
// and SilenceStore, which cmd/watcher asserts; store does not import alerts, its sibling) and
// keeps the engine's snapshot.
type Backend interface {
	incidents.Store
	incidents.Query
	Claim(ctx context.Context, now time.Time, limit int, lease time.Duration) ([]incidents.OutboxRow, error)
	Backlog(ctx context.Context, now time.Time) (n int, oldest time.Time, err error)
	Complete(ctx context.Context, id int64, at time.Time) error
	Retry(ctx context.Context, id int64, next time.Time, msg string) error
	Fail(ctx context.Context, id int64, msg string) error
	RegisterTargets(ctx context.Context, destinations []string, now time.Time) error
	ClaimDeliveries(ctx context.Context, destination string, now time.Time, limit int, lease time.Duration) ([]incidents.OutboxRow, error)
	DeliveryBacklog(ctx context.Context, destination string, now time.Time) (n int, oldest time.Time, err error)
	CompleteDelivery(ctx context.Context, id int64, at time.Time) error
	RetryDelivery(ctx context.Context, id int64, next time.Time, msg string) error
	FailDelivery(ctx context.Context, id int64, msg string) error
	SetThread(ctx context.Context, incidentID int64, channel, ts string) error
	Silences(ctx context.Context, now time.Time) ([]incidents.Silence, error)
	AddSilence(ctx context.Context, s incidents.Silence) (incidents.Silence, error)
	DeleteSilence(ctx context.Context, id int64) error
	SaveBaselines(ctx context.Context, name string, data []byte, at time.Time) error
	LoadBaselines(ctx context.Context, name string) ([]byte, error)
	Ping(ctx context.Context) error
	Close() error
}

var (
	_ Backend = (*postgres.Store)(nil)
	_ Backend = (*sqlite.Store)(nil)
)

// ErrNotOpen is what every call answers until the store has been opened.
var ErrNotOpen = errors.New("store not open yet")

// Lazy is the store as the rest of the daemon sees it: it answers ErrNotOpen until the
// database could be opened (Open, or OpenInBackground), so that a Postgres that is down when
// the daemon starts delays incidents, not detection or the health signal. Its zero value is
// ready to use and safe for concurrent use.
type Lazy struct {
	mu sync.RWMutex
	b  Backend
}

var (
	_ incidents.Store = (*Lazy)(nil)
	_ incidents.Query = (*Lazy)(nil)
	_ Baselines       = (*Lazy)(nil)
)

// Baselines keeps the detection engine's snapshot under a name.
type Baselines interface {
	SaveBaselines(ctx context.Context, name string, data []byte, at time.Time) error
	LoadBaselines(ctx context.Context, name string) ([]byte, error)
}

// Backend returns the open backend, or ErrNotOpen.
func (l *Lazy) Backend() (Backend, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.b == nil {
		return nil, ErrNotOpen
	}
	return l.b, nil
}

// Set makes b the backend every call goes to.
func (l *Lazy) Set(b Backend) {
	l.mu.Lock()
	l.b = b
	l.mu.Unlock()
}

func (l *Lazy) Apply(ctx context.Context, c incidents.Change) (incidents.Incident, error) {
	b, err := l.Backend()
	if err != nil {
		return incidents.Incident{}, err
	}
	return b.Apply(ctx, c)
}

func (l *Lazy) Active(ctx context.Context) ([]incidents.Incident, error) {
	b, err := l.Backend()
	if err != nil {
		return nil, err
	}
	return b.Active(ctx)
}

func (l *Lazy) List(ctx context.Context, f incidents.Filter) ([]incidents.Incident, error) {
	b, err := l.Backend()
	if err != nil {
		return nil, err
	}
	return b.List(ctx, f)
}

func (l *Lazy) Get(ctx context.Context, id int64) (incidents.Incident, []incidents.Event, error) {
	b, err := l.Backend()
	if err != nil {
		return incidents.Incident{}, nil, err
	}
	return b.Get(ctx, id)
}

func (l *Lazy) Claim(ctx context.Context, now time.Time, limit int, lease time.Duration) ([]incidents.OutboxRow, error) {
	b, err := l.Backend()
	if err != nil {
		return nil, err
	}
	return b.Claim(ctx, now, limit, lease)
}

func (l *Lazy) Backlog(ctx context.Context, now time.Time) (int, time.Time, error) {
	b, err := l.Backend()
	if err != nil {
		return 0, time.Time{}, err
	}
	return b.Backlog(ctx, now)
}

func (l *Lazy) Complete(ctx context.Context, id int64, at time.Time) error {
	b, err := l.Backend()
	if err != nil {
		return err
	}
	return b.Complete(ctx, id, at)
}

func (l *Lazy) Retry(ctx context.Context, id int64, next time.Time, msg string) error {
	b, err := l.Backend()
	if err != nil {
		return err
	}
	return b.Retry(ctx, id, next, msg)
}

func (l *Lazy) Fail(ctx context.Context, id int64, msg string) error {
	b, err := l.Backend()
	if err != nil {
		return err
	}
	return b.Fail(ctx, id, msg)
}

func (l *Lazy) RegisterTargets(ctx context.Context, destinations []string, now time.Time) error {
	b, err := l.Backend()
	if err != nil {
		return err
	}
	return b.RegisterTargets(ctx, destinations, now)
}

func (l *Lazy) ClaimDeliveries(ctx context.Context, destination string, now time.Time, limit int, lease time.Duration) ([]incidents.OutboxRow, error) {
	b, err := l.Backend()
	if err != nil {
		return nil, err
	}
	return b.ClaimDeliveries(ctx, destination, now, limit, lease)
}

func (l *Lazy) DeliveryBacklog(ctx context.Context, destination string, now time.Time) (int, time.Time, error) {
	b, err := l.Backend()
	if err != nil {
		return 0, time.Time{}, err
	}
	return b.DeliveryBacklog(ctx, destination, now)
}

func (l *Lazy) CompleteDelivery(ctx context.Context, id int64, at time.Time) error {
	b, err := l.Backend()
	if err != nil {
		return err
	}
	return b.CompleteDelivery(ctx, id, at)
}

func (l *Lazy) RetryDelivery(ctx context.Context, id int64, next time.Time, msg string) error {
	b, err := l.Backend()
	if err != nil {
		return err
	}
	return b.RetryDelivery(ctx, id, next, msg)
}

func (l *Lazy) FailDelivery(ctx context.Context, id int64, msg string) error {
	b, err := l.Backend()
	if err != nil {
		return err
	}
	return b.FailDelivery(ctx, id, msg)
}

func (l *Lazy) SetThread(ctx context.Context, incidentID int64, channel, ts string) error {
	b, err := l.Backend()
	if err != nil {
		return err
	}
	return b.SetThread(ctx, incidentID, channel, ts)
}

func (l *Lazy) Silences(ctx context.Context, now time.Time) ([]incidents.Silence, error) {
	b, err := l.Backend()
	if err != nil {
		return nil, err
	}
	return b.Silences(ctx, now)
}

func (l *Lazy) AddSilence(ctx context.Context, s incidents.Silence) (incidents.Silence, error) {
	b, err := l.Backend()
	if err != nil {
		return incidents.Silence{}, err
	}
	return b.AddSilence(ctx, s)
}

func (l *Lazy) DeleteSilence(ctx context.Context, id int64) error {
	b, err := l.Backend()
	if err != nil {
		return err
	}
	return b.DeleteSilence(ctx, id)
}

// Check pings the database for /readyz.
func (l *Lazy) Check(ctx context.Context) error {
	b, err := l.Backend()
	if err != nil {
		return err
	}
	return b.Ping(ctx)
}

// Close closes the database, if it was opened.
func (l *Lazy) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.b == nil {
		return nil
	}
	err := l.b.Close()
	l.b = nil
	return err
}

// SaveBaselines saves the engine's snapshot under name.
func (l *Lazy) SaveBaselines(ctx context.Context, name string, data []byte, at time.Time) error {
	b, err := l.Backend()
	if err != nil {
		return err
	}
	return b.SaveBaselines(ctx, name, data, at)
}

// LoadBaselines loads the snapshot saved under name; nil when none was.
func (l *Lazy) LoadBaselines(ctx context.Context, name string) ([]byte, error) {
	b, err := l.Backend()
	if err != nil {
		return nil, err
	}
	return b.LoadBaselines(ctx, name)
}
