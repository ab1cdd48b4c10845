// Package alerts delivers the alert outbox: the Dispatcher claims due notifications that the
// incident store wrote in the same transaction as the incident change, renders and sends each
// through a Notifier (package alerts/slack), and marks it delivered only after the notifier
// confirmed it. Retryable failures back off with jitter (a rate limit waits for its Retry-After);
// permanent ones (a bad token, an unknown channel) are not retried, and show on /readyz (Check)
// and in metrics. Silences (maintenance windows, SilenceAPI) mute notifications, never detection.
//
// The package owns the delivery policy: routing to channels, the minimum severity, silences,
// retries and their classification (Permanent, Unauthorized, RateLimited). It must not know how
// Slack is spoken to (that is the Notifier's business), nor write incidents: it reads them and
// records only outbox outcomes and the Slack thread of an incident.
package alerts
