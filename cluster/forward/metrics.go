package forward

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Reasons a server refuses or ends a stream, the values of the reason label.
const (
	reasonUnauthenticated = "unauthenticated"
	reasonNotLeader       = "not_leader"
	reasonMalformed       = "malformed"
	reasonTooLarge        = "too_large"
)

// serverMetrics are the leader's side of forwarding.
type serverMetrics struct {
	received prometheus.Counter
	rejected *prometheus.CounterVec
	open     prometheus.Gauge
}

func newServerMetrics(reg prometheus.Registerer) *serverMetrics {
	f := promauto.With(reg)
	m := &serverMetrics{
		received: f.NewCounter(prometheus.CounterOpts{
			Name: "outagewatch_cluster_forward_received_calls_total",
			Help: "Calls received from other replicas and handed to the engine.",
		}),
		rejected: f.NewCounterVec(prometheus.CounterOpts{
			Name: "outagewatch_cluster_forward_rejected_streams_total",
			Help: "Forward streams refused or ended by this replica, by reason: unauthenticated, not_leader, malformed, too_large.",
		}, []string{"reason"}),
		open: f.NewGauge(prometheus.GaugeOpts{
			Name: "outagewatch_cluster_forward_open_streams",
			Help: "Forward streams from other replicas that this replica has accepted and not yet ended.",
		}),
	}
	for _, r := range []string{reasonUnauthenticated, reasonNotLeader, reasonMalformed, reasonTooLarge} {
		m.rejected.WithLabelValues(r)
	}
	return m
}

// Results of forwarded calls, the values of the result label.
const (
	resultSent    = "sent"
	resultDropped = "dropped"
)

// clientMetrics are a replica's side of forwarding.
type clientMetrics struct {
	sent     prometheus.Counter
	dropped  prometheus.Counter
	lag      prometheus.Histogram
	failures *prometheus.CounterVec
}

func newClientMetrics(reg prometheus.Registerer, queued func() float64) *clientMetrics {
	f := promauto.With(reg)
	forwarded := f.NewCounterVec(prometheus.CounterOpts{
		Name: "outagewatch_cluster_forwarded_calls_total",
		Help: "Calls this replica forwarded to the leader (sent: written to the stream), or dropped (queue full, or lost with a failed stream).",
	}, []string{"result"})
	f.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "outagewatch_cluster_forward_queued_calls",
		Help: "Calls waiting to be forwarded to the leader.",
	}, queued)
	m := &clientMetrics{
		sent:    forwarded.WithLabelValues(resultSent),
		dropped: forwarded.WithLabelValues(resultDropped),
		lag: f.NewHistogram(prometheus.HistogramOpts{
			Name:    "outagewatch_cluster_forward_lag_seconds",
			Help:    "Time from a call's enqueueing to the frame that carries it being written to the leader's stream, for the oldest call of each frame.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .15, .25, .5, 1, 2.5, 5, 10},
		}),
		failures: f.NewCounterVec(prometheus.CounterOpts{
			Name: "outagewatch_cluster_forward_stream_failures_total",
			Help: "Forward streams to the leader that failed or could not open, by reason: no_leader, unauthenticated, not_leader, unavailable, other.",
		}, []string{"reason"}),
	}
	for _, r := range []string{failNoLeader, reasonUnauthenticated, reasonNotLeader, failUnavailable, failOther} {
		m.failures.WithLabelValues(r)
	}
	return m
}
