package health

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/outagewatch/outagewatch/detectors"
)

// stateDesc is outagewatch_health_state: 1 for each series' current state, 0 for the others.
var stateDesc = prometheus.NewDesc(
	"outagewatch_health_state",
	"Health state of each provider (model=\"\") and model: 1 for the current state, 0 for the others.",
	[]string{"provider", "model", "state"}, nil,
)

// boardCollector exports the board at scrape time: label values are bounded by ingest's caps
// on providers and models.
type boardCollector struct{ board *Board }

// NewCollector returns a collector of outagewatch_health_state over board.
func NewCollector(board *Board) prometheus.Collector { return boardCollector{board} }

func (c boardCollector) Describe(ch chan<- *prometheus.Desc) { ch <- stateDesc }

func (c boardCollector) Collect(ch chan<- prometheus.Metric) {
	_, statuses := c.board.Snapshot()
	for _, s := range statuses {
		for _, st := range detectors.States() {
			v := 0.0
			if s.State == st {
				v = 1
			}
			ch <- prometheus.MustNewConstMetric(stateDesc, prometheus.GaugeValue, v, s.Series.Provider, s.Series.Model, st.String())
		}
	}
}
