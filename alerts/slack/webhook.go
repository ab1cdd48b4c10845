package slack

import (
	"context"
	"time"

	slackgo "github.com/slack-go/slack"

	"github.com/outagewatch/outagewatch/alerts"
	"github.com/outagewatch/outagewatch/incidents"
)

// notifyWebhook posts a plain message: webhooks have no threads and cannot edit, so the root is
// a message of its own, events and the resolution are too, and updates are not sent. A webhook
// cannot be read back either: a redelivery may post twice.
func (n *Notifier) notifyWebhook(ctx context.Context, note alerts.Notification) (alerts.Receipt, error) {
	var msg message
	switch note.Row.Kind {
	case incidents.NotifyOpen:
		msg = n.render.root(asOpened(note), note.Timeline)
	case incidents.NotifyEvent:
		msg = n.render.event(note.Incident, note.Event)
	case incidents.NotifyResolve:
		msg = n.render.root(note.Incident, note.Timeline)
	default:
		return alerts.Receipt{Skipped: alerts.SkipUnsupported}, nil
	}
	blocks := slackgo.Blocks{BlockSet: msg.Blocks}
	err := slackgo.PostWebhookCustomHTTPContext(ctx, n.webhookURL, n.http,
		&slackgo.WebhookMessage{Text: msg.Text, Blocks: &blocks})
	return alerts.Receipt{}, classifyWebhook(err)
}

// asOpened is the incident as it was when it opened: a webhook message stays as posted, so the
// opening must not say "recovered" when it is sent late.
func asOpened(note alerts.Notification) incidents.Incident {
	inc := note.Incident
	if inc.State == incidents.StateResolved {
		inc.State, inc.ResolvedAt, inc.ResolvedBy = incidents.StateOpen, time.Time{}, ""
	}
	return inc
}
