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
	skipSeverity     = "severity"      // the incident has not reached alerts.min_severity
	skipIncidentGone = "incident_gone" // the incident was deleted
	skipSilenced     = "silenced"      // counted in outagewatch_alerts_silenced_total instead
)

type metrics struct {
	sent     *prometheus.CounterVec
	errors   *prometheus.CounterVec
	skipped  *prometheus.CounterVec
	silenced prometheus.Counter
	backlog  prometheus.Gauge
	oldest   prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer, d *Dispatcher) *metrics {
	f := promauto.With(reg)
	m := &metrics{
		sent: f.NewCounterVec(prometheus.CounterOpts{
			Name: "outagewatch_alerts_sent_total",
			Help: "Notifications delivered, by kind (open, event, update, resolve).",
		}, []string{"kind"}),
		errors: f.NewCounterVec(prometheus.CounterOpts{
			Name: "outagewatch_alerts_errors_total",
			Help: "Failed notification attempts, by reason (rate_limited, server, permanent, network, other).",
		}, []string{"reason"}),
		skipped: f.NewCounterVec(prometheus.CounterOpts{
			Name: "outagewatch_alerts_skipped_total",
			Help: "Notifications completed without a message, by reason (severity, incident_gone, or the notifier's).",
		}, []string{"reason"}),
		silenced: f.NewCounter(prometheus.CounterOpts{
			Name: "outagewatch_alerts_silenced_total",
			Help: "Notifications suppressed by a silence.",
		}),
		backlog: f.NewGauge(prometheus.GaugeOpts{
			Name: "outagewatch_outbox_backlog",
			Help: "Notifications waiting in the outbox: neither delivered nor failed for good.",
		}),
		oldest: f.NewGauge(prometheus.GaugeOpts{
			Name: "outagewatch_outbox_oldest_age_seconds",
			Help: "Age of the oldest notification waiting in the outbox (0 when none).",
		}),
	}
	f.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "outagewatch_alerts_permanent_errors",
		Help: "Permanent delivery problems now (a refused token, broken channels); /readyz explains them.",
	}, func() float64 { return float64(d.problems()) })
	for _, k := range []string{incidents.NotifyOpen, incidents.NotifyEvent, incidents.NotifyUpdate, incidents.NotifyResolve} {
		m.sent.WithLabelValues(k)
	}
	for _, r := range []string{reasonRateLimited, reasonServer, reasonPermanent, reasonNetwork, reasonOther} {
		m.errors.WithLabelValues(r)
	}
	for _, r := range []string{skipSeverity, skipIncidentGone, SkipUnsupported, SkipNoThread} {
		m.skipped.WithLabelValues(r)
	}
	return m
}
