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

// localStateDesc is outagewatch_health_local_state: for each local verdict on the board (a
// caller that fails on its own, issue 18), 1 for its current state, 0 for the others.
var localStateDesc = prometheus.NewDesc(
	"outagewatch_health_local_state",
	"State of each local verdict (a caller, service:NAME or endpoint:HOST, failing on its own while the series' other callers are at their baseline) of a provider (model=\"\") or model: 1 for the current state, 0 for the others.",
	[]string{"provider", "model", "caller", "state"}, nil,
)

// boardCollector exports the board at scrape time: label values are bounded by ingest's caps
// on providers and models, and the callers of local verdicts by the engine's bound on callers
// per series.
type boardCollector struct{ board *Board }

// NewCollector returns a collector of outagewatch_health_state over board.
func NewCollector(board *Board) prometheus.Collector { return boardCollector{board} }

func (c boardCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- stateDesc
	ch <- localStateDesc
}

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
		for _, l := range s.Local {
			for _, st := range detectors.States() {
				v := 0.0
				if l.State == st {
					v = 1
				}
				ch <- prometheus.MustNewConstMetric(localStateDesc, prometheus.GaugeValue, v,
					s.Series.Provider, s.Series.Model, l.Series.Caller.String(), st.String())
			}
		}
	}
}

// NewVersionGauge returns outagewatch_health_board_version: the board's version, which moves
// with every state change and is the same on every replica of a cluster serving its leader's
// board (docs/cluster.md).
func NewVersionGauge(board *Board) prometheus.Collector {
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "outagewatch_health_board_version",
		Help: "The health board's version: it moves with every state change; the replicas of a cluster serving its leader's board all have the leader's.",
	}, func() float64 { return float64(board.Version()) })
}
