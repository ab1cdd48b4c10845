package engine

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/outagewatch/outagewatch/detectors"
)

// TickEvery is how often the engine's time advances without calls (silences, hold-downs).
const TickEvery = time.Second

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
		verdict := "provider"
		if !tr.Series.Caller.IsZero() {
			verdict = "local"
		}
		r.m.transitions.WithLabelValues(tr.To.String(), string(ev.Detector), verdict).Inc()
		level := slog.LevelInfo
		if tr.To == detectors.StateDown || tr.To == detectors.StateDegraded {
			level = slog.LevelWarn
		}
		r.logger.Log(context.Background(), level, "series state changed",
			"provider", tr.Series.Provider, "model", tr.Series.Model, "caller", tr.Series.Caller.String(),
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
