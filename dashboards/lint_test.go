package dashboards_test

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"
)

// targetLabels are attached by Prometheus to every series it scrapes.
var targetLabels = []string{"job", "instance"}

// exposition is what the daemon exports: every metric family's type, label names and values.
type exposition map[string]family

// family is one metric family of the exposition.
type family struct {
	typ    dto.MetricType
	labels map[string]map[string]bool // label name → the values exported; nil: any value
}

// newExposition indexes the families of a scrape.
func newExposition(families map[string]*dto.MetricFamily) exposition {
	e := exposition{}
	for name, mf := range families {
		f := family{typ: mf.GetType(), labels: map[string]map[string]bool{}}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if f.labels[l.GetName()] == nil {
					f.labels[l.GetName()] = map[string]bool{}
				}
				f.labels[l.GetName()][l.GetValue()] = true
			}
		}
		switch f.typ {
		case dto.MetricType_HISTOGRAM, dto.MetricType_GAUGE_HISTOGRAM:
			f.labels["le"] = nil // any value
		case dto.MetricType_SUMMARY:
			f.labels["quantile"] = nil
		}
		e[name] = f
	}
	return e
}

// lookup returns the family of a series name: a histogram's or summary's _bucket, _sum and
// _count series belong to the base name's family.
func (e exposition) lookup(name string) (family, bool) {
	if f, ok := e[name]; ok {
		return f, true
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		base, ok := strings.CutSuffix(name, suffix)
		if !ok {
			continue
		}
		f, ok := e[base]
		switch {
		case !ok:
		case f.typ == dto.MetricType_HISTOGRAM || f.typ == dto.MetricType_GAUGE_HISTOGRAM:
			return f, true
		case f.typ == dto.MetricType_SUMMARY && suffix != "_bucket":
			return f, true
		}
	}
	return family{}, false
}

var (
	// ourMetric matches the names of the daemon's series, its Go and process collectors' included.
	ourMetric = regexp.MustCompile(`\b(?:outagewatch|process|go)_[a-zA-Z0-9_]+\b`)
	// selector matches a series selector: an optional metric name and its {matchers}.
	selector = regexp.MustCompile(`([a-zA-Z_:][a-zA-Z0-9_:]*)?\s*\{([^{}]*)\}`)
	matcher  = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"`)
	grouping = regexp.MustCompile(`\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^()]*)\)`)
	rateOf   = regexp.MustCompile(`\b(?:rate|irate|increase)\s*\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)`)
)

// lint returns what is wrong with q against the exposition: metrics it names that the daemon
// does not export, labels those metrics do not have (in selectors, by/without/on/ignoring/
// group_x lists, legends and annotations), exact label values never exported, and rates of
// series that are not counters.
func (e exposition) lint(q promQuery) []string {
	var problems []string
	union := map[string]bool{}
	for _, l := range targetLabels {
		union[l] = true
	}
	for _, name := range ourMetric.FindAllString(q.expr, -1) {
		f, ok := e.lookup(name)
		if !ok {
			problems = append(problems, fmt.Sprintf("metric %s is not exported by the daemon", name))
			continue
		}
		for l := range f.labels {
			union[l] = true
		}
	}
	for _, m := range selector.FindAllStringSubmatch(q.expr, -1) {
		problems = append(problems, e.lintSelector(m[1], m[2], union)...)
	}
	var used []string
	for _, m := range grouping.FindAllStringSubmatch(q.expr, -1) {
		for _, l := range strings.Split(m[1], ",") {
			if l = strings.TrimSpace(l); l != "" {
				used = append(used, l)
			}
		}
	}
	for _, l := range append(used, q.labels...) {
		if !union[l] {
			problems = append(problems, fmt.Sprintf("label %s is on none of the expression's metrics", l))
		}
	}
	for _, m := range rateOf.FindAllStringSubmatch(q.expr, -1) {
		if _, ok := e.lookup(m[1]); ok && !e.countsUp(m[1]) {
			problems = append(problems, fmt.Sprintf("rate or increase of %s, which is not a counter", m[1]))
		}
	}
	return problems
}

// countsUp reports whether the series of name only go up: a counter, or a histogram's or
// summary's _bucket, _sum or _count series.
func (e exposition) countsUp(name string) bool {
	if f, ok := e[name]; ok {
		return f.typ == dto.MetricType_COUNTER
	}
	_, ok := e.lookup(name) // a _bucket, _sum or _count series
	return ok
}

// lintSelector checks the matchers of one selector: each label must be on its metric (or, for a
// selector without a name, on one of the expression's metrics), and an exact value must have
// been exported.
func (e exposition) lintSelector(name, matchers string, union map[string]bool) []string {
	var problems []string
	f, ours := e.lookup(name)
	for _, m := range matcher.FindAllStringSubmatch(matchers, -1) {
		label, op, value := m[1], m[2], m[3]
		switch {
		case slices.Contains(targetLabels, label):
		case name == "" && !union[label], name != "" && ours && !hasLabel(f, label):
			problems = append(problems, fmt.Sprintf("label %s is not a label of %s", label, orElse(name, "the expression's metrics")))
		case name != "" && !ours && ourMetric.MatchString(name):
			// Reported as an unexported metric already.
		case name != "" && !ours:
			problems = append(problems, fmt.Sprintf("selector %s{%s}: only %v can be checked on a metric that is not the daemon's", name, label, targetLabels))
		case op == "=" && !strings.Contains(value, "$") && f.labels[label] != nil && !f.labels[label][value]:
			problems = append(problems, fmt.Sprintf("%s{%s=%q}: the daemon never exports that value", name, label, value))
		}
	}
	return problems
}

// hasLabel reports whether the family has the label.
func hasLabel(f family, label string) bool {
	_, ok := f.labels[label]
	return ok
}

// orElse returns s, or fallback when s is empty.
func orElse(s, fallback string) string {
	if s == "" {
		return fallback
	}
	return s
}

// exportedMetrics runs the daemon, sends it traffic with an outage until an incident is open
// (outagewatch_incidents_open exists only then), and returns its exposition.
func exportedMetrics(t *testing.T) exposition {
	t.Helper()
	d := startDaemon(t)
	tr := startTraffic(t, d, 50)
	// The detectors' warm-up: an outage of a cold (unknown) series opens no incident.
	eventually(t, 30*time.Second, func() bool {
		ok, err := d.healthy(sonnet)
		return err == nil && ok
	}, "%s never became healthy:\n%s", sonnet.model, d.logs)
	tr.set(sonnet, outage)
	var families map[string]*dto.MetricFamily
	eventually(t, 30*time.Second, func() bool {
		var err error
		families, err = d.metrics()
		return err == nil && families["outagewatch_incidents_open"] != nil
	}, "no incident opened:\n%s", d.logs)
	return newExposition(families)
}

// TestDashboardsNameExportedMetrics fails when a dashboard panel, template variable or rule
// names a metric or a label that the running daemon does not export.
func TestDashboardsNameExportedMetrics(t *testing.T) {
	t.Parallel()
	exp := exportedMetrics(t)
	queries := append(dashboardQueries(t), ruleQueries(t)...)
	for _, q := range queries {
		for _, p := range exp.lint(q) {
			t.Errorf("%s: %s\n%s", q.where, p, q.expr)
		}
	}
}

// TestLintFindsMistakes checks the linter itself on an exposition of known families.
func TestLintFindsMistakes(t *testing.T) {
	t.Parallel()
	counter, gauge, histogram := dto.MetricType_COUNTER, dto.MetricType_GAUGE, dto.MetricType_HISTOGRAM
	exp := exposition{
		"outagewatch_calls_total": {typ: counter, labels: map[string]map[string]bool{
			"provider": {"anthropic": true}, "outcome": {"ok": true, "error": true}}},
		"outagewatch_store_up": {typ: gauge, labels: map[string]map[string]bool{}},
		"outagewatch_call_duration_seconds": {typ: histogram, labels: map[string]map[string]bool{
			"provider": {"anthropic": true}, "le": nil}},
	}
	tests := []struct {
		name, expr string
		labels     []string
		want       string // a part of the one problem expected; "" for none
	}{
		{"good", `sum by (provider) (rate(outagewatch_calls_total{outcome="error"}[5m]))`, []string{"provider"}, ""},
		{"histogram", `histogram_quantile(0.9, sum by (le) (rate(outagewatch_call_duration_seconds_bucket[5m])))`, nil, ""},
		{"variable value", `outagewatch_calls_total{provider="$provider", instance=~"$instance"}`, nil, ""},
		{"unknown metric", `rate(outagewatch_nope_total[5m])`, nil, "outagewatch_nope_total is not exported"},
		{"histogram suffix of a counter", `outagewatch_calls_total_bucket`, nil, "not exported"},
		{"unknown label in by", `sum by (region) (outagewatch_calls_total)`, nil, "label region"},
		{"unknown label in selector", `outagewatch_store_up{provider="x"}`, nil, "label provider is not a label of outagewatch_store_up"},
		{"unknown label in legend", `outagewatch_calls_total`, []string{"model"}, "label model"},
		{"value never exported", `outagewatch_calls_total{outcome="truncate"}`, nil, `outcome="truncate"`},
		{"rate of a gauge", `rate(outagewatch_store_up[5m])`, nil, "not a counter"},
		{"foreign metric", `up{job="outagewatch"} == 0`, nil, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			problems := exp.lint(promQuery{expr: tc.expr, labels: tc.labels})
			if tc.want == "" {
				require.Empty(t, problems)
				return
			}
			require.Len(t, problems, 1, "%v", problems)
			require.Contains(t, problems[0], tc.want)
		})
	}
}
