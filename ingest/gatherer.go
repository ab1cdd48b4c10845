package ingest

import (
	"cmp"
	"slices"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// Gatherer returns what /metrics serves (promhttp.HandlerForTransactional): reg's families,
// with the per-series families (outagewatch_calls_total, outagewatch_call_duration_seconds,
// outagewatch_ttft_seconds) built directly as the registry would output them, in the same
// order, with the same names, help, labels and values. reg must be the registry the pipeline
// was made with.
//
// Those families are most of a scrape at full size (issue 20, docs/operations.md "Scraping at
// full size"): through the registry, each of their metrics is written into a new
// dto.Metric, checked for consistency, hashed and sorted on every scrape. Here a metric's
// output is kept between scrapes and rebuilt only when its value moved, and the families are
// already in order, so a scrape costs them a slice of pointers.
//
// extra are other sources of ready-made families (the health board's state gauges,
// health.StateFamilies), merged by name the same way; a source's families must not be changed
// once returned, and reg must not gather their names too.
//
// From the first call on, the registry no longer collects those families itself (reg.Gather
// leaves them out; their names stay registered): serve /metrics through the Gatherer only.
func (p *Pipeline) Gatherer(reg prometheus.Gatherer, extra ...func() []*dto.MetricFamily) prometheus.TransactionalGatherer {
	p.metrics.series.direct.Store(true)
	return &gatherer{reg: reg, series: p.metrics.series, extra: extra}
}

type gatherer struct {
	reg    prometheus.Gatherer
	series *seriesCollector
	extra  []func() []*dto.MetricFamily
}

// Gather returns reg's families, the per-series families and extra's, merged by name as the
// registry sorts them. The families are shared with other scrapes and must not be changed:
// done does nothing.
func (g *gatherer) Gather() ([]*dto.MetricFamily, func(), error) {
	mfs, _, err := g.gather()
	return mfs, func() {}, err
}

// gather is Gather, with the kept text of each per-series family's metrics (keyed by family),
// which /metrics writes in the text formats instead of encoding the metrics again.
func (g *gatherer) gather() ([]*dto.MetricFamily, map[*dto.MetricFamily][]*keptText, error) {
	mfs, err := g.reg.Gather()
	series, serr := g.series.families()
	if serr != nil {
		// As the registry does, a collector's error is reported with what could be gathered.
		err = serr
	}
	texts := make(map[*dto.MetricFamily][]*keptText, len(series))
	direct := [][]*dto.MetricFamily{make([]*dto.MetricFamily, len(series))}
	for i, f := range series {
		direct[0][i] = f.MetricFamily
		texts[f.MetricFamily] = f.text
	}
	n := len(mfs) + len(series)
	for _, src := range g.extra {
		fs := src()
		direct = append(direct, fs)
		n += len(fs)
	}
	out := make([]*dto.MetricFamily, 0, n)
	out = append(out, mfs...)
	for _, fs := range direct {
		for _, f := range fs {
			i, _ := slices.BinarySearchFunc(out, f, func(a, b *dto.MetricFamily) int { return cmp.Compare(a.GetName(), b.GetName()) })
			out = slices.Insert(out, i, f)
		}
	}
	return out, texts, err
}
