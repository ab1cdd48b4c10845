package health

import (
	"slices"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/proto"

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
//
// At the default caps the board holds 2,080 series, four gauges each, and states change far
// more rarely than Prometheus scrapes (issue 20): the collector keeps the gauges it built and
// rebuilds them only when a series, a state or a local verdict changed. A cheap check comes
// first: the board's generation (it moves every second with the figures), then the states
// themselves. The cached gauges share their label pairs and values and are sent in the
// registry's order, which keeps the registry's checks and sort cheap.
type boardCollector struct {
	board *Board

	// mu guards the cache below; the metrics slices are never changed once built (a rebuild
	// replaces them), so a scrape sends them after letting go of mu.
	mu         sync.Mutex
	generation uint64     // the board's generation the cache was last checked at
	keys       []stateKey // what the cache was built from, in the board's order
	metrics    []prometheus.Metric
}

// stateKey is what a series contributes to the gauges: its key and state, or a local verdict's.
type stateKey struct {
	series detectors.SeriesKey
	state  detectors.State
	local  bool
}

// NewCollector returns a collector of outagewatch_health_state and
// outagewatch_health_local_state over board.
func NewCollector(board *Board) prometheus.Collector { return &boardCollector{board: board} }

func (c *boardCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- stateDesc
	ch <- localStateDesc
}

func (c *boardCollector) Collect(ch chan<- prometheus.Metric) {
	for _, m := range c.current() {
		ch <- m
	}
}

// current returns the gauges for the board as it is, from the cache when nothing they show
// changed.
func (c *boardCollector) current() []prometheus.Metric {
	c.mu.Lock()
	defer c.mu.Unlock()
	gen := c.board.Generation()
	if gen == c.generation && c.metrics != nil {
		return c.metrics
	}
	c.board.mu.RLock()
	same := c.sameKeysLocked(c.board.statuses)
	if !same {
		c.keys = stateKeys(c.board.statuses, c.keys[:0])
	}
	c.board.mu.RUnlock()
	c.generation = gen
	if !same || c.metrics == nil {
		c.metrics = buildStateGauges(c.keys)
	}
	return c.metrics
}

// sameKeysLocked reports whether statuses show what c.keys hold. c.mu and the board's lock
// are held.
func (c *boardCollector) sameKeysLocked(statuses []detectors.Status) bool {
	i := 0
	for _, s := range statuses {
		if i >= len(c.keys) || c.keys[i] != (stateKey{series: s.Series, state: s.State}) {
			return false
		}
		i++
		for _, l := range s.Local {
			if i >= len(c.keys) || c.keys[i] != (stateKey{series: l.Series, state: l.State, local: true}) {
				return false
			}
			i++
		}
	}
	return i == len(c.keys)
}

// stateKeys appends what statuses contribute to the gauges to keys.
func stateKeys(statuses []detectors.Status, keys []stateKey) []stateKey {
	for _, s := range statuses {
		keys = append(keys, stateKey{series: s.Series, state: s.State})
		for _, l := range s.Local {
			keys = append(keys, stateKey{series: l.Series, state: l.State, local: true})
		}
	}
	return keys
}

// Every gauge is 1 or 0: two shared, never-changed values.
var (
	gaugeOne  = &dto.Gauge{Value: proto.Float64(1)}
	gaugeZero = &dto.Gauge{Value: proto.Float64(0)}
)

// buildStateGauges builds every gauge of keys: each family sorted as the registry sorts it (by
// label values in the order of the labels' names), with label pairs shared between gauges.
func buildStateGauges(keys []stateKey) []prometheus.Metric {
	pairs := map[[2]string]*dto.LabelPair{}
	pair := func(name, value string) *dto.LabelPair {
		k := [2]string{name, value}
		p := pairs[k]
		if p == nil {
			p = &dto.LabelPair{Name: proto.String(name), Value: proto.String(value)}
			pairs[k] = p
		}
		return p
	}
	var states, locals []*stateGauge
	for _, k := range keys {
		for _, st := range detectors.States() {
			g := &stateGauge{desc: stateDesc, value: gaugeZero}
			if k.state == st {
				g.value = gaugeOne
			}
			if k.local {
				g.desc = localStateDesc
				g.labels = []*dto.LabelPair{pair("caller", k.series.Caller.String()), pair("model", k.series.Model),
					pair("provider", k.series.Provider), pair("state", st.String())}
				locals = append(locals, g)
				continue
			}
			g.labels = []*dto.LabelPair{pair("model", k.series.Model), pair("provider", k.series.Provider), pair("state", st.String())}
			states = append(states, g)
		}
	}
	out := make([]prometheus.Metric, 0, len(states)+len(locals))
	for _, gs := range [][]*stateGauge{states, locals} {
		slices.SortFunc(gs, compareLabelValues)
		for _, g := range gs {
			out = append(out, g)
		}
	}
	return out
}

// compareLabelValues orders two gauges of one family by their label values.
func compareLabelValues(a, b *stateGauge) int {
	for i := range a.labels {
		if c := strings.Compare(a.labels[i].GetValue(), b.labels[i].GetValue()); c != 0 {
			return c
		}
	}
	return 0
}

// stateGauge is one cached gauge: writing it allocates nothing.
type stateGauge struct {
	desc   *prometheus.Desc
	labels []*dto.LabelPair // sorted by name; shared, never changed
	value  *dto.Gauge       // gaugeOne or gaugeZero
}

func (g *stateGauge) Desc() *prometheus.Desc { return g.desc }

func (g *stateGauge) Write(out *dto.Metric) error {
	out.Label, out.Gauge = g.labels, g.value
	return nil
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
