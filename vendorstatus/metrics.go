package vendorstatus

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Fetch results of outagewatch_provider_status_fetches_total.
const (
	resultOK          = "ok"
	resultNotModified = "not_modified"
	resultError       = "error"
)

var indicators = []Indicator{
	IndicatorNone, IndicatorMinor, IndicatorMajor, IndicatorCritical, IndicatorMaintenance, IndicatorUnknown,
}

type metrics struct {
	indicator     *prometheus.GaugeVec
	incidentsOpen *prometheus.GaugeVec
	up            *prometheus.GaugeVec
	fetches       *prometheus.CounterVec
	lastSuccess   *prometheus.GaugeVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	f := promauto.With(reg)
	return &metrics{
		indicator: f.NewGaugeVec(prometheus.GaugeOpts{
			Name: "outagewatch_provider_status_indicator",
			Help: "The indicator the provider's own status page shows: 1 for the current one, 0 for the others (unknown: the page could not be read).",
		}, []string{"provider", "indicator"}),
		incidentsOpen: f.NewGaugeVec(prometheus.GaugeOpts{
			Name: "outagewatch_provider_status_incidents_open",
			Help: "Open incidents on the provider's own status page, as last read.",
		}, []string{"provider"}),
		up: f.NewGaugeVec(prometheus.GaugeOpts{
			Name: "outagewatch_provider_status_up",
			Help: "1 when the provider's status page was read at the last attempt, 0 when it is unknown.",
		}, []string{"provider"}),
		fetches: f.NewCounterVec(prometheus.CounterOpts{
			Name: "outagewatch_provider_status_fetches_total",
			Help: "HTTP fetches of the providers' status documents by result (ok, not_modified, error).",
		}, []string{"provider", "result"}),
		lastSuccess: f.NewGaugeVec(prometheus.GaugeOpts{
			Name: "outagewatch_provider_status_last_success_timestamp_seconds",
			Help: "When the provider's status page was last read successfully (Unix seconds).",
		}, []string{"provider"}),
	}
}

// precreate gives every label value of provider a series, so that dashboards have no gaps.
func (m *metrics) precreate(provider string) {
	for _, i := range indicators {
		m.indicator.WithLabelValues(provider, string(i))
	}
	for _, r := range []string{resultOK, resultNotModified, resultError} {
		m.fetches.WithLabelValues(provider, r)
	}
	m.incidentsOpen.WithLabelValues(provider)
	m.up.WithLabelValues(provider)
	m.lastSuccess.WithLabelValues(provider)
}

func (m *metrics) observe(s Status) {
	for _, i := range indicators {
		v := 0.0
		if i == s.Indicator {
			v = 1
		}
		m.indicator.WithLabelValues(s.Provider, string(i)).Set(v)
	}
	m.incidentsOpen.WithLabelValues(s.Provider).Set(float64(len(s.OpenIncidents())))
	up := 0.0
	if s.Indicator != IndicatorUnknown {
		up = 1
	}
	m.up.WithLabelValues(s.Provider).Set(up)
	if !s.FetchedAt.IsZero() {
		m.lastSuccess.WithLabelValues(s.Provider).Set(float64(s.FetchedAt.UnixNano()) / 1e9)
	}
}
