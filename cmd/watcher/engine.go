package main

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/outagewatch/outagewatch/detectors"
	"github.com/outagewatch/outagewatch/health"
)

// tickEvery is how often the engine's time advances without calls (silences, hold-downs).
const tickEvery = time.Second

// engineRunner owns the detection engine. Ingest hands it calls on the pipeline's goroutine
// (ConsumeCalls) and Run advances its time every second; mu serialises both, since the engine
// is not safe for concurrent use. After every change it publishes to the board, which every
// reader uses instead of the engine.
type engineRunner struct {
	mu       sync.Mutex
	engine   *detectors.Engine
	board    *health.Board
	logger   *slog.Logger
	now      func() time.Time
	trans    []detectors.Transition // scratch, guarded by mu
	statuses []detectors.Status     // scratch, guarded by mu

	transitions *prometheus.CounterVec
	lag         prometheus.Histogram
	// onTransitions, when set, receives every batch of transitions (the incident manager; it
	// never blocks). It is called with mu held.
	onTransitions func([]detectors.Transition)
}

func newEngineRunner(cfg detectors.Config, board *health.Board, reg prometheus.Registerer, logger *slog.Logger) (*engineRunner, error) {
	e, err := detectors.NewEngine(cfg)
	if err != nil {
		return nil, err
	}
	f := promauto.With(reg)
	r := &engineRunner{
		engine: e, board: board, logger: logger.With("component", "engine"), now: time.Now,
		transitions: f.NewCounterVec(prometheus.CounterOpts{
			Name: "outagewatch_engine_transitions_total",
			Help: "State changes decided by the detection engine, by the state entered and the detector that decided.",
		}, []string{"to", "detector"}),
		lag: f.NewHistogram(prometheus.HistogramOpts{
			Name:    "outagewatch_engine_lag_seconds",
			Help:    "Time from a call's end (its span's end time) to the engine seeing it.",
			Buckets: []float64{0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30, 60},
		}),
	}
	for _, s := range detectors.States() {
		r.transitions.WithLabelValues(s.String(), "")
	}
	return r, nil
}

// ConsumeCalls feeds a batch of calls to the engine.
func (r *engineRunner) ConsumeCalls(calls []detectors.Call) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	r.trans = r.trans[:0]
	for i := range calls {
		r.trans = r.engine.Observe(now, &calls[i], r.trans)
		if lag := now.Sub(calls[i].Time); lag > 0 && !calls[i].Time.IsZero() {
			r.lag.Observe(lag.Seconds())
		}
	}
	if len(r.trans) > 0 {
		r.publish(now)
	}
}

// tick advances the engine's time and publishes the statuses (their figures move every second).
func (r *engineRunner) tick() {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	r.trans = r.engine.Tick(now, r.trans[:0])
	r.publish(now)
}

// publish hands the statuses and the transitions in r.trans to the board, and logs and counts
// the transitions. mu is held.
func (r *engineRunner) publish(now time.Time) {
	r.statuses = r.engine.Status(now, r.statuses[:0])
	r.board.Update(r.statuses, r.trans)
	if r.onTransitions != nil && len(r.trans) > 0 {
		r.onTransitions(r.trans)
	}
	for _, tr := range r.trans {
		ev := tr.Evidence
		r.transitions.WithLabelValues(tr.To.String(), string(ev.Detector)).Inc()
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

// Run ticks the engine every second until ctx ends.
func (r *engineRunner) Run(ctx context.Context) error {
	t := time.NewTicker(tickEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			r.tick()
		}
	}
}

// snapshot encodes the engine's baselines.
func (r *engineRunner) snapshot() ([]byte, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.engine.Snapshot()
}

// restore loads baselines saved by an earlier run, at most lim's series; it fails once calls
// have been seen.
func (r *engineRunner) restore(data []byte, lim detectors.Limits) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.engine.Restore(data, lim)
}
