package alerts

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/outagewatch/outagewatch/incidents"
)

// Target types (TargetConfig.Type).
const (
	TypeAlertmanager = "alertmanager" // Alertmanager's API v2 (alerts/alertmanager)
	TypeWebhook      = "webhook"      // a signed JSON webhook (alerts/webhook)
)

// Incident kinds a Match selects (Match.Kinds).
const (
	KindProvider = "provider" // a provider incident: the provider fails for every caller
	KindLocal    = "local"    // a local incident: one caller's calls fail alone (issue 18)
)

// Match selects the incidents a target is notified of, as an Alertmanager route does. Every
// field that is set must match; an empty Match selects every incident of at least warning.
type Match struct {
	// Providers are the providers selected; empty selects every provider.
	Providers []string `yaml:"providers"`
	// Models are shell patterns (path.Match: "claude-*", "gpt-4?"); an incident matches when
	// one of its models matches one pattern. Empty selects every model.
	Models []string `yaml:"models"`
	// Kinds are KindProvider and KindLocal; empty selects both.
	Kinds []string `yaml:"kinds"`
	// MinSeverity is the lowest severity notified: warning (the default) or critical. Once an
	// incident has reached it, every later notification of the incident goes out, down to its
	// resolution.
	MinSeverity incidents.Severity `yaml:"min_severity"`
}

// Selects reports whether inc is one of the match's incidents, its severity aside (Reaches).
func (m Match) Selects(inc incidents.Incident) bool {
	if len(m.Providers) > 0 && !slices.Contains(m.Providers, inc.Provider) {
		return false
	}
	kind := KindProvider
	if inc.Caller != "" {
		kind = KindLocal
	}
	if len(m.Kinds) > 0 && !slices.Contains(m.Kinds, kind) {
		return false
	}
	if len(m.Models) == 0 {
		return true
	}
	for _, model := range inc.Models {
		for _, p := range m.Models {
			if ok, _ := path.Match(p, model); ok {
				return true
			}
		}
	}
	return false
}

// Reaches reports whether the incident had reached the match's severity by event eventID.
func (m Match) Reaches(events []incidents.Event, eventID int64) bool {
	want := rank(cmpSeverity(m.MinSeverity))
	for _, e := range events {
		if e.ID <= eventID && rank(e.Severity) >= want {
			return true
		}
	}
	return false
}

// Holds reports whether inc is one of the match's incidents now: selected, with its severity
// reached by the latest event of its timeline (an Alertmanager's resend asks it).
func (m Match) Holds(inc incidents.Incident, timeline []incidents.Event) bool {
	if !m.Selects(inc) || len(timeline) == 0 {
		return false
	}
	last := int64(0)
	for _, e := range timeline {
		last = max(last, e.ID)
	}
	return m.Reaches(timeline, last)
}

func cmpSeverity(s incidents.Severity) incidents.Severity {
	if s == "" {
		return incidents.SeverityWarning
	}
	return s
}

// validate reports the match's invalid fields under field.
func (m Match) validate(field string, bad func(field, msg string)) {
	if s := m.MinSeverity; s != "" && s != incidents.SeverityWarning && s != incidents.SeverityCritical {
		bad(field+".min_severity", fmt.Sprintf("must be warning or critical, not %q", s))
	}
	for _, k := range m.Kinds {
		if k != KindProvider && k != KindLocal {
			bad(field+".kinds", fmt.Sprintf("%q: must be %s or %s", k, KindProvider, KindLocal))
		}
	}
	for _, p := range m.Models {
		if _, err := path.Match(p, ""); err != nil {
			bad(field+".models", fmt.Sprintf("%q is not a valid pattern: %v", p, err))
		}
	}
	for _, p := range m.Providers {
		if strings.TrimSpace(p) == "" {
			bad(field+".providers", "must not hold an empty name")
		}
	}
}

// TargetConfig is one notification target besides Slack (alerts.targets[]).
type TargetConfig struct {
	// Name names the target in metrics, logs and the store; unique, [a-z0-9_-], at most 64.
	Name string `yaml:"name"`
	// Type is TypeAlertmanager or TypeWebhook.
	Type string `yaml:"type"`
	// URLs: for Alertmanager, the base URL of each instance (http://am:9093), which each
	// receive every alert (an HA pair lists both); for a webhook, the one endpoint.
	URLs []string `yaml:"urls"`
	// SecretFile is the webhook's signing secret (Standard Webhooks: whsec_ and base64), read
	// at start and on reload.
	SecretFile string `yaml:"secret_file"`
	// BearerTokenFile, when set, is a token sent as "Authorization: Bearer" with every request.
	BearerTokenFile string `yaml:"bearer_token_file"`
	// RunbookURL is linked from the Alertmanager alerts' runbook_url annotation and the
	// webhook body.
	RunbookURL string `yaml:"runbook_url"`
	// ResendInterval is how often Alertmanager is sent the alerts of every open incident
	// again, as Prometheus does; their endsAt is 4 intervals ahead. Default 1m.
	ResendInterval time.Duration `yaml:"resend_interval"`
	// Match selects the incidents sent to the target.
	Match Match `yaml:"match"`
}

// DefaultResendInterval is Alertmanager targets' default resend_interval (Prometheus's
// rules.resend_delay).
const DefaultResendInterval = time.Minute

// Destinations are the queues of the target in the store, one per URL: its name for a webhook,
// name@host/path for each Alertmanager (so that one of an HA pair down holds nothing back for
// the other, and a reordered list keeps each queue).
func (t TargetConfig) Destinations() []string {
	if t.Type != TypeAlertmanager {
		return []string{t.Name}
	}
	out := make([]string, 0, len(t.URLs))
	for _, raw := range t.URLs {
		out = append(out, DestinationName(t.Name, raw))
	}
	return out
}

// DestinationName is the queue name of one Alertmanager URL of target name: name@host/path,
// without scheme, credentials or query.
func DestinationName(name, rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return name + "@" + rawURL
	}
	return name + "@" + u.Host + strings.TrimRight(u.Path, "/")
}

// validate reports the target's invalid fields under alerts.targets[i].
func (t TargetConfig) validate(i int, bad func(field, msg string)) {
	field := fmt.Sprintf("targets[%d]", i)
	if !validName(t.Name) {
		bad(field+".name", fmt.Sprintf("%q: must be 1 to 64 of a-z, 0-9, _ and -", t.Name))
	}
	switch t.Type {
	case TypeAlertmanager:
		if len(t.URLs) == 0 {
			bad(field+".urls", "must list at least one Alertmanager base URL")
		}
		if t.SecretFile != "" {
			bad(field+".secret_file", "is a webhook setting")
		}
		if t.ResendInterval < 0 || (t.ResendInterval > 0 && t.ResendInterval < time.Second) {
			bad(field+".resend_interval", "must be at least 1s")
		}
	case TypeWebhook:
		if len(t.URLs) != 1 {
			bad(field+".urls", "must list the webhook's one URL")
		}
		if t.SecretFile == "" {
			bad(field+".secret_file", "must name the file of the signing secret (whsec_...)")
		}
		if t.ResendInterval != 0 {
			bad(field+".resend_interval", "is an Alertmanager setting")
		}
	default:
		bad(field+".type", fmt.Sprintf("%q: must be %s or %s", t.Type, TypeAlertmanager, TypeWebhook))
	}
	seen := map[string]bool{}
	for _, u := range t.URLs {
		if err := checkURL(u); err != nil {
			bad(field+".urls", err.Error())
		}
		d := DestinationName(t.Name, u)
		if seen[d] {
			bad(field+".urls", fmt.Sprintf("%q is listed twice", u))
		}
		seen[d] = true
	}
	if t.RunbookURL != "" {
		if err := checkURL(t.RunbookURL); err != nil {
			bad(field+".runbook_url", err.Error())
		}
	}
	t.Match.validate(field+".match", bad)
}

func validName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

// validateTargets checks every target, and that their names are unique and not "slack".
func validateTargets(targets []TargetConfig, bad func(field, msg string)) {
	names := map[string]bool{}
	for i, t := range targets {
		t.validate(i, bad)
		if t.Name == SlackTarget {
			bad(fmt.Sprintf("targets[%d].name", i), `"slack" is the Slack target's name`)
		}
		if names[t.Name] {
			bad(fmt.Sprintf("targets[%d].name", i), fmt.Sprintf("%q is used twice", t.Name))
		}
		names[t.Name] = true
	}
}

// SlackTarget is the Slack target's name in metrics and logs.
const SlackTarget = "slack"

// TargetStore keeps the deliveries of the targets besides Slack: one delivery of each outbox row
// per destination, with its own attempts, lease and outcome. store/sqlite and store/postgres
// implement it; it is safe for concurrent use, also by several processes sharing a database.
// Errors are retryable; incidents.ErrNotFound means the delivery is gone.
type TargetStore interface {
	// RegisterTargets records that the destinations are configured at now. Every outbox row
	// written from then on gets one delivery per registered destination, in the transaction
	// that writes it; a destination registered again keeps its deliveries. Destinations not
	// registered for TargetExpiry before now are removed, with their deliveries.
	RegisterTargets(ctx context.Context, destinations []string, now time.Time) error
	// ClaimDeliveries is Outbox.Claim on one destination's deliveries. The rows it hands out
	// carry the outbox row's IncidentID, EventID, Kind, DedupKey and CreatedAt, and the
	// delivery's own ID, Attempts, Claims, NextAttemptAt, DeliveredAt, LastError and
	// Permanent. Only the oldest pending delivery of each incident is claimed; one failed for
	// good no longer holds the rest back.
	ClaimDeliveries(ctx context.Context, destination string, now time.Time, limit int, lease time.Duration) ([]incidents.OutboxRow, error)
	// DeliveryBacklog is Outbox.Backlog on one destination's deliveries.
	DeliveryBacklog(ctx context.Context, destination string, now time.Time) (n int, oldest time.Time, err error)
	// CompleteDelivery, RetryDelivery and FailDelivery are Settler's methods on delivery IDs.
	CompleteDelivery(ctx context.Context, id int64, at time.Time) error
	RetryDelivery(ctx context.Context, id int64, next time.Time, msg string) error
	FailDelivery(ctx context.Context, id int64, msg string) error
}

// queue is one destination's deliveries as an Outbox and a Settler.
type queue struct {
	store       TargetStore
	destination string
}

// Queue returns the deliveries of destination in s as the dispatcher's Outbox and Settler.
func Queue(s TargetStore, destination string) interface {
	Outbox
	Settler
} {
	return queue{store: s, destination: destination}
}

func (q queue) Claim(ctx context.Context, now time.Time, limit int, lease time.Duration) ([]incidents.OutboxRow, error) {
	return q.store.ClaimDeliveries(ctx, q.destination, now, limit, lease)
}

func (q queue) Backlog(ctx context.Context, now time.Time) (int, time.Time, error) {
	return q.store.DeliveryBacklog(ctx, q.destination, now)
}

func (q queue) Complete(ctx context.Context, id int64, at time.Time) error {
	return q.store.CompleteDelivery(ctx, id, at)
}

func (q queue) Retry(ctx context.Context, id int64, next time.Time, msg string) error {
	return q.store.RetryDelivery(ctx, id, next, msg)
}

func (q queue) Fail(ctx context.Context, id int64, msg string) error {
	return q.store.FailDelivery(ctx, id, msg)
}

// TargetExpiry is how long a destination that no replica registers any more keeps getting
// deliveries before the store drops it (a removed target; a replica on an older configuration
// during a rolling update must not drop a newer one's queue at once).
const TargetExpiry = time.Hour

// errNoTargetStore is returned when targets are configured without a store for them.
var errNoTargetStore = errors.New("alerts: targets need the target store")
