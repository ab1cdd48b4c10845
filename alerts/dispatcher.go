package alerts

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/outagewatch/outagewatch/incidents"
)

// backlogEvery is how often the backlog gauges are refreshed from the store.
const backlogEvery = 5 * time.Second

// Deps are the Dispatcher's collaborators. One store usually provides Outbox, Settler and Reader.
type Deps struct {
	Outbox   Outbox
	Settler  Settler
	Reader   Reader
	Notifier Notifier
	// Silences mutes incidents; nil silences nothing.
	Silences SilenceChecker
	// Metrics are the delivery metrics, shared by every dispatcher of a registry; nil makes
	// them on Registerer.
	Metrics *Metrics
	// Registerer receives the metrics when Metrics is nil; nil keeps them unregistered.
	Registerer prometheus.Registerer
	// Logger gets the dispatcher's logs; nil discards them.
	Logger *slog.Logger
}

// Dispatcher delivers the alert outbox: it claims due notifications, sends each through the
// Notifier, and records the outcome. Run drives it; Check reports permanent problems.
type Dispatcher struct {
	cfg    Config
	deps   Deps
	logger *slog.Logger
	m      *targetMetrics
	// target names the target in metrics and logs; match selects its incidents. A target
	// besides Slack (fixed) is enabled whatever the Slack settings of cfg.
	target string
	match  Match
	fixed  bool
	now    func() time.Time
	jitter func(n int64) int64 // uniform in [0, n]

	// mu guards the permanent problems, written by Run and read by Check from API goroutines.
	mu sync.Mutex
	// halted is the Unauthorized error that stopped delivery until a restart.
	halted error
	// broken holds, by channel, the last permanent error of a send to it, until one succeeds.
	broken map[string]error
	// logged holds the permanent errors already logged, so that each is logged once.
	logged map[string]bool
	// next is the configuration Reconfigure left for Run to take between deliveries; reload
	// wakes Run for it.
	next   *reconfig
	reload chan struct{}

	// The rest belongs to Run's goroutine.
	pauseUntil time.Time // a rate limit: no sends before then
	failing    bool      // a streak of retryable failures is under way (logged at its ends)
	backlogAt  time.Time // when the backlog gauges were last refreshed
}

// New returns the Slack dispatcher for cfg. It starts nothing: call Run. When cfg is disabled
// (no token, no webhook), only cfg is checked, and Run does nothing.
func New(cfg Config, deps Deps) (*Dispatcher, error) {
	return newDispatcher(cfg, deps, SlackTarget, slackMatch(cfg), false)
}

// NewTarget returns the dispatcher of one destination of a target besides Slack: deps' Outbox
// and Settler are its queue (Queue), its Notifier speaks to it, match selects its incidents.
// cfg gives the delivery settings (poll, batch, lease, send timeout, backoff); its Slack
// settings do not matter.
func NewTarget(destination string, cfg Config, match Match, deps Deps) (*Dispatcher, error) {
	return newDispatcher(cfg, deps, destination, match, true)
}

// slackMatch is Slack's match: alerts.match with alerts.min_severity.
func slackMatch(cfg Config) Match {
	m := cfg.Match
	m.MinSeverity = cfg.MinSeverity
	return m
}

func newDispatcher(cfg Config, deps Deps, target string, match Match, fixed bool) (*Dispatcher, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if (fixed || cfg.Enabled()) && (deps.Outbox == nil || deps.Settler == nil || deps.Reader == nil || deps.Notifier == nil) {
		return nil, errors.New("alerts: the outbox, settler, reader and notifier must be set when alerts are enabled")
	}
	if deps.Silences == nil {
		deps.Silences = SilenceCheckerFunc(func(context.Context, string, []string, time.Time) (bool, error) { return false, nil })
	}
	if deps.Registerer == nil {
		deps.Registerer = prometheus.NewRegistry()
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if deps.Metrics == nil {
		deps.Metrics = NewMetrics(deps.Registerer)
	}
	d := &Dispatcher{
		cfg: cfg, deps: deps, logger: deps.Logger.With("component", "alerts", "target", target), now: time.Now,
		target: target, match: match, fixed: fixed,
		jitter: func(n int64) int64 { return rand.Int64N(n + 1) },
		broken: map[string]error{}, logged: map[string]bool{}, reload: make(chan struct{}, 1),
	}
	d.m = deps.Metrics.forTarget(target)
	return d, nil
}

// Run delivers notifications until ctx ends, then returns nil once the send in flight is
// recorded (each send is bounded by send_timeout). With alerts disabled it only waits for ctx,
// or for a Reconfigure that enables them.
func (d *Dispatcher) Run(ctx context.Context) error {
	d.applyNext()
	for {
		if !d.enabled() {
			d.logger.Info("alerts disabled: set OUTAGEWATCH_SLACK_BOT_TOKEN or OUTAGEWATCH_SLACK_WEBHOOK_URL to notify")
			select {
			case <-ctx.Done():
				return nil
			case <-d.reload:
				d.applyNext()
				continue
			}
		}
		d.logger.Info("alert dispatcher started", "mode", d.mode())
		if d.runEnabled(ctx) {
			d.logger.Info("alert dispatcher stopped")
			return nil
		}
	}
}

// runEnabled polls the outbox until ctx ends (true) or a Reconfigure disables alerts (false).
func (d *Dispatcher) runEnabled(ctx context.Context) bool {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return true
		case <-d.reload:
			d.applyNext() // and poll at once with the new settings
		case <-timer.C:
		}
		if !d.enabled() {
			return false
		}
		wait := d.poll(ctx)
		if !d.enabled() {
			return false
		}
		timer.Reset(wait)
	}
}

// Check reports the permanent problems of delivery for /readyz: a refused token, channels whose
// last send failed for good. nil when there are none, or when alerts are disabled.
func (d *Dispatcher) Check(context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	var errs []error
	if d.halted != nil {
		errs = append(errs, fmt.Errorf("alerts halted until restart: %w", d.halted))
	}
	for _, ch := range slices.Sorted(maps.Keys(d.broken)) {
		errs = append(errs, d.broken[ch])
	}
	return errors.Join(errs...)
}

// enabled reports whether the dispatcher sends: always for a target besides Slack, for Slack
// when a token or a webhook is set.
func (d *Dispatcher) enabled() bool { return d.fixed || d.cfg.Enabled() }

// mode is what the dispatcher speaks to, for its logs.
func (d *Dispatcher) mode() string {
	if d.fixed {
		return "target"
	}
	return d.cfg.Mode()
}

// countProblems sets the permanent problems gauge to what Check would report; d.mu is held.
func (d *Dispatcher) countProblems() {
	n := len(d.broken)
	if d.halted != nil {
		n++
	}
	d.m.permanent.Set(float64(n))
}

func (d *Dispatcher) isHalted() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.halted != nil
}

// poll claims one batch and delivers it in order; it returns how long to wait before the next.
func (d *Dispatcher) poll(ctx context.Context) time.Duration {
	now := d.now()
	d.refreshBacklog(ctx, now)
	if d.isHalted() {
		return d.cfg.PollInterval
	}
	if now.Before(d.pauseUntil) {
		return d.pauseUntil.Sub(now)
	}
	// The batch is claimed, and its lease kept, with the settings of now; a Reconfigure taken
	// between its deliveries changes how the rest is sent.
	batch, lease := d.cfg.BatchSize, d.cfg.Lease
	rows, err := d.deps.Outbox.Claim(ctx, now, batch, lease)
	if err != nil {
		if ctx.Err() == nil {
			d.m.errors.WithLabelValues(reasonOther).Inc()
			d.logger.Warn("claim notifications, will retry", "err", err)
		}
		return d.cfg.PollInterval
	}
	for i, row := range rows {
		d.applyNext()
		if ctx.Err() != nil || !d.enabled() || d.isHalted() || d.now().Before(d.pauseUntil) {
			d.release(ctx, rows[i:]) // for the next worker, or for when the pause ends or alerts are enabled again
			break
		}
		// The lease covers the whole batch: a send that could outlast it might race another
		// worker, so the rest waits for the lease to end and is looked for before it is resent.
		if d.now().Sub(now)+d.cfg.SendTimeout > lease {
			break
		}
		d.deliver(ctx, row)
	}
	if len(rows) == batch && ctx.Err() == nil {
		return 0 // more may be due
	}
	return d.cfg.PollInterval
}

// refreshBacklog updates the backlog gauges, at most every backlogEvery.
func (d *Dispatcher) refreshBacklog(ctx context.Context, now time.Time) {
	if now.Sub(d.backlogAt) < backlogEvery {
		return
	}
	n, oldest, err := d.deps.Outbox.Backlog(ctx, now)
	if err != nil {
		return // the claim that follows reports the store's trouble
	}
	d.backlogAt = now
	d.m.backlog.Set(float64(n))
	age := 0.0
	if !oldest.IsZero() {
		age = max(now.Sub(oldest).Seconds(), 0)
	}
	d.m.oldest.Set(age)
}

// release hands claimed rows back unsent, due when the rate limit ends, or at once: on
// shutdown, for another replica or the restart; when halted, for the restart that fixes the
// token.
func (d *Dispatcher) release(ctx context.Context, rows []incidents.OutboxRow) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), d.cfg.SendTimeout)
	defer cancel()
	next := d.now()
	if d.pauseUntil.After(next) {
		next = d.pauseUntil
	}
	for _, row := range rows {
		if err := d.deps.Settler.Retry(rctx, row.ID, next, "not sent: delivery paused or stopping"); err != nil {
			d.logger.Debug("release notification", "err", err, "outbox_id", row.ID)
		}
	}
}

// backoff returns the wait before attempt (1 for the first retry), exponential from
// backoff_min to backoff_max, with jitter over its upper half so that replicas spread out.
func (d *Dispatcher) backoff(attempt int) time.Duration {
	wait := d.cfg.BackoffMin
	for i := 1; i < attempt && wait < d.cfg.BackoffMax; i++ {
		wait *= 2
	}
	wait = min(wait, d.cfg.BackoffMax)
	return wait/2 + time.Duration(d.jitter(int64(wait/2)))
}
