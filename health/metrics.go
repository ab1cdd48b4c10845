package health

import (
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/proto"

	"github.com/outagewatch/outagewatch/detectors"
)

// The families' names and help, shared by their descriptors and the families StateFamilies
// serves.
var (
	stateName      = "outagewatch_health_state"
	stateHelp      = "Health state of each provider (model=\"\") and model: 1 for the current state, 0 for the others."
	localStateName = "outagewatch_health_local_state"
	localStateHelp = "State of each local verdict (a caller, service:NAME or endpoint:HOST, failing on its own while the series' other callers are at their baseline) of a provider (model=\"\") or model: 1 for the current state, 0 for the others."
)

// stateDesc is outagewatch_health_state: 1 for each series' current state, 0 for the others.
var stateDesc = prometheus.NewDesc(stateName, stateHelp, []string{"provider", "model", "state"}, nil)

// localStateDesc is outagewatch_health_local_state: for each local verdict on the board (a
// caller that fails on its own, issue 18), 1 for its current state, 0 for the others.
var localStateDesc = prometheus.NewDesc(localStateName, localStateHelp, []string{"provider", "model", "caller", "state"}, nil)

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

	// mu guards the cache below; the gauges (metrics and families) are never changed once
	// built (a rebuild replaces them), so a scrape sends them after letting go of mu.
	mu         sync.Mutex
	generation uint64     // the board's generation the cache was last checked at
	keys       []stateKey // what the cache was built from, in the board's order
	gauges     stateGauges

	// direct is set once the families are served by families (StateFamilies) rather than
	// through the registry: Collect then sends nothing, so that the registry neither repeats
	// them nor spends its per-metric work on them.
	direct atomic.Bool
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
	if c.direct.Load() {
		return
	}
	for _, m := range c.current() {
		ch <- m
	}
}

// StateFamilies returns a source of outagewatch_health_state and
// outagewatch_health_local_state over board as ready-made families, as the registry would
// output them (same names, help, labels, values and order; a family without a gauge is left
// out): for a Gatherer that merges them by name (ingest's Pipeline.Gatherer). The families are
// kept between calls and rebuilt only when the board's states change; they are shared and must
// not be changed.
//
// From then on, the collector of board that NewCollector made and reg holds no longer collects
// them (reg.Gather leaves them out; their names stay registered): serve /metrics through that
// Gatherer only.
func StateFamilies(board *Board, reg prometheus.Registerer) func() []*dto.MetricFamily {
	c := &boardCollector{board: board}
	c.direct.Store(true)
	// A registry knows a collector by its descriptors: c takes the place of board's collector,
	// so that the names stay registered. Registering the same descriptors again where they were
	// just accepted cannot fail.
	if reg.Unregister(c) {
		_ = reg.Register(c)
	}
	return c.families
}

// families returns the families of the gauges for the board as it is.
func (c *boardCollector) families() []*dto.MetricFamily { return c.cached().families }

// current returns the gauges for the board as it is.
func (c *boardCollector) current() []prometheus.Metric { return c.cached().metrics }

// cached returns the gauges for the board as it is, from the cache when nothing they show
// changed.
func (c *boardCollector) cached() stateGauges {
	c.mu.Lock()
	defer c.mu.Unlock()
	gen := c.board.Generation()
	if gen == c.generation && c.gauges.metrics != nil {
		return c.gauges
	}
	c.board.mu.RLock()
	same := c.sameKeysLocked(c.board.statuses)
	if !same {
		c.keys = stateKeys(c.board.statuses, c.keys[:0])
	}
	c.board.mu.RUnlock()
	c.generation = gen
	if !same || c.gauges.metrics == nil {
		c.gauges = buildStateGauges(c.keys)
	}
	return c.gauges
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

// stateGauges are the gauges of a board, built once: as metrics for the registry and as the
// families the registry would output from them, which share their dto.Metric. Never changed
// once built.
type stateGauges struct {
	metrics  []prometheus.Metric
	families []*dto.MetricFamily
}

// buildStateGauges builds every gauge of keys: each family sorted as the registry sorts it (by
// label values in the order of the labels' names), with label pairs shared between gauges.
func buildStateGauges(keys []stateKey) stateGauges {
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
			g := &stateGauge{desc: stateDesc, metric: dto.Metric{Gauge: gaugeZero}}
			if k.state == st {
				g.metric.Gauge = gaugeOne
			}
			if k.local {
				g.desc = localStateDesc
				g.metric.Label = []*dto.LabelPair{pair("caller", k.series.Caller.String()), pair("model", k.series.Model),
					pair("provider", k.series.Provider), pair("state", st.String())}
				locals = append(locals, g)
				continue
			}
			g.metric.Label = []*dto.LabelPair{pair("model", k.series.Model), pair("provider", k.series.Provider), pair("state", st.String())}
			states = append(states, g)
		}
	}
	out := stateGauges{metrics: make([]prometheus.Metric, 0, len(states)+len(locals))}
	for i, gs := range [][]*stateGauge{states, locals} {
		slices.SortFunc(gs, compareLabelValues)
		f := &dto.MetricFamily{Type: dto.MetricType_GAUGE.Enum(), Metric: make([]*dto.Metric, 0, len(gs))}
		f.Name, f.Help = &stateName, &stateHelp
		if i == 1 {
			f.Name, f.Help = &localStateName, &localStateHelp
		}
		for _, g := range gs {
			out.metrics = append(out.metrics, g)
			f.Metric = append(f.Metric, &g.metric)
		}
		if len(gs) > 0 {
			out.families = append(out.families, f)
		}
	}
	return out
}

// compareLabelValues orders two gauges of one family by their label values.
func compareLabelValues(a, b *stateGauge) int {
	for i := range a.metric.Label {
		if c := strings.Compare(a.metric.Label[i].GetValue(), b.metric.Label[i].GetValue()); c != 0 {
			return c
		}
	}
	return 0
}

// stateGauge is one cached gauge: writing it allocates nothing.
type stateGauge struct {
	desc *prometheus.Desc
	// metric is what the registry would output: its labels sorted by name and shared, its
	// value gaugeOne or gaugeZero. Never changed once built.
	metric dto.Metric
}

func (g *stateGauge) Desc() *prometheus.Desc { return g.desc }

func (g *stateGauge) Write(out *dto.Metric) error {
	out.Label, out.Gauge = g.metric.Label, g.metric.Gauge
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
