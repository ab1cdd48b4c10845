package alerts

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/outagewatch/outagewatch/incidents"
)

// Error reasons of outagewatch_alerts_errors_total.
const (
	reasonRateLimited = "rate_limited" // the receiver asked us to slow down
	reasonServer      = "server"       // the receiver failed (HTTP 5xx)
	reasonPermanent   = "permanent"    // retrying cannot help: bad token, unknown channel
	reasonNetwork     = "network"      // no answer: connection refused, timeout
	reasonOther       = "other"        // anything else, the store included
)

// Reasons of outagewatch_alerts_skipped_total: notifications completed without a message.
const (
	skipSeverity     = "severity"      // the incident has not reached the target's min_severity
	skipUnmatched    = "unmatched"     // the target's match does not select the incident
	skipIncidentGone = "incident_gone" // the incident was deleted
	skipSilenced     = "silenced"      // counted in outagewatch_alerts_silenced_total instead
)

// Metrics are the delivery metrics of every target, labelled by target: "slack", a webhook
// target's name, or one Alertmanager of a target (name@host). One set serves every dispatcher
// of a registry: NewMetrics registers it once.
type Metrics struct {
	sent      *prometheus.CounterVec
	errors    *prometheus.CounterVec
	retried   *prometheus.CounterVec
	failed    *prometheus.CounterVec
	skipped   *prometheus.CounterVec
	silenced  *prometheus.CounterVec
	backlog   *prometheus.GaugeVec
	oldest    *prometheus.GaugeVec
	permanent *prometheus.GaugeVec
}

// NewMetrics registers the delivery metrics on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	f := promauto.With(reg)
	return &Metrics{
		sent: f.NewCounterVec(prometheus.CounterOpts{
			Name: "outagewatch_alerts_sent_total",
			Help: "Notifications delivered, by target and kind (open, event, update, resolve).",
		}, []string{"target", "kind"}),
		errors: f.NewCounterVec(prometheus.CounterOpts{
			Name: "outagewatch_alerts_errors_total",
			Help: "Failed notification attempts, by target and reason (rate_limited, server, permanent, network, other).",
		}, []string{"target", "reason"}),
		retried: f.NewCounterVec(prometheus.CounterOpts{
			Name: "outagewatch_alerts_retried_total",
			Help: "Failed notification attempts that will be retried, by target.",
		}, []string{"target"}),
		failed: f.NewCounterVec(prometheus.CounterOpts{
			Name: "outagewatch_alerts_failed_total",
			Help: "Notifications given up for good (a permanent error), by target.",
		}, []string{"target"}),
		skipped: f.NewCounterVec(prometheus.CounterOpts{
			Name: "outagewatch_alerts_skipped_total",
			Help: "Notifications completed without a message, by target and reason (severity, unmatched, incident_gone, or the notifier's).",
		}, []string{"target", "reason"}),
		silenced: f.NewCounterVec(prometheus.CounterOpts{
			Name: "outagewatch_alerts_silenced_total",
			Help: "Notifications suppressed by a silence, by target.",
		}, []string{"target"}),
		backlog: f.NewGaugeVec(prometheus.GaugeOpts{
			Name: "outagewatch_outbox_backlog",
			Help: "Notifications waiting in the outbox, by target: neither delivered nor failed for good.",
		}, []string{"target"}),
		oldest: f.NewGaugeVec(prometheus.GaugeOpts{
			Name: "outagewatch_outbox_oldest_age_seconds",
			Help: "Age of the oldest notification waiting in the outbox, by target (0 when none).",
		}, []string{"target"}),
		permanent: f.NewGaugeVec(prometheus.GaugeOpts{
			Name: "outagewatch_alerts_permanent_errors",
			Help: "Permanent delivery problems now, by target (a refused token, broken channels); /readyz explains them.",
		}, []string{"target"}),
	}
}

// forTarget returns the metrics of one target, every series created at zero.
func (m *Metrics) forTarget(target string) *targetMetrics {
	l := prometheus.Labels{"target": target}
	t := &targetMetrics{
		sent: m.sent.MustCurryWith(l), errors: m.errors.MustCurryWith(l), skipped: m.skipped.MustCurryWith(l),
		retried: m.retried.With(l), failed: m.failed.With(l), silenced: m.silenced.With(l),
		backlog: m.backlog.With(l), oldest: m.oldest.With(l), permanent: m.permanent.With(l),
	}
	for _, k := range []string{incidents.NotifyOpen, incidents.NotifyEvent, incidents.NotifyUpdate, incidents.NotifyResolve} {
		t.sent.WithLabelValues(k)
	}
	for _, r := range []string{reasonRateLimited, reasonServer, reasonPermanent, reasonNetwork, reasonOther} {
		t.errors.WithLabelValues(r)
	}
	for _, r := range []string{skipSeverity, skipUnmatched, skipIncidentGone, SkipUnsupported, SkipNoThread} {
		t.skipped.WithLabelValues(r)
	}
	return t
}

// forget removes a target's series (a target removed by a reload).
func (m *Metrics) forget(target string) {
	l := prometheus.Labels{"target": target}
	for _, v := range []*prometheus.CounterVec{m.sent, m.errors, m.retried, m.failed, m.skipped, m.silenced} {
		v.DeletePartialMatch(l)
	}
	for _, v := range []*prometheus.GaugeVec{m.backlog, m.oldest, m.permanent} {
		v.DeletePartialMatch(l)
	}
}

// targetMetrics are one target's series.
type targetMetrics struct {
	sent, errors, skipped     *prometheus.CounterVec
	retried, failed, silenced prometheus.Counter
	backlog, oldest           prometheus.Gauge
	permanent                 prometheus.Gauge
}
