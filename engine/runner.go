package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/outagewatch/outagewatch/detectors"
)

// TickEvery is how often the engine's time advances without calls (silences, hold-downs).
const TickEvery = time.Second

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

// Deps are what the runner publishes to and saves into. Board and Registerer are required.
type Deps struct {
	Board       Board
	Transitions []TransitionHandler
	// Snapshots, when nil, keeps nothing across restarts.
	Snapshots  Snapshots
	Registerer prometheus.Registerer
	Logger     *slog.Logger
	// Now is the clock; nil is time.Now.
	Now func() time.Time
}

// snapshotName is the key of the engine's snapshot in the store.
const snapshotName = "engine"

// Runner owns a detectors.Engine. Ingest hands it calls (ConsumeCalls, from the pipeline's
// goroutine) and Run advances its time every second; mu serialises both, since the engine is
// not safe for concurrent use. Every change leaves mu through the fan-out queue, so that the
// board, the incident manager and the logs never hold up detection.
type Runner struct {
	cfg    Config
	deps   Deps
	logger *slog.Logger
	now    func() time.Time
	m      *metrics
	out    *fanout

	// mu guards the engine, the scratch slices and seen.
	mu       sync.Mutex
	engine   *detectors.Engine
	trans    []detectors.Transition
	statuses []detectors.Status
	// seen is set by the first call: a snapshot is restored only into an engine that has
	// seen none (a database that comes back late must not overwrite what was learnt since).
	seen bool

	// dirty asks the saver for an early snapshot after a state change.
	dirty chan struct{}
}

// New builds a runner with an empty engine. It starts nothing: call Restore (optionally), then
// Run.
func New(cfg Config, deps Deps) (*Runner, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.Board == nil || deps.Registerer == nil {
		return nil, errors.New("engine: a board and a registerer are required")
	}
	e, err := detectors.NewEngine(cfg.Detectors)
	if err != nil {
		return nil, err
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	r := &Runner{
		cfg: cfg, deps: deps, logger: deps.Logger.With("component", "engine"), now: deps.Now,
		engine: e, dirty: make(chan struct{}, 1),
	}
	r.m = newMetrics(deps.Registerer)
	r.out = newFanout(cfg.FanoutQueue, r.m)
	r.m.register(deps.Registerer, r.out, r.capped)
	return r, nil
}

// ConsumeCalls feeds a batch of calls to the engine. It blocks only when the fan-out queue is
// full (counted in outagewatch_engine_fanout_waits_total).
func (r *Runner) ConsumeCalls(calls []detectors.Call) {
	if len(calls) == 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seen = true
	now := r.now()
	r.trans = r.trans[:0]
	for i := range calls {
		r.trans = r.engine.Observe(now, &calls[i], r.trans)
		if lag := now.Sub(calls[i].Time); lag > 0 && !calls[i].Time.IsZero() {
			r.m.lag.Observe(lag.Seconds())
		}
	}
	if len(r.trans) > 0 {
		r.publish(now)
	}
}

// Tick advances the engine's time to now and publishes the statuses (their figures move every
// second). Run calls it every TickEvery; tests may call it directly.
func (r *Runner) Tick() {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	r.trans = r.engine.Tick(now, r.trans[:0])
	r.publish(now)
}

// publish hands the statuses and the transitions in r.trans to the fan-out. mu is held.
func (r *Runner) publish(now time.Time) {
	r.statuses = r.engine.Status(now, r.statuses[:0])
	r.out.push(r.statuses, r.trans)
	if len(r.trans) > 0 {
		select {
		case r.dirty <- struct{}{}:
		default:
		}
	}
}

// Run ticks the engine, delivers the fan-out and saves snapshots until ctx ends; then it
// delivers what is queued and returns. It does not save a last snapshot: the daemon calls
// Save once ingest has drained into the engine.
func (r *Runner) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	wg.Go(func() { r.deliver(ctx) })
	if r.deps.Snapshots != nil {
		wg.Go(func() { r.saveLoop(ctx) })
	}
	t := time.NewTicker(TickEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			wg.Wait()
			return nil
		case <-t.C:
			r.Tick()
		}
	}
}

// deliver runs the fan-out until ctx ends, then delivers what is left.
func (r *Runner) deliver(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			r.out.stop()
			r.out.drain(r.handle)
			return
		case <-r.out.wake:
			r.out.drain(r.handle)
		}
	}
}

// handle is one published change, in order: the board first (routers see it soonest), then the
// transition handlers, the logs and the metrics.
func (r *Runner) handle(statuses []detectors.Status, trs []detectors.Transition) {
	r.deps.Board.Update(statuses, trs)
	if len(trs) == 0 {
		return
	}
	for _, h := range r.deps.Transitions {
		h.Handle(trs)
	}
	for _, tr := range trs {
		ev := tr.Evidence
		r.m.transitions.WithLabelValues(tr.To.String(), string(ev.Detector)).Inc()
		level := slog.LevelInfo
		if tr.To == detectors.StateDown || tr.To == detectors.StateDegraded {
			level = slog.LevelWarn
		}
		r.logger.Log(context.Background(), level, "series state changed",
			"provider", tr.Series.Provider, "model", tr.Series.Model,
			"from", tr.From.String(), "to", tr.To.String(), "detector", string(ev.Detector),
			"observed", ev.Observed, "baseline", ev.Baseline, "calls", ev.SampleSize,
			"since", ev.ChangePoint, "sample_error", ev.SampleError)
	}
}

// Flush delivers every change published so far before it returns; for tests and shutdown.
func (r *Runner) Flush() { r.out.drain(r.handle) }

// Statuses returns the current status of every series, from the engine itself.
func (r *Runner) Statuses() []detectors.Status {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.engine.Status(r.now(), nil)
}

// capped returns the calls the engine refused (providers past the cap) and folded into
// detectors.OtherModel (models past the cap).
func (r *Runner) capped() (refused, folded uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.engine.Refused(), r.engine.Folded()
}

// errNoSnapshots is returned by Save and Restore without a snapshot store.
var errNoSnapshots = errors.New("engine: no snapshot store")

// Snapshot encodes the engine's state and baselines.
func (r *Runner) Snapshot() ([]byte, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.engine.Snapshot()
}

// Save writes a snapshot to the store.
func (r *Runner) Save(ctx context.Context) error {
	if r.deps.Snapshots == nil {
		return errNoSnapshots
	}
	start := r.now()
	data, err := r.Snapshot()
	if err != nil {
		return err
	}
	if err := r.deps.Snapshots.SaveBaselines(ctx, snapshotName, data, start); err != nil {
		r.m.snapshotErrors.Inc()
		return fmt.Errorf("save snapshot: %w", err)
	}
	r.m.snapshotBytes.Set(float64(len(data)))
	r.m.snapshotSaved.SetToCurrentTime()
	return nil
}

// Restore loads the snapshot an earlier process saved and publishes the restored statuses at
// once, so that the board answers with the states of before the restart before any traffic
// comes. It restores nothing, and says so, when the engine has already seen calls or nothing
// was saved; it reports whether it restored.
func (r *Runner) Restore(ctx context.Context) (bool, error) {
	if r.deps.Snapshots == nil {
		return false, errNoSnapshots
	}
	data, err := r.deps.Snapshots.LoadBaselines(ctx, snapshotName)
	if err != nil {
		return false, fmt.Errorf("load snapshot: %w", err)
	}
	if data == nil {
		r.logger.Info("no saved snapshot: cold start")
		return false, nil
	}
	restored, series, err := r.restore(data)
	if err != nil || !restored {
		return false, err
	}
	r.Flush()
	r.logger.Info("snapshot restored", "bytes", len(data), "series", series)
	return true, nil
}

// restore loads data into the engine, unless it has seen calls, and publishes the statuses.
func (r *Runner) restore(data []byte) (bool, int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.seen {
		r.logger.Info("snapshot not restored: calls came first")
		return false, 0, nil
	}
	if err := r.engine.Restore(data); err != nil {
		return false, 0, fmt.Errorf("restore snapshot: %w", err)
	}
	r.trans = r.trans[:0]
	r.publish(r.now())
	return true, len(r.statuses), nil
}

// saveLoop saves a snapshot every SnapshotInterval and, at most every SnapshotMinGap, after
// state changes, until ctx ends. Failures are retried at the next occasion.
func (r *Runner) saveLoop(ctx context.Context) {
	t := time.NewTicker(r.cfg.SnapshotInterval)
	defer t.Stop()
	var last time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-r.dirty:
			if wait := r.cfg.SnapshotMinGap - r.now().Sub(last); wait > 0 {
				select {
				case <-ctx.Done():
					return
				case <-time.After(wait):
				}
			}
		}
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		if err := r.Save(sctx); err != nil {
			r.logger.Warn("save snapshot, will retry", "err", err)
		}
		cancel()
		last = r.now()
	}
}
