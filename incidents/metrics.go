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
	reg.MustRegister(openCollector{mgr})
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

// openDesc's caller label is "" for a provider's incident and the caller's text form
// ("service:batch-jobs") for a local incident (issue 18). It stays bounded: a series exists only
// while its incident is under way, and the engine confines failures to at most a few callers per
// model (the rest share "other", which is never confined to).
var openDesc = prometheus.NewDesc("outagewatch_incidents_open",
	"Incidents under way (open or acknowledged), by provider and caller (\"\" for the provider's own incident), as this daemon tracks them.",
	[]string{"provider", "caller"}, nil)

// openCollector exports outagewatch_incidents_open at scrape time.
type openCollector struct{ mgr *Manager }

func (c openCollector) Describe(ch chan<- *prometheus.Desc) { ch <- openDesc }

func (c openCollector) Collect(ch chan<- prometheus.Metric) {
	c.mgr.mu.Lock()
	defer c.mgr.mu.Unlock()
	for k := range c.mgr.active {
		ch <- prometheus.MustNewConstMetric(openDesc, prometheus.GaugeValue, 1, k.provider, k.caller)
	}
}
