package alerts

import "errors"

// reconfig is a configuration Reconfigure left for Run's goroutine.
type reconfig struct {
	cfg Config
	n   Notifier
}

// Reconfigure replaces the dispatcher's configuration and notifier while it runs (a
// configuration reload): channels, provider channels, min_severity, backoffs, poll interval,
// batch, lease and send timeout, the token (a new notifier), or alerts on or off (n is ignored,
// and may be nil, when cfg is disabled). It may be called from any goroutine, before or while
// Run runs; it does not wait for a send in flight.
//
// cfg is checked first: an invalid cfg, or an enabled one without a notifier (or without the
// outbox, settler and reader New was not given because alerts were disabled), is refused and
// changes nothing. Otherwise Run takes cfg and n together between two deliveries: a send in
// flight finishes and is recorded with the old ones, and every delivery that starts after
// Reconfigure returns uses the new ones, including those of rows already claimed; the lease of
// a claimed batch is the one it was claimed with. No row is lost or sent twice: rows are
// settled as before, and when alerts are turned off, the claimed rows not yet sent go back to
// the outbox, due at once, and wait there until alerts are turned on again. The permanent
// problems Check reports (a refused token, broken channels) were the old configuration's: they
// are cleared, and found again by the next send if they remain.
func (d *Dispatcher) Reconfigure(cfg Config, n Notifier) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	if !cfg.Enabled() && !d.fixed {
		n = nil
	} else if n == nil || d.deps.Outbox == nil || d.deps.Settler == nil || d.deps.Reader == nil {
		return errors.New("alerts: the outbox, settler, reader and notifier must be set when alerts are enabled")
	}
	d.mu.Lock()
	d.next = &reconfig{cfg: cfg, n: n}
	d.mu.Unlock()
	select {
	case d.reload <- struct{}{}:
	default:
	}
	return nil
}

// applyNext takes the configuration Reconfigure left, if any; Run's goroutine calls it between
// deliveries.
func (d *Dispatcher) applyNext() {
	d.mu.Lock()
	next := d.next
	d.next = nil
	if next != nil {
		d.halted = nil
		clear(d.broken)
		d.countProblems()
	}
	d.mu.Unlock()
	if next == nil {
		return
	}
	d.cfg, d.deps.Notifier = next.cfg, next.n
	if !d.fixed {
		d.match = slackMatch(next.cfg)
	}
	d.logger.Info("alert settings reloaded", "mode", next.cfg.Mode())
}
