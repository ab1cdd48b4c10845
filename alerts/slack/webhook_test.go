package slack_test

import (
	"github.com/outagewatch/outagewatch/internal/slackfake"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/outagewatch/outagewatch/alerts"
	"github.com/outagewatch/outagewatch/incidents"
)

func webhookConfig(ws *slackfake.Workspace) alerts.Config {
	cfg := botConfig(ws)
	cfg.BotToken, cfg.Channel, cfg.WebhookURL = "", "", alerts.Secret(ws.WebhookURL())
	return cfg
}

// TestWebhook posts plain messages without threads: the opening, the transition and the
// resolution; root updates are not sent.
func TestWebhook(t *testing.T) {
	t.Parallel()
	ws, st := slackfake.New(t), openSQLite(t)
	whole(t, st, "anthropic")
	r := start(t, webhookConfig(ws), st, nil)
	require.Eventually(t, drained(t, st), 10*time.Second, 5*time.Millisecond)
	msgs := ws.Webhooks()
	require.Len(t, msgs, 3)
	require.Contains(t, msgs[0].Text, "anthropic is down")
	require.Contains(t, msgs[1].Text, "anthropic/m2: healthy → degraded")
	require.Contains(t, msgs[2].Text, "anthropic recovered")
	for _, m := range msgs {
		require.Empty(t, m.ThreadTimestamp)
		require.NotEmpty(t, m.Blocks.BlockSet)
	}
	require.Empty(t, ws.Calls("chat.postMessage"))
	require.Equal(t, 1.0, r.metric(t, "outagewatch_alerts_skipped_total", alerts.SkipUnsupported))
	require.Zero(t, r.metric(t, "outagewatch_alerts_sent_total", incidents.NotifyUpdate))
}

// TestWebhookGone has the webhook answer 404: delivery stops and /readyz explains, without the
// URL (a secret).
func TestWebhookGone(t *testing.T) {
	t.Parallel()
	ws, st := slackfake.New(t), openSQLite(t)
	for range 5 {
		ws.Fail("webhook", slackfake.Fault{Status: http.StatusNotFound, SlackErr: "no_service"})
	}
	apply(t, st, opening("anthropic", time.Now()))
	apply(t, st, opening("openai", time.Now()))
	var polls pollCounter
	r := start(t, webhookConfig(ws), st, polls.countPolls)
	require.Eventually(t, func() bool { return r.d.Check(t.Context()) != nil }, 10*time.Second, 5*time.Millisecond)
	err := r.d.Check(t.Context())
	require.ErrorContains(t, err, "set OUTAGEWATCH_SLACK_WEBHOOK_URL")
	require.NotContains(t, err.Error(), ws.WebhookURL())
	polls.waitPolls(t, 10) // ten polls: nothing more may be sent
	require.Len(t, ws.Calls("webhook"), 1)
}
