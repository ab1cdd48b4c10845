package alerts

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/outagewatch/outagewatch/incidents"
)

// Secret is a string that never prints: the Slack bot token, the webhook URL. It is set from the
// environment only (yaml:"-").
type Secret string

// String redacts the secret.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "[redacted]"
}

// GoString redacts the secret from %#v.
func (s Secret) GoString() string { return `"` + s.String() + `"` }

// LogValue redacts the secret from logs.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// Links are the base URLs that messages link to. main fills them from its own configuration
// (OUTAGEWATCH_GRAFANA_URL, the API's public URL); empty ones are left out of messages.
type Links struct {
	// GrafanaURL is Grafana's base URL; messages link to its outagewatch-overview dashboard.
	GrafanaURL string
	// APIURL is the base URL people reach this daemon's API at (/v1/health, /v1/incidents).
	APIURL string
}

// Config configures alert delivery. Without a bot token and without a webhook URL, alerts are
// disabled: the dispatcher sends nothing and reports ready.
type Config struct {
	// BotToken selects bot-token mode: one thread per incident, its root updated in place
	// (OUTAGEWATCH_SLACK_BOT_TOKEN or its _FILE only).
	BotToken Secret `yaml:"-"`
	// WebhookURL selects webhook mode, plain messages without threads, when there is no bot
	// token (OUTAGEWATCH_SLACK_WEBHOOK_URL or its _FILE only).
	WebhookURL Secret `yaml:"-"`
	// Channel is the default channel in bot mode (OUTAGEWATCH_SLACK_CHANNEL): a channel ID
	// (C0123ABCD, from the channel's details), which the idempotency look-ups need.
	Channel string `yaml:"channel"`
	// ProviderChannels routes the incidents of a provider to a channel of its own.
	ProviderChannels map[string]string `yaml:"provider_channels"`
	// SlackAPIURL is the Slack Web API base (OUTAGEWATCH_SLACK_API_URL), for a proxy or a test
	// server.
	SlackAPIURL string `yaml:"slack_api_url"`
	// MinSeverity is the lowest severity notified: warning or critical. Once an incident has
	// reached it, every later notification of the incident goes out, down to its resolution.
	MinSeverity incidents.Severity `yaml:"min_severity"`
	// PollInterval is how often the outbox is polled for due notifications.
	PollInterval time.Duration `yaml:"poll_interval"`
	// BatchSize is how many notifications one poll claims at most.
	BatchSize int `yaml:"batch_size"`
	// Lease is how long claimed notifications stay with this worker before another may take
	// them (a worker that died); at least twice SendTimeout.
	Lease time.Duration `yaml:"lease"`
	// SendTimeout bounds the Slack calls of one notification.
	SendTimeout time.Duration `yaml:"send_timeout"`
	// BackoffMin and BackoffMax bound the exponential backoff, with jitter, between attempts of
	// a notification that failed with a retryable error.
	BackoffMin time.Duration `yaml:"backoff_min"`
	BackoffMax time.Duration `yaml:"backoff_max"`
	// Match selects the incidents notified on Slack besides min_severity (providers, models,
	// kinds); its own min_severity must stay empty.
	Match Match `yaml:"match"`
	// Targets are the notification targets besides Slack: Alertmanagers and webhooks, each
	// with its own match and its own queue in the outbox.
	Targets []TargetConfig `yaml:"targets"`
	// Links are the base URLs messages link to; main sets them from its links configuration.
	Links Links `yaml:"-"`
}

// DefaultSlackAPIURL is Slack's Web API base.
const DefaultSlackAPIURL = "https://slack.com/api/"

// DefaultConfig returns alerts disabled (no token, no webhook), Slack's API, warnings and above,
// a 1 s poll of batches of 10 under a 5 m lease, 15 s per send, and backoff from 1 s to 5 m.
func DefaultConfig() Config {
	return Config{
		SlackAPIURL:  DefaultSlackAPIURL,
		MinSeverity:  incidents.SeverityWarning,
		PollInterval: time.Second,
		BatchSize:    10,
		Lease:        5 * time.Minute,
		SendTimeout:  15 * time.Second,
		BackoffMin:   time.Second,
		BackoffMax:   5 * time.Minute,
	}
}

// Enabled reports whether a bot token or a webhook URL is set.
func (c Config) Enabled() bool { return c.BotToken != "" || c.WebhookURL != "" }

// Mode is "bot", "webhook" or "disabled".
func (c Config) Mode() string {
	switch {
	case c.BotToken != "":
		return "bot"
	case c.WebhookURL != "":
		return "webhook"
	default:
		return "disabled"
	}
}

// ChannelFor returns the channel of a provider's incidents: its own, else the default.
func (c Config) ChannelFor(provider string) string {
	if ch, ok := c.ProviderChannels[provider]; ok {
		return ch
	}
	return c.Channel
}

// Validate reports every invalid field, each named by its path under "alerts".
func (c Config) Validate() error {
	var errs []error
	bad := func(field, msg string) { errs = append(errs, fmt.Errorf("alerts.%s: %s", field, msg)) }
	c.validateSlack(bad)
	c.Match.validate("match", bad)
	if c.Match.MinSeverity != "" {
		bad("match.min_severity", "Slack's severity is alerts.min_severity")
	}
	validateTargets(c.Targets, bad)
	if c.MinSeverity != incidents.SeverityWarning && c.MinSeverity != incidents.SeverityCritical {
		bad("min_severity", fmt.Sprintf("must be warning or critical, not %q", c.MinSeverity))
	}
	// time.NewTicker panics on a zero interval; a zero lease would hand rows to two workers.
	if c.PollInterval <= 0 || c.PollInterval > time.Hour {
		bad("poll_interval", "must be > 0 and at most 1h")
	}
	if c.BatchSize < 1 || c.BatchSize > 1000 {
		bad("batch_size", "must be between 1 and 1000")
	}
	if c.SendTimeout <= 0 {
		bad("send_timeout", "must be > 0")
	}
	if c.Lease < 2*c.SendTimeout {
		bad("lease", "must be at least twice send_timeout, so that a send ends before another worker may take the row")
	}
	if c.BackoffMin <= 0 || c.BackoffMax < c.BackoffMin {
		bad("backoff_min", "must be > 0 and at most backoff_max")
	}
	for _, l := range [...]struct{ field, url string }{{"links.grafana_url", c.Links.GrafanaURL}, {"links.api_url", c.Links.APIURL}} {
		if err := checkURL(l.url); l.url != "" && err != nil {
			bad(l.field, err.Error())
		}
	}
	return errors.Join(errs...)
}

// validateSlack checks the mode and where messages go.
func (c Config) validateSlack(bad func(field, msg string)) {
	if c.BotToken != "" && c.WebhookURL != "" {
		bad("bot_token", "set either OUTAGEWATCH_SLACK_BOT_TOKEN or OUTAGEWATCH_SLACK_WEBHOOK_URL, not both")
	}
	if c.WebhookURL != "" {
		if err := checkURL(string(c.WebhookURL)); err != nil {
			bad("webhook_url", "OUTAGEWATCH_SLACK_WEBHOOK_URL is not an http(s) URL") // the URL is a secret: not quoted
		}
	}
	if c.BotToken != "" && c.Channel == "" {
		bad("channel", "must be set with a bot token (OUTAGEWATCH_SLACK_CHANNEL, a channel ID like C0123ABCD)")
	}
	if strings.HasPrefix(c.Channel, "#") {
		bad("channel", fmt.Sprintf("%q is a name: use the channel ID (C0123ABCD, in the channel's details)", c.Channel))
	}
	for p, ch := range c.ProviderChannels {
		switch {
		case strings.TrimSpace(p) == "" || strings.TrimSpace(ch) == "":
			bad("provider_channels", fmt.Sprintf("provider %q and channel %q must both be set", p, ch))
		case strings.HasPrefix(ch, "#"):
			bad("provider_channels", fmt.Sprintf("%s: %q is a name: use the channel ID (C0123ABCD)", p, ch))
		}
	}
	if err := checkURL(c.SlackAPIURL); err != nil {
		bad("slack_api_url", err.Error())
	}
}

// checkURL accepts an absolute http or https URL with a host.
func checkURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an http(s) URL", raw)
	}
	return nil
}
