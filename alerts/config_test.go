package alerts_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/outagewatch/outagewatch/alerts"
)

func TestDefaultConfig(t *testing.T) {
	t.Parallel()
	cfg := alerts.DefaultConfig()
	require.NoError(t, cfg.Validate())
	require.False(t, cfg.Enabled(), "disabled without a token or webhook")
	require.Equal(t, "disabled", cfg.Mode())
	require.Equal(t, "https://slack.com/api/", cfg.SlackAPIURL)
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	bot := func(f func(*alerts.Config)) alerts.Config {
		cfg := alerts.DefaultConfig()
		cfg.BotToken, cfg.Channel = "xoxb-1", "C1"
		f(&cfg)
		return cfg
	}
	for _, tc := range []struct {
		name string
		cfg  alerts.Config
		want string // "" for valid
	}{
		{"bot", bot(func(*alerts.Config) {}), ""},
		{"webhook", bot(func(c *alerts.Config) { c.BotToken, c.WebhookURL = "", "https://hooks.slack.com/services/T/B/x" }), ""},
		{"routes", bot(func(c *alerts.Config) { c.ProviderChannels = map[string]string{"openai": "C2"} }), ""},
		{"links", bot(func(c *alerts.Config) { c.Links = alerts.Links{GrafanaURL: "https://g", APIURL: "http://a:9317"} }), ""},
		{"both modes", bot(func(c *alerts.Config) { c.WebhookURL = "https://hooks.slack.com/x" }), "alerts.bot_token: set either"},
		{"bot without channel", bot(func(c *alerts.Config) { c.Channel = "" }), "alerts.channel: must be set with a bot token"},
		{"channel name", bot(func(c *alerts.Config) { c.Channel = "#incidents" }), `alerts.channel: "#incidents" is a name`},
		{"route name", bot(func(c *alerts.Config) { c.ProviderChannels = map[string]string{"openai": "#x"} }), "alerts.provider_channels: openai"},
		{"route empty", bot(func(c *alerts.Config) { c.ProviderChannels = map[string]string{"openai": ""} }), "alerts.provider_channels: provider"},
		{"webhook not a URL", bot(func(c *alerts.Config) { c.BotToken, c.WebhookURL = "", "hooks/secret" }), "alerts.webhook_url: OUTAGEWATCH_SLACK_WEBHOOK_URL is not"},
		{"api url", bot(func(c *alerts.Config) { c.SlackAPIURL = "slack.com/api" }), "alerts.slack_api_url"},
		{"severity", bot(func(c *alerts.Config) { c.MinSeverity = "info" }), "alerts.min_severity"},
		{"poll", bot(func(c *alerts.Config) { c.PollInterval = 0 }), "alerts.poll_interval"},
		{"batch", bot(func(c *alerts.Config) { c.BatchSize = 0 }), "alerts.batch_size"},
		{"send timeout", bot(func(c *alerts.Config) { c.SendTimeout = 0 }), "alerts.send_timeout"},
		{"lease", bot(func(c *alerts.Config) { c.Lease = c.SendTimeout }), "alerts.lease"},
		{"backoff", bot(func(c *alerts.Config) { c.BackoffMax = c.BackoffMin / 2 }), "alerts.backoff_min"},
		{"grafana", bot(func(c *alerts.Config) { c.Links.GrafanaURL = "grafana" }), "alerts.links.grafana_url"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := tc.cfg.Validate()
			if tc.want == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tc.want)
			require.NotContains(t, err.Error(), "secret", "secrets are not quoted")
		})
	}
}

func TestConfigRouting(t *testing.T) {
	t.Parallel()
	cfg := alerts.DefaultConfig()
	cfg.Channel, cfg.ProviderChannels = "C1", map[string]string{"openai": "C2"}
	require.Equal(t, "C2", cfg.ChannelFor("openai"))
	require.Equal(t, "C1", cfg.ChannelFor("anthropic"))
	cfg.WebhookURL = "https://x"
	require.Equal(t, "webhook", cfg.Mode())
	cfg.BotToken = "t"
	require.Equal(t, "bot", cfg.Mode())
}

func TestSecretNeverPrints(t *testing.T) {
	t.Parallel()
	cfg := alerts.DefaultConfig()
	cfg.BotToken, cfg.WebhookURL = "xoxb-very-secret", "https://hooks.slack.com/very-secret"
	for _, s := range []string{fmt.Sprint(cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg)} {
		require.NotContains(t, s, "very-secret")
	}
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("config", "token", cfg.BotToken)
	require.NotContains(t, buf.String(), "very-secret")
	require.Contains(t, buf.String(), "[redacted]")
	require.Empty(t, alerts.Secret("").String())
}
