package slack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"

	slackgo "github.com/slack-go/slack"

	"github.com/outagewatch/outagewatch/alerts"
	"github.com/outagewatch/outagewatch/incidents"
)

// Notifier sends the alert outbox's notifications to Slack, in bot-token or webhook mode. It is
// safe for concurrent use.
type Notifier struct {
	api        *slackgo.Client // bot mode; nil in webhook mode
	webhookURL string          // webhook mode
	http       *http.Client
	render     renderer
	logger     *slog.Logger

	// warned holds the look-up problems already logged, so that each is logged once.
	mu     sync.Mutex
	warned map[string]bool
}

var _ alerts.Notifier = (*Notifier)(nil)

// New returns the notifier of cfg: bot mode with a bot token, else webhook mode. cfg must be
// valid and enabled. A nil logger discards.
func New(cfg alerts.Config, logger *slog.Logger) (*Notifier, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if !cfg.Enabled() {
		return nil, errors.New("slack: no bot token and no webhook URL: alerts are disabled")
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	n := &Notifier{
		http:   &http.Client{Timeout: cfg.SendTimeout},
		render: renderer{links: cfg.Links},
		logger: logger.With("component", "slack"),
		warned: map[string]bool{},
	}
	if cfg.BotToken == "" {
		n.webhookURL = string(cfg.WebhookURL)
		return n, nil
	}
	base := cfg.SlackAPIURL
	if !strings.HasSuffix(base, "/") {
		base += "/" // slack-go appends the method name
	}
	n.api = slackgo.New(string(cfg.BotToken), slackgo.OptionAPIURL(base), slackgo.OptionHTTPClient(n.http))
	return n, nil
}

// Notify sends one notification, as alerts.Notifier documents. In bot mode: NotifyOpen posts the
// thread root; NotifyEvent replies in the thread; NotifyUpdate updates the root in place;
// NotifyResolve replies with the resolution and updates the root. An event or a resolution of
// an incident without a root (its opening was silenced, or below the minimum severity) posts the
// root first.
func (n *Notifier) Notify(ctx context.Context, note alerts.Notification) (alerts.Receipt, error) {
	if n.api == nil {
		return n.notifyWebhook(ctx, note)
	}
	inc := note.Incident
	switch note.Row.Kind {
	case incidents.NotifyOpen:
		if inc.SlackTS != "" {
			return alerts.Receipt{}, nil // posted and recorded by a worker that died before completing the row
		}
		root, _, err := n.ensureRoot(ctx, note)
		return root, err
	case incidents.NotifyEvent:
		root, _, err := n.ensureRoot(ctx, note)
		if err != nil {
			return root, err
		}
		return root, n.reply(ctx, note, root, incidents.NotifyEvent, n.render.event(inc, note.Event))
	case incidents.NotifyUpdate:
		if inc.SlackTS == "" {
			return alerts.Receipt{Skipped: alerts.SkipNoThread}, nil
		}
		return n.updateRoot(ctx, note)
	case incidents.NotifyResolve:
		root, posted, err := n.ensureRoot(ctx, note)
		if err != nil {
			return root, err
		}
		if err := n.reply(ctx, note, root, incidents.NotifyResolve, n.render.resolution(inc, note.Event)); err != nil {
			return root, err
		}
		if posted {
			return root, nil // the new root shows the resolution already
		}
		note.Incident.SlackChannel, note.Incident.SlackTS = root.Channel, root.TS
		receipt, err := n.updateRoot(ctx, note)
		receipt.Channel, receipt.TS = root.Channel, root.TS
		return receipt, err
	default:
		return alerts.Receipt{}, alerts.Permanent(fmt.Errorf("slack: unknown notification kind %q", note.Row.Kind))
	}
}

// ensureRoot returns the incident's thread root, posting it when there is none (or finding it,
// for a redelivery). posted says that this call posted it.
func (n *Notifier) ensureRoot(ctx context.Context, note alerts.Notification) (root alerts.Receipt, posted bool, err error) {
	inc := note.Incident
	if inc.SlackTS != "" {
		return alerts.Receipt{Channel: inc.SlackChannel, TS: inc.SlackTS}, false, nil
	}
	if note.Redelivery {
		ts, found, err := n.findRoot(ctx, note)
		if err != nil {
			return alerts.Receipt{}, false, err
		}
		if found {
			return alerts.Receipt{Channel: note.Channel, TS: ts}, false, nil
		}
	}
	msg := n.render.root(inc, note.Timeline)
	channel, ts, err := n.api.PostMessageContext(ctx, note.Channel,
		slackgo.MsgOptionText(msg.Text, false), slackgo.MsgOptionBlocks(msg.Blocks...),
		slackgo.MsgOptionMetadata(metadata(inc.ID, note.Row.ID, incidents.NotifyOpen)))
	if err != nil {
		return alerts.Receipt{}, false, classify(err, note.Channel)
	}
	return alerts.Receipt{Channel: channel, TS: ts}, true, nil
}

// reply posts msg in the thread of root, unless a redelivery finds it there already.
func (n *Notifier) reply(ctx context.Context, note alerts.Notification, root alerts.Receipt, kind string, msg message) error {
	if note.Redelivery {
		found, err := n.findReply(ctx, note, root, kind)
		if err != nil || found {
			return err
		}
	}
	_, _, err := n.api.PostMessageContext(ctx, root.Channel, slackgo.MsgOptionTS(root.TS),
		slackgo.MsgOptionText(msg.Text, false), slackgo.MsgOptionBlocks(msg.Blocks...),
		slackgo.MsgOptionMetadata(metadata(note.Incident.ID, note.Row.ID, kind)))
	return classify(err, root.Channel)
}

// updateRoot rewrites the thread root with the incident as it is now. An update is idempotent,
// so a redelivery simply updates again. The root keeps its metadata: chat.update leaves it alone
// when none is given.
func (n *Notifier) updateRoot(ctx context.Context, note alerts.Notification) (alerts.Receipt, error) {
	inc := note.Incident
	msg := n.render.root(inc, note.Timeline)
	_, _, _, err := n.api.UpdateMessageContext(ctx, inc.SlackChannel, inc.SlackTS,
		slackgo.MsgOptionText(msg.Text, false), slackgo.MsgOptionBlocks(msg.Blocks...))
	var resp slackgo.SlackErrorResponse
	if errors.As(err, &resp) && resp.Err == "message_not_found" {
		return alerts.Receipt{Skipped: alerts.SkipNoThread}, nil // someone deleted the root
	}
	return alerts.Receipt{}, classify(err, inc.SlackChannel)
}
