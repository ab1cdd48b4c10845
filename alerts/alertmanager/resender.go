package alertmanager

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/outagewatch/outagewatch/incidents"
)

// SelectFunc reports whether an active incident's alerts go to the Resender's Alertmanagers:
// the daemon's match of the target, its minimum severity and its silences. It is called from
// the Resender's goroutine; inc and timeline are read-only.
type SelectFunc func(ctx context.Context, inc incidents.Incident, timeline []incidents.Event) bool

// ResenderOptions configures a Resender.
type ResenderOptions struct {
	// Notifiers are the target's Alertmanagers (one per URL). Each round posts to every one of
	// them; one that fails does not hold back the others.
	Notifiers []*Notifier
	// Incidents reads the active incidents (List with State "active") and their timelines
	// (Get); incidents.Query is exactly that.
	Incidents incidents.Query
	// Select picks the incidents sent; nil sends every active incident.
	Select SelectFunc
	// Leading reports whether this replica sends (the cluster's leader); nil: always. It is
	// asked at every round, so a replica that loses the lead stops at its next round.
	Leading func() bool
	// Logger receives one warning per failed round; nil discards.
	Logger *slog.Logger
	// OnError, when set, is called with each error of a round (a read of the store, a POST),
	// for a metric.
	OnError func(err error)
}

// Resender posts the alerts of every active incident to Alertmanager again every resend
// interval, as Prometheus does with the alerts of its rules: an alert's endsAt is 4 intervals
// ahead, so Alertmanager keeps it firing while outagewatch runs, gets it back after a restart
// that lost it, and resolves it by itself if outagewatch stops.
type Resender struct {
	opts     ResenderOptions
	interval time.Duration
	logger   *slog.Logger
	now      func() time.Time
}

// NewResender returns a Resender. Its interval is the shortest ResendInterval of its notifiers
// (one target's notifiers share it), its clock the first notifier's. It starts nothing.
func NewResender(o ResenderOptions) (*Resender, error) {
	if len(o.Notifiers) == 0 {
		return nil, errors.New("alertmanager: resender needs at least one notifier")
	}
	if o.Incidents == nil {
		return nil, errors.New("alertmanager: resender needs the incidents")
	}
	r := &Resender{opts: o, logger: o.Logger, now: o.Notifiers[0].now}
	for _, n := range o.Notifiers {
		if n == nil {
			return nil, errors.New("alertmanager: resender given a nil notifier")
		}
		if r.interval == 0 || n.opts.ResendInterval < r.interval {
			r.interval = n.opts.ResendInterval
		}
	}
	if r.logger == nil {
		r.logger = slog.New(slog.DiscardHandler)
	}
	r.logger = r.logger.With("component", "alertmanager_resender")
	return r, nil
}

// Interval is how often Run posts.
func (r *Resender) Interval() time.Duration { return r.interval }

// Run posts at once, then every interval, until ctx ends; it returns nil then. Errors are
// logged and counted, never returned: the next round tries again. A run of failed rounds logs
// one warning, then debug lines, and one line when a round succeeds again.
func (r *Resender) Run(ctx context.Context) error {
	t := time.NewTicker(r.interval)
	defer t.Stop()
	failing := false
	for {
		err := r.Resend(ctx)
		switch {
		case ctx.Err() != nil:
		case err != nil && !failing:
			r.logger.Warn("resend alerts to alertmanager failed, will retry", "err", err, "retry_in", r.interval)
		case err != nil:
			r.logger.Debug("resend alerts to alertmanager failed, will retry", "err", err, "retry_in", r.interval)
		case failing:
			r.logger.Info("resend alerts to alertmanager recovered")
		}
		if ctx.Err() == nil {
			failing = err != nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Resend is one round: when leading, it posts the alerts of every selected active incident to
// every notifier, and returns the errors of the round joined (each also given to OnError).
//
// Each notifier gets its own read of the incidents, taken and posted under that notifier's lock
// (the one Notify holds around its POST): a resolve row is then posted either before the read,
// which no longer lists its incident as active, or after the round's POST. One read per
// notifier rather than one for all, so that an Alertmanager slow to answer holds back no other
// notifier's rows. A failed listing ends the round: the next notifier's would fail alike.
func (r *Resender) Resend(ctx context.Context) error {
	if r.opts.Leading != nil && !r.opts.Leading() {
		return nil
	}
	var errs []error
	fail := func(err error) {
		errs = append(errs, err)
		if r.opts.OnError != nil {
			r.opts.OnError(err)
		}
	}
	for _, n := range r.opts.Notifiers {
		listed, err := r.resendTo(ctx, n, fail)
		if err != nil {
			fail(err)
		}
		if !listed {
			break
		}
	}
	return errors.Join(errs...)
}

// resendTo reads the selected active incidents and posts their alerts to n, holding n's lock
// throughout. listed is false when the incidents could not be read (or ctx ended first).
func (r *Resender) resendTo(ctx context.Context, n *Notifier, fail func(error)) (listed bool, err error) {
	if err := n.lock(ctx); err != nil {
		return false, err
	}
	defer n.unlock()
	selected, err := r.selected(ctx, fail)
	if err != nil {
		return false, err
	}
	if len(selected) == 0 {
		return true, nil
	}
	now := r.now()
	var batch []Alert
	for _, s := range selected {
		batch = append(batch, Alerts(s.inc, s.timeline, 0, n.opts, now)...)
	}
	return true, n.Post(ctx, batch)
}

type incident struct {
	inc      incidents.Incident
	timeline []incidents.Event
}

// selected reads the active incidents, oldest first, with their timelines, and keeps the ones
// Select accepts. An incident that cannot be read is reported to fail and skipped; an error of
// the listing ends the round.
func (r *Resender) selected(ctx context.Context, fail func(error)) ([]incident, error) {
	active, err := r.active(ctx)
	if err != nil {
		return nil, err
	}
	var out []incident
	for i := len(active) - 1; i >= 0; i-- {
		inc, timeline, err := r.opts.Incidents.Get(ctx, active[i].ID)
		switch {
		case errors.Is(err, incidents.ErrNotFound):
			continue
		case err != nil:
			fail(fmt.Errorf("get incident %d: %w", active[i].ID, err))
			continue
		}
		if !inc.State.Active() { // resolved since the listing: its resolve row posts it
			continue
		}
		if r.opts.Select == nil || r.opts.Select(ctx, inc, timeline) {
			out = append(out, incident{inc: inc, timeline: timeline})
		}
	}
	return out, nil
}

// maxList is the largest page incidents.Query.List returns.
const maxList = 500

// active lists every active incident, newest first, page by page.
func (r *Resender) active(ctx context.Context) ([]incidents.Incident, error) {
	var out []incidents.Incident
	f := incidents.Filter{State: "active", Limit: maxList}
	for {
		page, err := r.opts.Incidents.List(ctx, f)
		if err != nil {
			return nil, fmt.Errorf("list active incidents: %w", err)
		}
		out = append(out, page...)
		if len(page) < maxList {
			return out, nil
		}
		f.Before = page[len(page)-1].ID
	}
}
