package main

import (
	"context"
	"io"
	"log/slog"
	"time"

	"go.opentelemetry.io/otel/trace"
)

// load drives one run: arrivals per target, each call planned, rendered in its shape and its
// spans scheduled at their end times, all on the scheduler's goroutine.
type load struct {
	gen    *generator
	em     *emitter
	q      scheduler
	stats  *stats
	logger *slog.Logger
	// progress receives a line a second; nil for none.
	progress     io.Writer
	exportErrors func() int64
}

// loadOptions are what a load needs besides its scenario.
type loadOptions struct {
	tracerProvider trace.TracerProvider
	// serviceProviders are the tracer providers of the targets' own services, by service.name.
	serviceProviders map[string]trace.TracerProvider
	seed             uint64
	start            time.Time
	// duration, when positive, overrides the timeline's length.
	duration     time.Duration
	logger       *slog.Logger
	progress     io.Writer
	exportErrors func() int64
}

func newLoad(sc *scenario, o loadOptions) *load {
	return &load{
		gen:          newGenerator(sc, o.seed, o.start, o.duration),
		em:           newServiceEmitter(o.tracerProvider, o.serviceProviders),
		stats:        newStats(sc),
		logger:       o.logger,
		progress:     o.progress,
		exportErrors: o.exportErrors,
	}
}

// run plays the timeline, then waits up to drain for the calls still in flight. It returns when
// they are done, when drain is over or when ctx is cancelled; calls not ended by then are
// abandoned, their root spans never ended.
func (l *load) run(ctx context.Context, drain time.Duration) {
	start, end := l.gen.start(), l.gen.end()
	for ti := range l.gen.sc.Traffic.Targets {
		if at, ok := l.gen.nextArrival(ti, start); ok {
			l.q.at(at, l.arrival(ti, at))
		}
	}
	for i := range l.gen.windows {
		w := &l.gen.windows[i]
		l.q.at(w.from, func() {
			l.logger.Info("phase started", "phase", w.name, "duration", w.to.Sub(w.from))
		})
	}
	l.q.at(end, func() { l.logger.Info("timeline over", "in_flight", l.stats.inflight) })
	if l.progress != nil {
		l.q.at(start.Add(time.Second), l.tick(start, 1))
	}
	l.q.run(ctx, end.Add(drain), func() bool {
		return l.stats.inflight == 0 && !time.Now().Before(end)
	})
	l.stats.abandoned = l.stats.inflight
}

// arrival is the event of target ti's call starting at at: it plans the call, schedules its
// spans and the target's next arrival.
func (l *load) arrival(ti int, at time.Time) func() {
	return func() {
		c := l.gen.plan(ti, at)
		l.stats.inflight++
		l.em.schedule(&l.q, renderCall(c), func() {
			l.stats.inflight--
			l.stats.record(c)
		})
		if next, ok := l.gen.nextArrival(ti, at); ok {
			l.q.at(next, l.arrival(ti, next))
		}
	}
}

// tick writes the n-th progress line and schedules the next.
func (l *load) tick(start time.Time, n int) func() {
	return func() {
		now := start.Add(time.Duration(n) * time.Second)
		w := l.gen.windowAt(now)
		if !now.Before(l.gen.end()) {
			w = &window{name: "none, draining", to: now}
		}
		l.stats.writeProgress(l.progress, now, start, w, l.exportErrors())
		l.q.at(start.Add(time.Duration(n+1)*time.Second), l.tick(start, n+1))
	}
}

// renderCall renders c in its shape, its spans marked with the call's own service.
func renderCall(c *callPlan) *spanSpec {
	root := render(c)
	root.service = c.service
	return root
}
