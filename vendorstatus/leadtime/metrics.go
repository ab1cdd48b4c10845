package leadtime

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// leadBuckets span a provider that posts half an hour before our detection to one that posts two
// hours after it, in seconds.
var leadBuckets = []float64{-1800, -600, -300, -60, 0, 60, 120, 300, 600, 900, 1800, 3600, 7200}

type metrics struct {
	lead prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer) *metrics {
	return &metrics{
		// No labels, so that the series exists from the start; one observation per link.
		lead: promauto.With(reg).NewHistogram(prometheus.HistogramOpts{
			Name:    "outagewatch_provider_status_lead_seconds",
			Help:    "How long after outagewatch detected an outage the provider posted it on its status page, once per linked post (negative when the provider posted first).",
			Buckets: leadBuckets,
		}),
	}
}
