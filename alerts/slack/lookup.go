package slack

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	slackgo "github.com/slack-go/slack"

	"github.com/outagewatch/outagewatch/alerts"
	"github.com/outagewatch/outagewatch/incidents"
)

// MetadataEventType is the event type of the metadata every bot message carries; its payload
// holds incident_id, outbox_id and kind ("open" for a thread root, else the row's kind).
const MetadataEventType = "outagewatch_notification"

// Bounds of the look-ups before a redelivery.
const (
	lookupPages = 10  // pages read at most
	lookupLimit = 200 // messages per page
	// lookupSlack reaches back before a row's creation, for clocks that disagree.
	lookupSlack = 5 * time.Minute
)

func metadata(incidentID, outboxID int64, kind string) slackgo.SlackMetadata {
	return slackgo.SlackMetadata{EventType: MetadataEventType, EventPayload: map[string]any{
		"incident_id": incidentID, "outbox_id": outboxID, "kind": kind,
	}}
}

// tagged reports whether m carries our metadata for incident id with kind, and, when outboxID
// is not 0, for that outbox row.
func tagged(m slackgo.Message, incidentID, outboxID int64, kind string) bool {
	md := m.Metadata
	if md.EventType != MetadataEventType {
		return false
	}
	k, _ := md.EventPayload["kind"].(string)
	inc, ok1 := payloadInt(md.EventPayload["incident_id"])
	row, ok2 := payloadInt(md.EventPayload["outbox_id"])
	return ok1 && ok2 && k == kind && inc == incidentID && (outboxID == 0 || row == outboxID)
}

// payloadInt reads an ID of a metadata payload: JSON numbers decode as float64, and Slack may
// hand numbers back as strings.
func payloadInt(v any) (int64, bool) {
	switch x := v.(type) {
	case float64:
		return int64(x), x == float64(int64(x))
	case json.Number:
		n, err := x.Int64()
		return n, err == nil
	case string:
		n, err := strconv.ParseInt(x, 10, 64)
		return n, err == nil
	default:
		return 0, false
	}
}

// findRoot looks in the routed channel's history, back to shortly before the row was created,
// for the incident's thread root: a worker that died may have posted it without recording it.
func (n *Notifier) findRoot(ctx context.Context, note alerts.Notification) (ts string, found bool, err error) {
	params := &slackgo.GetConversationHistoryParameters{
		ChannelID: note.Channel, Limit: lookupLimit, IncludeAllMetadata: true, Inclusive: true,
		Oldest: slackTS(note.Row.CreatedAt.Add(-lookupSlack)),
	}
	for range lookupPages {
		resp, err := n.api.GetConversationHistoryContext(ctx, params)
		if err != nil {
			return "", false, n.lookupFailed(err, note.Channel)
		}
		for _, m := range resp.Messages {
			if tagged(m, note.Incident.ID, 0, incidents.NotifyOpen) {
				return m.Timestamp, true, nil
			}
		}
		if !resp.HasMore || resp.ResponseMetaData.NextCursor == "" {
			break
		}
		params.Cursor = resp.ResponseMetaData.NextCursor
	}
	return "", false, nil
}

// findReply looks in the thread of root for the reply of the row.
func (n *Notifier) findReply(ctx context.Context, note alerts.Notification, root alerts.Receipt, kind string) (bool, error) {
	params := &slackgo.GetConversationRepliesParameters{
		ChannelID: root.Channel, Timestamp: root.TS, Limit: lookupLimit, IncludeAllMetadata: true, Inclusive: true,
	}
	for range lookupPages {
		msgs, more, cursor, err := n.api.GetConversationRepliesContext(ctx, params)
		if err != nil {
			return false, n.lookupFailed(err, root.Channel)
		}
		for _, m := range msgs {
			if tagged(m, note.Incident.ID, note.Row.ID, kind) {
				return true, nil
			}
		}
		if !more || cursor == "" {
			break
		}
		params.Cursor = cursor
	}
	return false, nil
}

// lookupFailed decides what a failed look-up means. A retryable failure is retried: the message
// may be there. A permanent one (the app may not read history) cannot be cured by waiting: it
// is logged once, and the message is sent, at the risk of a duplicate rather than of silence.
func (n *Notifier) lookupFailed(err error, channel string) error {
	err = classify(err, channel)
	if !alerts.IsPermanent(err) {
		return fmt.Errorf("look for a message sent before: %w", err)
	}
	n.mu.Lock()
	first := !n.warned[err.Error()]
	n.warned[err.Error()] = true
	n.mu.Unlock()
	if first {
		n.logger.Warn("cannot look for messages sent before a restart; they may be duplicated", "err", err, "channel", channel)
	}
	return nil
}

// slackTS formats t as a Slack message timestamp.
func slackTS(t time.Time) string {
	return fmt.Sprintf("%d.%06d", t.Unix(), t.Nanosecond()/1000)
}
