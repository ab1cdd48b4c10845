// Package alertmanager sends incidents to Prometheus Alertmanager through its API v2
// (POST /api/v2/alerts), the way Prometheus sends the alerts of its rules: one alert per
// incident, posted when the incident changes (Notifier, an alerts.Notifier on the outbox) and
// posted again every resend interval while it is active (Resender), each time with an endsAt
// four intervals ahead, so that Alertmanager resolves the alert by itself if outagewatch stops
// talking to it. A resolved incident is posted once more with its resolution time as endsAt.
//
// An alert's labels are its identity in Alertmanager (alertname, provider, model, severity,
// incident_id, and service or endpoint for a local incident) and stay the same for the
// incident's life but for an escalation: severity is the highest the incident reached, model the
// models of its opening step, so that a de-escalation or a model that joins changes only the
// annotations and an outage is one firing and one resolved notification. When an escalation
// changes them, the same POST resolves the alert of the previous label set, so that
// Alertmanager never holds two alerts of one incident. Notify and a Resender's round are
// serialized per Notifier, so that a round never posts an incident as firing after its
// resolution. Grouping, deduplication across an HA pair, silences and the
// notification log are Alertmanager's: posting the same alert again is harmless, which is what
// makes redelivery and the resends safe.
//
// The package owns the alerts' labels and annotations (Alerts), the API v2 types it posts, and
// the classification of Alertmanager's answers into the dispatcher's classes (alerts.Permanent,
// alerts.Unauthorized, alerts.RateLimited, retryable with HTTPStatusCode). It does not decide
// which incidents a target gets (the daemon's match, through Select), does not retry (the
// dispatcher does; the Resender tries again at its next round) and writes nothing to the store.
// It never writes the bearer token into an error or a log.
package alertmanager
