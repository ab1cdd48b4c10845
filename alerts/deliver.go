package alerts

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"time"

	"github.com/outagewatch/outagewatch/incidents"
)

// maxErrorLen bounds the error message kept with an outbox row.
const maxErrorLen = 500

// deliver sends one claimed row and records the outcome. The send and its record run on a
// context that shutdown does not cancel, bounded by send_timeout, so that a send in flight is
// never left unrecorded by a clean stop.
func (d *Dispatcher) deliver(ctx context.Context, row incidents.OutboxRow) {
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), d.cfg.SendTimeout)
	defer cancel()
	n, skip, err := d.prepare(sctx, row)
	if err == nil && skip == "" {
		var receipt Receipt
		receipt, err = d.deps.Notifier.Notify(sctx, n)
		skip = receipt.Skipped
		if receipt.TS != "" && (receipt.TS != n.Incident.SlackTS || receipt.Channel != n.Incident.SlackChannel) {
			if terr := d.deps.Reader.SetThread(sctx, row.IncidentID, receipt.Channel, receipt.TS); terr != nil {
				err = errors.Join(err, fmt.Errorf("record thread of incident %d: %w", row.IncidentID, terr))
			}
		}
	}
	if err != nil {
		d.failed(sctx, n, row, err)
		return
	}
	d.succeeded(sctx, n, row, skip)
}

// prepare reads what the row is about and decides whether to send it: skip is why not, "" to
// send. Errors are retryable.
func (d *Dispatcher) prepare(ctx context.Context, row incidents.OutboxRow) (n Notification, skip string, err error) {
	n = Notification{Row: row, Redelivery: row.Claims > 1}
	inc, events, err := d.deps.Reader.Get(ctx, row.IncidentID)
	if errors.Is(err, incidents.ErrNotFound) {
		return n, skipIncidentGone, nil
	}
	if err != nil {
		return n, "", fmt.Errorf("read incident %d: %w", row.IncidentID, err)
	}
	n.Incident, n.Timeline = inc, events
	if !d.fixed {
		n.Channel = d.cfg.ChannelFor(inc.Provider)
	}
	if i := slices.IndexFunc(events, func(e incidents.Event) bool { return e.ID == row.EventID }); i >= 0 {
		n.Event = events[i]
	}
	if !d.match.Selects(inc) {
		return n, skipUnmatched, nil
	}
	threaded := !d.fixed && inc.SlackTS != ""
	if !threaded && !d.match.Reaches(events, row.EventID) {
		return n, skipSeverity, nil
	}
	// A thread posted before a silence still gets its root updated and its resolution, so that
	// no thread is left claiming an outage that is over; a target besides Slack, which cannot
	// tell whether it was told of the opening, gets the resolution of every incident it selects.
	if (threaded && row.Kind == incidents.NotifyUpdate) || ((threaded || d.fixed) && row.Kind == incidents.NotifyResolve) {
		return n, "", nil
	}
	silenced, err := d.deps.Silences.Silenced(ctx, inc.Provider, inc.Models, d.now())
	if err != nil {
		return n, "", fmt.Errorf("check silences: %w", err)
	}
	if silenced {
		return n, skipSilenced, nil
	}
	return n, "", nil
}

func rank(s incidents.Severity) int {
	switch s {
	case incidents.SeverityCritical:
		return 2
	case incidents.SeverityWarning:
		return 1
	default:
		return 0
	}
}

// succeeded completes a row that was sent, or that needed no message.
func (d *Dispatcher) succeeded(ctx context.Context, n Notification, row incidents.OutboxRow, skip string) {
	switch skip {
	case "":
		d.m.sent.WithLabelValues(row.Kind).Inc()
		d.clearChannel(channelOf(n))
		d.logger.Debug("notification sent", "outbox_id", row.ID, "incident_id", row.IncidentID, "kind", row.Kind)
	case skipSilenced:
		d.m.silenced.Inc()
	case skipSeverity, skipUnmatched, skipIncidentGone, SkipUnsupported, SkipNoThread:
		d.m.skipped.WithLabelValues(skip).Inc()
	default:
		d.m.skipped.WithLabelValues(reasonOther).Inc()
	}
	if d.failing {
		d.failing = false
		d.logger.Info("alert delivery recovered")
	}
	// If this fails, the row comes back when its lease ends and, being a redelivery, is looked
	// for in Slack before it is sent again.
	if err := d.deps.Settler.Complete(ctx, row.ID, d.now()); err != nil && !errors.Is(err, incidents.ErrNotFound) {
		d.m.errors.WithLabelValues(reasonOther).Inc()
		d.logger.Warn("record delivery, the notification will be checked and not resent", "err", err, "outbox_id", row.ID)
	}
}

// failed records a failed row: given up when the error is permanent, retried otherwise.
func (d *Dispatcher) failed(ctx context.Context, n Notification, row incidents.OutboxRow, err error) {
	msg := err.Error()
	if len(msg) > maxErrorLen {
		msg = msg[:maxErrorLen]
	}
	if IsPermanent(err) {
		d.m.errors.WithLabelValues(reasonPermanent).Inc()
		d.m.failed.Inc()
		d.permanent(n, err)
		if ferr := d.deps.Settler.Fail(ctx, row.ID, msg); ferr != nil && !errors.Is(ferr, incidents.ErrNotFound) {
			d.logger.Warn("record failed notification", "err", ferr, "outbox_id", row.ID)
		}
		return
	}
	reason := classify(err)
	d.m.errors.WithLabelValues(reason).Inc()
	d.m.retried.Inc()
	wait := d.backoff(row.Attempts + 1)
	if after, ok := RetryAfter(err); ok {
		if after > 0 {
			// Slack asked for this wait; a little jitter keeps replicas from coming back together.
			wait = after + time.Duration(d.jitter(int64(after/10)))
		}
		d.pauseUntil = d.now().Add(wait)
	}
	next := d.now().Add(wait)
	if !d.failing {
		d.failing = true
		d.logger.Warn("alert send failed, will retry", "err", err, "reason", reason, "outbox_id", row.ID,
			"incident_id", row.IncidentID, "retry_in", wait)
	} else {
		d.logger.Debug("alert send failed, will retry", "err", err, "reason", reason, "outbox_id", row.ID, "retry_in", wait)
	}
	if rerr := d.deps.Settler.Retry(ctx, row.ID, next, msg); rerr != nil && !errors.Is(rerr, incidents.ErrNotFound) {
		d.logger.Warn("record failed attempt", "err", rerr, "outbox_id", row.ID)
	}
}

// permanent remembers a permanent error for Check and logs it once.
func (d *Dispatcher) permanent(n Notification, err error) {
	d.mu.Lock()
	if IsUnauthorized(err) {
		d.halted = err
	} else {
		d.broken[channelOf(n)] = err
	}
	d.countProblems()
	first := !d.logged[err.Error()]
	if first && len(d.logged) < 100 {
		d.logged[err.Error()] = true
	}
	d.mu.Unlock()
	if !first {
		return
	}
	if IsUnauthorized(err) {
		d.logger.Error("alert delivery halted until restart; fix the configuration", "err", err,
			"outbox_id", n.Row.ID, "incident_id", n.Row.IncidentID)
		return
	}
	d.logger.Error("notification dropped, retrying cannot help; fix the configuration", "err", err,
		"outbox_id", n.Row.ID, "incident_id", n.Row.IncidentID, "channel", channelOf(n))
}

func (d *Dispatcher) clearChannel(channel string) {
	d.mu.Lock()
	delete(d.broken, channel)
	d.countProblems()
	d.mu.Unlock()
}

// channelOf is the channel a notification goes to: its incident's thread, else the routed one.
func channelOf(n Notification) string {
	if n.Incident.SlackChannel != "" {
		return n.Incident.SlackChannel
	}
	return n.Channel
}

// classify names the reason of a retryable error for metrics.
func classify(err error) string {
	if _, ok := RetryAfter(err); ok {
		return reasonRateLimited
	}
	var status interface{ HTTPStatusCode() int }
	if errors.As(err, &status) && status.HTTPStatusCode() >= 500 {
		return reasonServer
	}
	var netErr net.Error
	if errors.As(err, &netErr) || errors.Is(err, context.DeadlineExceeded) {
		return reasonNetwork
	}
	return reasonOther
}
