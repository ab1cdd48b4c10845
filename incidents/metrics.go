package incidents

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

type metrics struct {
	storeErrors prometheus.Counter
	dropped     prometheus.Counter
}

func newMetrics(reg prometheus.Registerer, mgr *Manager) *metrics {
	f := promauto.With(reg)
	f.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "outagewatch_incidents_queue_depth",
		Help: "Incident changes waiting to be written to the store.",
	}, func() float64 { return float64(mgr.QueueDepth()) })
	f.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "outagewatch_store_up",
		Help: "1 when the last write to the incident store succeeded, 0 while it fails.",
	}, func() float64 {
		if mgr.Check(context.Background()) != nil {
			return 0
		}
		return 1
	})
	return &metrics{
		storeErrors: f.NewCounter(prometheus.CounterOpts{
			Name: "outagewatch_store_errors_total",
			Help: "Failed writes to the incident store (each is retried with backoff).",
		}),
		dropped: f.NewCounter(prometheus.CounterOpts{
			Name: "outagewatch_incidents_dropped_changes_total",
			Help: "Incident changes dropped because the queue for an unreachable store was full.",
		}),
	}
}
