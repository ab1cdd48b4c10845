package alerts

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// registerEvery is how often the running destinations are registered again in the store, well
// within TargetExpiry.
const registerEvery = 10 * time.Minute

// Destination is one queue of a target besides Slack, as main builds it from a TargetConfig:
// the notifier that speaks to it, and what runs beside its dispatcher (an Alertmanager's
// resender).
type Destination struct {
	// Name is the queue's name (TargetConfig.Destinations) and the metrics' target label.
	Name     string
	Match    Match
	Notifier Notifier
	// Beside runs beside the dispatcher until its context ends; nil runs nothing.
	Beside func(ctx context.Context) error
}

// TargetDeps are what the targets' dispatchers share.
type TargetDeps struct {
	Store    TargetStore
	Reader   Reader
	Silences SilenceChecker
	Metrics  *Metrics
	Logger   *slog.Logger
	// Gate wraps each queue's Outbox (a cluster lets the leader claim only); nil leaves it.
	Gate func(Outbox) Outbox
	// Leading tells whether this replica writes to the store (a cluster's follower is fenced
	// off and registers nothing); nil: always.
	Leading func() bool
}

// Targets runs one dispatcher per destination of the targets besides Slack, each on its own
// queue, so that a target that is down holds back no other. Set replaces them all.
type Targets struct {
	deps   TargetDeps
	logger *slog.Logger

	mu      sync.Mutex
	next    *targetSet // left by Set for Run
	running *targetSet // read by Check
	wake    chan struct{}
}

// targetSet is one configuration's dispatchers.
type targetSet struct {
	dests []Destination
	ds    []*Dispatcher
}

// NewTargets returns targets with none configured; Set configures them and Run runs them.
func NewTargets(deps TargetDeps) (*Targets, error) {
	if deps.Store == nil || deps.Reader == nil || deps.Metrics == nil {
		return nil, errNoTargetStore
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	return &Targets{deps: deps, logger: deps.Logger.With("component", "alerts"), wake: make(chan struct{}, 1)}, nil
}

// Set replaces the destinations with dests, delivered with cfg's settings (poll, batch, lease,
// send timeout, backoff). It builds every dispatcher first: when one cannot be built, nothing
// changes. Run takes the new set: the dispatchers running stop once their send in flight is
// recorded (their claimed rows go back to their queues), then the new ones start. A queue
// whose destination stays keeps its deliveries; a removed one expires from the store after
// TargetExpiry.
func (t *Targets) Set(cfg Config, dests []Destination) error {
	set := &targetSet{dests: dests}
	seen := map[string]bool{}
	for _, dest := range dests {
		if seen[dest.Name] {
			return fmt.Errorf("alerts: destination %q twice", dest.Name)
		}
		seen[dest.Name] = true
		q := Queue(t.deps.Store, dest.Name)
		var outbox Outbox = q
		if t.deps.Gate != nil {
			outbox = t.deps.Gate(q)
		}
		d, err := NewTarget(dest.Name, cfg, dest.Match, Deps{
			Outbox: outbox, Settler: q, Reader: t.deps.Reader, Notifier: dest.Notifier,
			Silences: t.deps.Silences, Metrics: t.deps.Metrics, Logger: t.deps.Logger,
		})
		if err != nil {
			return fmt.Errorf("alerts: target %s: %w", dest.Name, err)
		}
		set.ds = append(set.ds, d)
	}
	t.mu.Lock()
	t.next = set
	t.mu.Unlock()
	select {
	case t.wake <- struct{}{}:
	default:
	}
	return nil
}

// Run runs the destinations until ctx ends, taking each set that Set leaves, and returns nil
// once every dispatcher has recorded its send in flight.
func (t *Targets) Run(ctx context.Context) error {
	var (
		names    []string
		register = time.NewTimer(time.Hour)
		failures int
		stop     = func() {}
	)
	register.Stop()
	defer register.Stop()
	defer func() { stop() }()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-register.C:
		case <-t.wake:
			t.mu.Lock()
			set := t.next
			t.next = nil
			t.mu.Unlock()
			if set == nil {
				continue
			}
			stop()
			t.forgetRemoved(names, set)
			names = names[:0]
			for _, d := range set.dests {
				names = append(names, d.Name)
			}
			stop = t.start(ctx, set)
			t.mu.Lock()
			t.running = set
			t.mu.Unlock()
			if len(names) > 0 {
				t.logger.Info("alert targets started", "destinations", names)
			}
			failures = 0
		}
		if len(names) == 0 {
			continue
		}
		// Registered before the first outbox row it should get is written, or soon after: the
		// store may still be opening, the cluster electing its leader. Retried with backoff,
		// then every registerEvery.
		if err := t.register(ctx, names); err != nil {
			failures++
			wait := min(time.Second<<min(failures, 6), time.Minute)
			if ctx.Err() == nil && failures == 1 && !errors.Is(err, errFollower) {
				t.logger.Warn("register alert targets, will retry", "err", err, "retry_in", wait)
			}
			register.Reset(wait)
			continue
		}
		failures = 0
		register.Reset(registerEvery)
	}
}

// errFollower is why a follower registers nothing.
var errFollower = errors.New("not the cluster's leader")

// register registers the destinations, as the leader only.
func (t *Targets) register(ctx context.Context, names []string) error {
	if t.deps.Leading != nil && !t.deps.Leading() {
		return errFollower
	}
	return t.deps.Store.RegisterTargets(ctx, names, time.Now())
}

// start runs set's dispatchers and what runs beside them until the returned stop, which waits
// for them.
func (t *Targets) start(ctx context.Context, set *targetSet) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for i, d := range set.ds {
		wg.Go(func() { _ = d.Run(ctx) })
		if beside := set.dests[i].Beside; beside != nil {
			wg.Go(func() {
				if err := beside(ctx); err != nil && ctx.Err() == nil {
					t.logger.Error("target stopped", "target", set.dests[i].Name, "err", err)
				}
			})
		}
	}
	return func() {
		cancel()
		wg.Wait()
	}
}

// forgetRemoved drops the metrics of the destinations that set no longer has.
func (t *Targets) forgetRemoved(old []string, set *targetSet) {
	keep := map[string]bool{}
	for _, d := range set.dests {
		keep[d.Name] = true
	}
	for _, name := range old {
		if !keep[name] {
			t.deps.Metrics.forget(name)
		}
	}
}

// Check reports the permanent problems of every running destination, named by it.
func (t *Targets) Check(ctx context.Context) error {
	t.mu.Lock()
	set := t.running
	t.mu.Unlock()
	if set == nil {
		return nil
	}
	var errs []error
	for _, d := range set.ds {
		if err := d.Check(ctx); err != nil {
			errs = append(errs, fmt.Errorf("target %s: %w", d.target, err))
		}
	}
	return errors.Join(errs...)
}
