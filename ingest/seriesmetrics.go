package ingest

import (
	"cmp"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/outagewatch/outagewatch/detectors"
)

// The per-series families (outagewatch_calls_total, outagewatch_call_duration_seconds,
// outagewatch_ttft_seconds) are most of /metrics: at the default caps, 2,048 series of 13 or more
// counters and two histograms each. A CounterVec and two HistogramVecs made a scrape cost about
// 300 ms of CPU (issue 20, docs/operations.md "Scraping at full size"), mostly in the registry:
// it checks and sorts every metric, chasing the label pairs that each child allocated apart,
// and the children came out in hash order, so the sort did all its work. seriesCollector
// exports the same families, names, labels and values, but:
//   - a label pair is allocated once per value (one "provider=openai" for every metric of
//     every openai model), so that the registry's checks, sort and encoding stay in a few
//     cache lines;
//   - it sends each family already in the registry's order, which makes its sort one pass;
//   - a counter or histogram that has not moved since the last scrape gives its last output
//     again, and a counter's created timestamp is made once.
//
// The histograms are still client_golang's (classic buckets and native histograms alike);
// only their labels are shared and their output kept.
//
// /metrics does not gather them through the registry at all: families hands them to the
// Pipeline's Gatherer (gatherer.go) as the registry would have output them, so that their
// metrics skip the registry's per-metric work too.

// callsHelp, durationHelp and ttftHelp are the families' help texts.
const (
	callsHelp    = "LLM calls, by provider, model, outcome (ok, error, truncated, incomplete) and error class; a head-sampled call counts as its adjusted count (2 for tracestate ot=th:8)."
	durationHelp = "Duration of successful LLM calls."
	ttftHelp     = "Time to the first chunk of streamed LLM calls."
)

// seriesCollector holds and exports the per-series families. countCall (through series and
// callCounter.add) runs on the pipeline goroutine only; Collect runs on scrapes, concurrently
// with it and with other scrapes.
type seriesCollector struct {
	callsDesc, durationDesc, ttftDesc *prometheus.Desc
	durationOpts, ttftOpts            prometheus.HistogramOpts

	// pairs interns label pairs by name and value; the pipeline goroutine only.
	pairs map[[2]string]*dto.LabelPair

	// mu guards the two slices' membership (not the values: those are atomic). The pipeline
	// goroutine takes it to insert, only for a new series or a new (outcome, class), which
	// moves the slice's tail (at most 45,056 pointers at the caps: microseconds); a scrape takes
	// it to copy the slices.
	mu sync.RWMutex
	// calls are the counters sorted as the registry sorts them: by label values in the order
	// of the labels' names (error_class, model, outcome, provider).
	calls []*callCounter
	// series are the series sorted by model, then provider (the histograms' label order).
	series []*seriesMetrics

	// direct is set once the families are served by families (a Pipeline's Gatherer) rather
	// than through the registry: Collect then sends nothing, so that the registry neither
	// repeats them nor spends its per-metric work on them.
	direct atomic.Bool
}

func newSeriesCollector() *seriesCollector {
	histOpts := func(name, help string, buckets []float64) prometheus.HistogramOpts {
		return prometheus.HistogramOpts{
			Name: name, Help: help, Buckets: buckets,
			NativeHistogramBucketFactor:     1.1,
			NativeHistogramMaxBucketNumber:  160,
			NativeHistogramMinResetDuration: time.Hour,
		}
	}
	return &seriesCollector{
		callsDesc:    prometheus.NewDesc("outagewatch_calls_total", callsHelp, []string{"provider", "model", "outcome", "error_class"}, nil),
		durationDesc: prometheus.NewDesc("outagewatch_call_duration_seconds", durationHelp, []string{"provider", "model"}, nil),
		ttftDesc:     prometheus.NewDesc("outagewatch_ttft_seconds", ttftHelp, []string{"provider", "model"}, nil),
		durationOpts: histOpts("outagewatch_call_duration_seconds", durationHelp, durationBuckets),
		ttftOpts:     histOpts("outagewatch_ttft_seconds", ttftHelp, ttftBuckets),
		pairs:        map[[2]string]*dto.LabelPair{},
	}
}

// Describe sends the three families' descriptors.
func (c *seriesCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.callsDesc
	ch <- c.durationDesc
	ch <- c.ttftDesc
}

// Collect sends every counter, then every duration and every time-to-first-token histogram,
// each family in the registry's order.
func (c *seriesCollector) Collect(ch chan<- prometheus.Metric) {
	if c.direct.Load() {
		return
	}
	c.mu.RLock()
	calls, series := slices.Clone(c.calls), slices.Clone(c.series)
	c.mu.RUnlock()
	for _, m := range calls {
		ch <- m
	}
	for _, s := range series {
		ch <- labelledHistogram{s.duration, c.durationDesc, s.labels}
	}
	for _, s := range series {
		ch <- labelledHistogram{s.ttft, c.ttftDesc, s.labels}
	}
}

// pair returns the interned label pair name=value.
func (c *seriesCollector) pair(name, value string) *dto.LabelPair {
	k := [2]string{name, value}
	p := c.pairs[k]
	if p == nil {
		p = &dto.LabelPair{Name: &name, Value: &value}
		c.pairs[k] = p
	}
	return p
}

// newSeries makes and inserts the metrics of a (provider, model) series, with its counters of
// every outcome (class "") and of every error class pre-created, so that rates and dashboards
// have no gaps; the series are bounded by the caps on providers and models.
func (c *seriesCollector) newSeries(provider, model string) *seriesMetrics {
	s := &seriesMetrics{
		provider: provider, model: model,
		// Label pairs sorted by name, as the registry wants them.
		labels:  []*dto.LabelPair{c.pair("model", model), c.pair("provider", provider)},
		calls:   make(map[[2]uint8]*callCounter),
		created: timestamppb.Now(),
	}
	s.duration = newSeriesHistogram(c.durationOpts, s.labels)
	s.ttft = newSeriesHistogram(c.ttftOpts, s.labels)
	var fresh []*callCounter
	for _, o := range detectors.Outcomes() {
		fresh = append(fresh, c.newCounter(s, o, detectors.ClassNone))
	}
	for _, cl := range detectors.ErrorClasses() {
		fresh = append(fresh, c.newCounter(s, detectors.OutcomeError, cl))
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, m := range fresh {
		c.insertCounterLocked(m)
	}
	i, _ := slices.BinarySearchFunc(c.series, s, compareSeries)
	c.series = slices.Insert(c.series, i, s)
	return s
}

// counter returns the series' counter of an outcome and class, making it on first use.
func (c *seriesCollector) counter(s *seriesMetrics, o detectors.Outcome, cl detectors.ErrorClass) *callCounter {
	if m := s.calls[[2]uint8{uint8(o), uint8(cl)}]; m != nil {
		return m
	}
	m := c.newCounter(s, o, cl)
	c.mu.Lock()
	c.insertCounterLocked(m)
	c.mu.Unlock()
	return m
}

func (c *seriesCollector) newCounter(s *seriesMetrics, o detectors.Outcome, cl detectors.ErrorClass) *callCounter {
	m := &callCounter{
		desc: c.callsDesc, series: s, outcome: o.String(), class: cl.String(),
		labels: []*dto.LabelPair{c.pair("error_class", cl.String()), s.labels[0], c.pair("outcome", o.String()), s.labels[1]},
	}
	s.calls[[2]uint8{uint8(o), uint8(cl)}] = m
	return m
}

// insertCounterLocked inserts m in its place in c.calls. c.mu is held.
func (c *seriesCollector) insertCounterLocked(m *callCounter) {
	i, _ := slices.BinarySearchFunc(c.calls, m, compareCounters)
	c.calls = slices.Insert(c.calls, i, m)
}

// compareCounters orders counters as the registry does: by error_class, model, outcome,
// provider.
func compareCounters(a, b *callCounter) int {
	return cmp.Or(cmp.Compare(a.class, b.class), cmp.Compare(a.series.model, b.series.model),
		cmp.Compare(a.outcome, b.outcome), cmp.Compare(a.series.provider, b.series.provider))
}

// compareSeries orders series by model, then provider.
func compareSeries(a, b *seriesMetrics) int {
	return cmp.Or(cmp.Compare(a.model, b.model), cmp.Compare(a.provider, b.provider))
}

// seriesMetrics holds the metrics of one (provider, model) series, so that counting a call
// costs one map lookup rather than a label hash per metric.
type seriesMetrics struct {
	provider, model string
	labels          []*dto.LabelPair          // model, provider
	calls           map[[2]uint8]*callCounter // by outcome and error class; the pipeline goroutine only
	created         *timestamppb.Timestamp    // the counters'; shared, never changed
	duration        *seriesHistogram
	ttft            *seriesHistogram
}

// callCounter is one outagewatch_calls_total counter. The pipeline goroutine is its only
// writer, so adding needs no compare-and-swap; scrapes read it atomically.
type callCounter struct {
	desc           *prometheus.Desc
	series         *seriesMetrics
	outcome, class string
	labels         []*dto.LabelPair // error_class, model, outcome, provider; shared, never changed
	bits           atomic.Uint64    // the float64 value
	last           atomic.Pointer[counterOut]
}

// add adds v. Only the pipeline goroutine calls it.
func (m *callCounter) add(v float64) {
	m.bits.Store(math.Float64bits(math.Float64frombits(m.bits.Load()) + v))
}

// Desc returns outagewatch_calls_total's descriptor.
func (m *callCounter) Desc() *prometheus.Desc { return m.desc }

// counterOut is a counter's output in one allocation: the registry's (Counter) and the
// gatherer's (m, labelled).
type counterOut struct {
	dto.Counter
	m     dto.Metric
	value float64
	text  keptText // m's lines in the text formats (exposition.go)
}

// Write fills out with the counter's value, labels and created timestamp.
func (m *callCounter) Write(out *dto.Metric) error {
	c := m.output()
	out.Label, out.Counter = m.labels, &c.Counter
	return nil
}

// output returns the counter's output. Most counters (an error class's, say) do not move
// between scrapes: the last output is kept, never changed once made, and given again while the
// value is the same.
func (m *callCounter) output() *counterOut {
	v := math.Float64frombits(m.bits.Load())
	c := m.last.Load()
	if c == nil || c.value != v {
		c = &counterOut{value: v}
		c.Value, c.CreatedTimestamp = &c.value, m.series.created
		c.m.Label, c.m.Counter = m.labels, &c.Counter
		m.last.Store(c)
	}
	return c
}

// seriesHistogram is a series' histogram, made without labels, with the number of its
// observations and its last output. Only the pipeline goroutine observes.
type seriesHistogram struct {
	h      prometheus.Histogram
	labels []*dto.LabelPair // the series'; shared, never changed
	// observed counts the observations, each after it was made: an output made after reading
	// observed holds at least that many.
	observed atomic.Uint64
	last     atomic.Pointer[histogramOut]
}

// histogramOut is an output of a histogram and the observations it holds at least. It is
// never changed once made: concurrent scrapes share it.
type histogramOut struct {
	observed uint64
	m        dto.Metric // labelled with the series
	text     keptText   // m's lines in the text formats (exposition.go)
}

func newSeriesHistogram(opts prometheus.HistogramOpts, labels []*dto.LabelPair) *seriesHistogram {
	return &seriesHistogram{h: prometheus.NewHistogram(opts), labels: labels}
}

// Observe adds one observation. Only the pipeline goroutine calls it.
func (s *seriesHistogram) Observe(v float64) {
	s.h.Observe(v)
	s.observed.Add(1)
}

// write fills out with the histogram: its last output while nothing was observed since, which
// spares the many histograms that did not move between two scrapes a Write that allocates for
// every bucket.
func (s *seriesHistogram) write(out *dto.Metric) error {
	o, err := s.output()
	if err != nil {
		return err
	}
	out.Histogram = o.m.Histogram
	return nil
}

// output returns the histogram labelled with its series: the last output while nothing was
// observed since.
func (s *seriesHistogram) output() (*histogramOut, error) {
	n := s.observed.Load()
	if last := s.last.Load(); last != nil && last.observed == n {
		return last, nil
	}
	out := &histogramOut{observed: n}
	if err := s.h.Write(&out.m); err != nil {
		return nil, err
	}
	out.m.Label = s.labels
	s.last.Store(out)
	return out, nil
}

// labelledHistogram is a series' histogram exported under its family's descriptor with the
// series' shared label pairs.
type labelledHistogram struct {
	h      *seriesHistogram
	desc   *prometheus.Desc
	labels []*dto.LabelPair
}

// Desc returns the family's descriptor.
func (h labelledHistogram) Desc() *prometheus.Desc { return h.desc }

// Write fills out with the histogram, labelled with the series.
func (h labelledHistogram) Write(out *dto.Metric) error {
	if err := h.h.write(out); err != nil {
		return err
	}
	out.Label = h.labels
	return nil
}

// families returns the per-series families as the registry outputs them: each in its order,
// families without a metric left out, with each metric's kept text. Every metric is a kept
// output, shared with other scrapes; only the slices are new.
func (c *seriesCollector) families() ([]keptFamily, error) {
	c.mu.RLock()
	calls, series := slices.Clone(c.calls), slices.Clone(c.series)
	c.mu.RUnlock()
	if len(calls) == 0 {
		return nil, nil
	}
	counters := newKeptFamily("outagewatch_calls_total", callsHelp, dto.MetricType_COUNTER, len(calls))
	for i, m := range calls {
		o := m.output()
		counters.Metric[i], counters.text[i] = &o.m, &o.text
	}
	duration := newKeptFamily("outagewatch_call_duration_seconds", durationHelp, dto.MetricType_HISTOGRAM, len(series))
	ttft := newKeptFamily("outagewatch_ttft_seconds", ttftHelp, dto.MetricType_HISTOGRAM, len(series))
	for i, s := range series {
		d, err := s.duration.output()
		if err != nil {
			return nil, err
		}
		t, err := s.ttft.output()
		if err != nil {
			return nil, err
		}
		duration.Metric[i], duration.text[i] = &d.m, &d.text
		ttft.Metric[i], ttft.text[i] = &t.m, &t.text
	}
	return []keptFamily{duration, counters, ttft}, nil
}
