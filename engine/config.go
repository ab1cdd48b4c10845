package engine

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/outagewatch/outagewatch/detectors"
)

// Board receives the statuses of every series after each change, with the transitions that
// made it. It is called from the fan-out goroutine only, in order; it must not keep statuses or
// transitions after it returns (health.Board copies them).
type Board interface {
	Update(statuses []detectors.Status, transitions []detectors.Transition)
}

// TransitionHandler receives every batch of transitions, in order, from the fan-out goroutine.
// It must not block on I/O (incidents.Manager.Handle queues) and must not keep the slice.
type TransitionHandler interface {
	Handle(transitions []detectors.Transition)
}

// TransitionHandlerFunc adapts a function to TransitionHandler.
type TransitionHandlerFunc func([]detectors.Transition)

// Handle calls f.
func (f TransitionHandlerFunc) Handle(trs []detectors.Transition) { f(trs) }

// Snapshots keeps the engine's snapshot between processes (store/postgres, store/sqlite, or
// the daemon's lazy store). LoadBaselines answers nil, nil when nothing was saved. Both may
// fail while the database is unreachable; the runner retries at its next save.
type Snapshots interface {
	SaveBaselines(ctx context.Context, name string, data []byte, at time.Time) error
	LoadBaselines(ctx context.Context, name string) ([]byte, error)
}

// Config configures the runner.
type Config struct {
	// Detectors configures the engine.
	Detectors detectors.Config
	// SnapshotInterval is how often the snapshot is saved while running; a kill -9 loses at
	// most this much learning. A state change saves sooner (at most every SnapshotMinGap).
	SnapshotInterval time.Duration
	// SnapshotMinGap bounds how often state changes trigger a save.
	SnapshotMinGap time.Duration
	// FanoutQueue bounds the transitions waiting for the fan-out goroutine.
	FanoutQueue int
}

// DefaultConfig returns the detectors' defaults, a snapshot every 5 minutes and after state
// changes (at most every 10 s), and a fan-out queue of 4096 changes.
func DefaultConfig() Config {
	return Config{
		Detectors:        detectors.DefaultConfig(),
		SnapshotInterval: 5 * time.Minute,
		SnapshotMinGap:   10 * time.Second,
		FanoutQueue:      4096,
	}
}

// Validate reports every invalid field.
func (c Config) Validate() error {
	var errs []error
	if err := c.Detectors.Validate(); err != nil {
		errs = append(errs, err)
	}
	if c.SnapshotInterval <= 0 {
		errs = append(errs, errors.New("snapshot interval: must be positive"))
	}
	if c.SnapshotMinGap < 0 {
		errs = append(errs, errors.New("snapshot min gap: must not be negative"))
	}
	if c.FanoutQueue < 1 {
		errs = append(errs, errors.New("fan-out queue: must be at least 1"))
	}
	return errors.Join(errs...)
}

// Companion is state of another part that is saved and restored with the baselines, under its
// own name (the hosts ingest learned). Its methods must be safe to call from the runner's
// snapshot goroutine while the part runs.
type Companion interface {
	SnapshotName() string
	Snapshot() ([]byte, error)
	Restore(data []byte) error
}

// Deps are what the runner publishes to and saves into. Board and Registerer are required.
type Deps struct {
	Board       Board
	Transitions []TransitionHandler
	// Snapshots, when nil, keeps nothing across restarts.
	Snapshots Snapshots
	// Companions are saved and restored with the baselines, each under its SnapshotName.
	Companions []Companion
	Registerer prometheus.Registerer
	Logger     *slog.Logger
	// Now is the clock; nil is time.Now.
	Now func() time.Time
}
