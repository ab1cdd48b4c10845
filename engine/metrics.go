package engine

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/outagewatch/outagewatch/detectors"
)

type metrics struct {
	transitions    *prometheus.CounterVec
	lag            prometheus.Histogram
	fanoutWaits    prometheus.Counter
	snapshotErrors prometheus.Counter
	snapshotBytes  prometheus.Gauge
	snapshotSaved  prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) *metrics {
	f := promauto.With(reg)
	m := &metrics{
		transitions: f.NewCounterVec(prometheus.CounterOpts{
			Name: "outagewatch_engine_transitions_total",
			Help: "State changes decided by the detection engine, by the state entered, the detector that decided, and the verdict: provider (the series' own state) or local (one caller's state; docs/detection.md, Whose failures).",
		}, []string{"to", "detector", "verdict"}),
		lag: f.NewHistogram(prometheus.HistogramOpts{
			Name:    "outagewatch_engine_lag_seconds",
			Help:    "Time from a call's end (its span's end time) to the engine seeing it.",
			Buckets: []float64{0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30, 60},
		}),
		fanoutWaits: f.NewCounter(prometheus.CounterOpts{
			Name: "outagewatch_engine_fanout_waits_total",
			Help: "Times the engine waited because its fan-out queue of transitions (to the board, incidents and logs) was full.",
		}),
		snapshotErrors: f.NewCounter(prometheus.CounterOpts{
			Name: "outagewatch_engine_snapshot_errors_total",
			Help: "Snapshots of the engine (states and baselines) that could not be saved; retried at the next save.",
		}),
		snapshotBytes: f.NewGauge(prometheus.GaugeOpts{
			Name: "outagewatch_engine_snapshot_bytes",
			Help: "Size of the last snapshot saved (the baselines and their companions, such as the learned hosts).",
		}),
		snapshotSaved: f.NewGauge(prometheus.GaugeOpts{
			Name: "outagewatch_engine_snapshot_last_success_timestamp_seconds",
			Help: "When the last snapshot was saved (Unix time); 0 before the first.",
		}),
	}
	for _, s := range detectors.States() {
		m.transitions.WithLabelValues(s.String(), "", "provider")
	}
	return m
}

// register adds the gauges that read the runner's own state.
func (m *metrics) register(reg prometheus.Registerer, out *fanout, capped func() (refused, folded uint64)) {
	f := promauto.With(reg)
	f.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "outagewatch_engine_fanout_queue_depth",
		Help: "Transitions waiting in the engine's fan-out queue for the board, incidents and logs.",
	}, func() float64 { return float64(out.depth()) })
	f.NewCounterFunc(prometheus.CounterOpts{
		Name: "outagewatch_engine_calls_refused_total",
		Help: "Calls the engine ignored because their provider is beyond its cap of providers.",
	}, func() float64 { r, _ := capped(); return float64(r) })
	f.NewCounterFunc(prometheus.CounterOpts{
		Name: "outagewatch_engine_calls_folded_total",
		Help: "Calls the engine counted under the model \"other\" because their model is beyond its provider's cap of models.",
	}, func() float64 { _, fo := capped(); return float64(fo) })
}
