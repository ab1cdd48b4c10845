package alerts

import (
	"context"

	"github.com/outagewatch/outagewatch/incidents"
)

// Notification is one outbox row to send, with what a message needs.
type Notification struct {
	Row incidents.OutboxRow
	// Incident is the incident as it is now, with its Slack thread (SlackChannel, SlackTS) once
	// the root was posted.
	Incident incidents.Incident
	// Event is the row's event; Timeline is every event of the incident, oldest first.
	Event    incidents.Event
	Timeline []incidents.Event
	// Channel is where a new thread root goes (the routed channel); replies and updates go to
	// the incident's thread.
	Channel string
	// Redelivery says that the row was handed out before (Row.Claims > 1): it may have been
	// sent by a worker that died before recording it, so the notifier looks for the message
	// before sending it again.
	Redelivery bool
}

// Receipt is what a notifier reports of a send.
type Receipt struct {
	// Channel and TS identify an incident's thread root that the call posted or found; the
	// dispatcher records them (Reader.SetThread). Empty when no root was posted or found.
	Channel, TS string
	// Skipped says why nothing was sent, "" when something was: SkipUnsupported or
	// SkipNoThread.
	Skipped string
}

// Reasons a notifier gives for sending nothing (Receipt.Skipped).
const (
	// SkipUnsupported: the notification has no meaning in this mode (an update of the thread
	// root in webhook mode, which has no threads).
	SkipUnsupported = "unsupported"
	// SkipNoThread: there is nothing to update (no thread root was posted, or it was deleted).
	SkipNoThread = "no_thread"
)

// Notifier sends notifications; alerts/slack implements it on Slack.
//
// Notify delivers n and returns nil only when the receiver confirmed every message of it. It
// may be called again for the same row after a failure, or after a crash that lost its
// outcome: it must then not post a message twice (n.Redelivery). A Receipt with a thread root is
// meaningful even alongside an error (the root went out, a reply did not). Errors are retryable
// unless marked with Permanent or Unauthorized; RateLimited carries the wait the receiver asked
// for. Notify is called from one goroutine at a time per Dispatcher, but several dispatchers
// may share a Notifier: implementations are safe for concurrent use. n is read-only.
type Notifier interface {
	Notify(ctx context.Context, n Notification) (Receipt, error)
}

// NotifierFunc adapts a function to Notifier.
type NotifierFunc func(ctx context.Context, n Notification) (Receipt, error)

// Notify calls f(ctx, n).
func (f NotifierFunc) Notify(ctx context.Context, n Notification) (Receipt, error) { return f(ctx, n) }
