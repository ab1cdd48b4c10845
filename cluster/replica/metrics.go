package replica

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// kinds are the frame kinds, pre-created as label values.
var kinds = []frameKind{frameFull, frameUpdate, frameHeartbeat}

// publisherMetrics are the leader's side of replication.
type publisherMetrics struct {
	followers prometheus.Gauge
	frames    *prometheus.CounterVec
	bytes     prometheus.Counter
}

func newPublisherMetrics(reg prometheus.Registerer) *publisherMetrics {
	f := promauto.With(reg)
	m := &publisherMetrics{
		followers: f.NewGauge(prometheus.GaugeOpts{
			Name: "outagewatch_cluster_replication_followers",
			Help: "Follow streams this replica serves as the leader.",
		}),
		frames: f.NewCounterVec(prometheus.CounterOpts{
			Name: "outagewatch_cluster_replication_frames_sent_total",
			Help: "Board frames sent to followers, by kind (full, update, heartbeat).",
		}, []string{"kind"}),
		bytes: f.NewCounter(prometheus.CounterOpts{
			Name: "outagewatch_cluster_replication_sent_bytes_total",
			Help: "Bytes of board frames sent to followers.",
		}),
	}
	for _, k := range kinds {
		m.frames.WithLabelValues(k.String())
	}
	return m
}

// followerMetrics are a follower's side of replication.
type followerMetrics struct {
	lag        prometheus.Histogram
	frames     *prometheus.CounterVec
	bytes      prometheus.Counter
	reconnects prometheus.Counter
	stale      prometheus.Gauge
}

func newFollowerMetrics(reg prometheus.Registerer) *followerMetrics {
	f := promauto.With(reg)
	m := &followerMetrics{
		lag: f.NewHistogram(prometheus.HistogramOpts{
			Name:    "outagewatch_cluster_replication_lag_seconds",
			Help:    "Time from the leader sending a board frame to this replica applying it (across the two hosts' clocks).",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}),
		frames: f.NewCounterVec(prometheus.CounterOpts{
			Name: "outagewatch_cluster_replication_frames_received_total",
			Help: "Board frames received from the leader, by kind (full, update, heartbeat).",
		}, []string{"kind"}),
		bytes: f.NewCounter(prometheus.CounterOpts{
			Name: "outagewatch_cluster_replication_received_bytes_total",
			Help: "Bytes of board frames received from the leader.",
		}),
		reconnects: f.NewCounter(prometheus.CounterOpts{
			Name: "outagewatch_cluster_replication_reconnects_total",
			Help: "Follow streams to the leader that ended (or could not start) and were tried again.",
		}),
		stale: f.NewGauge(prometheus.GaugeOpts{
			Name: "outagewatch_cluster_stale",
			Help: "1 while this replica has had no frame from the leader for longer than its stale_after (it serves its own engine's board), else 0.",
		}),
	}
	for _, k := range kinds {
		m.frames.WithLabelValues(k.String())
	}
	m.stale.Set(1) // a follower is stale until its first frame
	return m
}
