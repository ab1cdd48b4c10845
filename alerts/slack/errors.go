package slack

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"

	slackgo "github.com/slack-go/slack"

	"github.com/outagewatch/outagewatch/alerts"
)

// tokenHint says what to fix when Slack refuses the bot token.
const tokenHint = "the bot token is wrong or revoked; set OUTAGEWATCH_SLACK_BOT_TOKEN"

// unauthorized are Slack's errors that refuse the token itself: no call can succeed.
var unauthorized = map[string]string{
	"invalid_auth":            tokenHint,
	"not_authed":              "no bot token was sent; set OUTAGEWATCH_SLACK_BOT_TOKEN",
	"account_inactive":        "the bot's account or workspace is deactivated; set OUTAGEWATCH_SLACK_BOT_TOKEN to a live bot's token",
	"token_revoked":           tokenHint,
	"token_expired":           "the bot token expired; set OUTAGEWATCH_SLACK_BOT_TOKEN to a token without expiry (a bot token, xoxb-)",
	"not_allowed_token_type":  "the token is not a bot token; set OUTAGEWATCH_SLACK_BOT_TOKEN to the app's bot token (xoxb-)",
	"missing_scope":           "the Slack app lacks a scope; add chat:write, channels:history and groups:history and reinstall it",
	"team_access_not_granted": "the token has no access to this workspace; set OUTAGEWATCH_SLACK_BOT_TOKEN",
	"ekm_access_denied":       "the workspace's key management refused access; ask its administrator",
}

// permanent are Slack's errors that retrying the same message cannot cure; the hint takes the
// channel.
var permanent = map[string]string{
	"channel_not_found":       "channel %q does not exist or the bot cannot see it; set OUTAGEWATCH_SLACK_CHANNEL (or alerts.provider_channels) to a channel ID",
	"not_in_channel":          "the bot is not a member of channel %q; invite it (/invite @app) or route elsewhere",
	"is_archived":             "channel %q is archived; unarchive it or set OUTAGEWATCH_SLACK_CHANNEL (or alerts.provider_channels) to another",
	"restricted_action":       "the workspace does not let the bot post in channel %q; ask its administrator",
	"invalid_blocks":          "Slack refused the message's blocks (channel %q); this is a bug of outagewatch",
	"invalid_blocks_format":   "Slack refused the message's blocks (channel %q); this is a bug of outagewatch",
	"msg_too_long":            "the message is too long for Slack (channel %q); this is a bug of outagewatch",
	"no_text":                 "the message has no text (channel %q); this is a bug of outagewatch",
	"invalid_arguments":       "Slack refused the call's arguments (channel %q); this is a bug of outagewatch",
	"invalid_metadata_format": "Slack refused the message metadata (channel %q); this is a bug of outagewatch",
	"metadata_too_large":      "Slack refused the message metadata (channel %q); this is a bug of outagewatch",
	"cant_update_message":     "the bot may not edit its thread root in channel %q",
	"edit_window_closed":      "the workspace no longer lets the bot edit its thread root in channel %q",
}

// classify maps an error of the Web API to the dispatcher's classes, with what to fix: a rate
// limit waits for Retry-After; a refused token stops delivery; a channel or message Slack
// refuses fails the notification; 5xx, timeouts and the rest are retried.
func classify(err error, channel string) error {
	if err == nil {
		return nil
	}
	var limited *slackgo.RateLimitedError
	if errors.As(err, &limited) {
		return alerts.RateLimited(fmt.Errorf("slack: %w", err), limited.RetryAfter)
	}
	var status slackgo.StatusCodeError
	if errors.As(err, &status) {
		return classifyStatus(fmt.Errorf("slack: %w", err), status.Code,
			"the Slack API answered %d; check OUTAGEWATCH_SLACK_API_URL and any proxy in between")
	}
	var resp slackgo.SlackErrorResponse
	if !errors.As(err, &resp) {
		return fmt.Errorf("slack: %w", err) // the network: retried
	}
	if hint, ok := unauthorized[resp.Err]; ok {
		return alerts.Unauthorized(fmt.Errorf("slack: %w: %s", err, hint))
	}
	if hint, ok := permanent[resp.Err]; ok {
		return alerts.Permanent(fmt.Errorf("slack: %w: %s", err, fmt.Sprintf(hint, channel)))
	}
	if resp.Err == "ratelimited" {
		return alerts.RateLimited(fmt.Errorf("slack: %w", err), 0)
	}
	return fmt.Errorf("slack: %w", err) // internal_error, fatal_error, service_unavailable...
}

// classifyStatus classifies an HTTP status that is not 200: 429 and 5xx are retried (429 after
// the backoff, having no Retry-After), 401 and 403 refuse the credentials, and other 4xx mean
// the URL is wrong; hint is formatted with the code.
func classifyStatus(err error, code int, hint string) error {
	switch {
	case code == http.StatusTooManyRequests:
		return alerts.RateLimited(err, 0)
	case code >= 500 || code == http.StatusRequestTimeout:
		return err
	default:
		return alerts.Unauthorized(fmt.Errorf("%w: %s", err, fmt.Sprintf(hint, code)))
	}
}

// classifyWebhook maps an error of an incoming webhook: Slack answers 403 (invalid_token,
// action_prohibited), 404 (no_service, channel_not_found) or 410 (channel_is_archived) when the
// webhook can no longer post, and 400 when it refuses the message.
func classifyWebhook(err error) error {
	if err == nil {
		return nil
	}
	redactURL(err)
	var limited *slackgo.RateLimitedError
	if errors.As(err, &limited) {
		return alerts.RateLimited(fmt.Errorf("slack webhook: %w", err), limited.RetryAfter)
	}
	var status slackgo.StatusCodeError
	if !errors.As(err, &status) {
		return fmt.Errorf("slack webhook: %w", err)
	}
	wrapped := fmt.Errorf("slack webhook: %w", err)
	if status.Code == http.StatusBadRequest {
		return alerts.Permanent(fmt.Errorf("%w: Slack refused the message; this is a bug of outagewatch", wrapped))
	}
	return classifyStatus(wrapped, status.Code,
		"the webhook answered %d: it is wrong or revoked, or its channel was archived; set OUTAGEWATCH_SLACK_WEBHOOK_URL")
}

// redactURL removes the webhook URL, a secret, from the errors of the HTTP client.
func redactURL(err error) {
	var uerr *url.Error
	if errors.As(err, &uerr) {
		uerr.URL = "[redacted webhook URL]"
	}
}
