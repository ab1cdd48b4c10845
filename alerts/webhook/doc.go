// Package webhook sends incidents to an HTTP endpoint as JSON webhooks signed per the Standard
// Webhooks specification (https://www.standardwebhooks.com): HMAC-SHA256 over
// "webhook-id.webhook-timestamp.body" with a whsec_ secret, in the webhook-id, webhook-timestamp
// and webhook-signature headers, so that any Standard Webhooks library verifies them.
//
// It owns the body's schema (Payload, documented in docs/webhooks.md), the mapping of outbox rows
// to event types, the signing, and the classification of the endpoint's answers into the
// dispatcher's classes (alerts.Permanent, alerts.Unauthorized, alerts.RateLimited, retryable).
// It does not retry, read the store or decide what is sent: the alerts dispatcher claims the
// rows, matches them to the target and retries them with backoff; a retry of a row carries the
// same webhook-id, so that receivers deduplicate it. It never writes the secret or the bearer
// token into an error.
package webhook
