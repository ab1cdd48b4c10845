package ingest

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// familiesGolden lists every family of the full-size registry with its type and label names,
// as they were before issue 20 cut the scrape's cost: metric names and labels are a public API
// (README, "Metrics"), and what made the scrape cheaper must not change them. -update rewrites it.
var familiesGolden = filepath.Join("testdata", "metric_families.golden")

// TestScrapeKeepsFamiliesAndLabels scrapes the full-size registry in the Prometheus text format
// and in OpenMetrics, and checks that each family of the golden list is there with its type and
// label names.
func TestScrapeKeepsFamiliesAndLabels(t *testing.T) {
	t.Parallel()
	reg := fullSizeRegistry(t)
	for _, accept := range []string{fullSizeAcceptHeader, "text/plain;version=0.0.4"} {
		body := scrapeFullSize(t, reg, accept)
		got := familyLabels(t, body)
		if *update && accept == fullSizeAcceptHeader {
			require.NoError(t, os.WriteFile(familiesGolden, []byte(got), 0o644))
		}
		want, err := os.ReadFile(familiesGolden)
		require.NoError(t, err)
		// Families added since are no concern of this test; every one listed must be there, alike.
		for _, fam := range strings.Split(strings.TrimSpace(string(want)), "\n") {
			require.Contains(t, strings.Split(got, "\n"), fam, "families and labels scraped with Accept: %s", accept)
		}
	}
}

// familyLabels returns one line per family, "name type label,label,...", sorted, from a body in
// the Prometheus text format or OpenMetrics, leaving out the Go and process collectors' families
// (they change with Go's version). A counter is named as OpenMetrics names it (without _total)
// whatever the format, so that both give the same list.
func familyLabels(tb testing.TB, body []byte) string {
	tb.Helper()
	types := map[string]string{}
	labels := map[string]map[string]bool{}
	for _, line := range strings.Split(string(body), "\n") {
		if f := strings.Fields(line); len(f) == 4 && f[0] == "#" && f[1] == "TYPE" {
			name := f[2]
			if f[3] == "counter" {
				name = strings.TrimSuffix(name, "_total")
			}
			types[name], labels[name] = f[3], map[string]bool{}
		}
	}
	for _, line := range strings.Split(string(body), "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		name, rest, _ := strings.Cut(line, "{")
		if !strings.Contains(line, "{") {
			name, rest = strings.Fields(line)[0], ""
		}
		fam := familyOf(types, name)
		require.NotEmpty(tb, fam, "sample %q of no family", line)
		rest, _, _ = strings.Cut(rest, "}")
		for _, m := range labelName.FindAllStringSubmatch(rest, -1) {
			labels[fam][m[1]] = true
		}
	}
	var lines []string
	for name, typ := range types {
		if strings.HasPrefix(name, "go_") || strings.HasPrefix(name, "process_") || strings.HasPrefix(name, "promhttp_") {
			continue
		}
		names := slices.Sorted(maps.Keys(labels[name]))
		lines = append(lines, fmt.Sprintf("%s %s %s", name, typ, strings.Join(names, ",")))
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n") + "\n"
}

// labelName matches a label's name in a sample's braces (the fixture's values hold no quotes).
var labelName = regexp.MustCompile(`(?:^|,)([a-zA-Z_][a-zA-Z0-9_]*)="`)

// familyOf returns the family of a sample name: the name itself, or the name without the
// suffix its family's type gives it.
func familyOf(types map[string]string, name string) string {
	if _, ok := types[name]; ok {
		return name
	}
	for _, suffix := range []string{"_total", "_bucket", "_sum", "_count", "_created", "_info"} {
		if fam, ok := strings.CutSuffix(name, suffix); ok {
			if _, ok := types[fam]; ok {
				return fam
			}
		}
	}
	return ""
}

// A counter or histogram gives its last output again only while it has not moved: the second
// scrape shows the calls counted since the first. Scrapes run while calls are counted (-race).
func TestScrapeShowsCallsCountedSince(t *testing.T) {
	t.Parallel()
	reg, m := fullSizeRegistryMetrics(t)
	value := func(name string, want map[string]string) (float64, uint64) {
		t.Helper()
		mfs, err := reg.Gather()
		require.NoError(t, err)
		for _, mf := range mfs {
			if mf.GetName() != name {
				continue
			}
		metrics:
			for _, mt := range mf.GetMetric() {
				for _, lp := range mt.GetLabel() {
					if v, ok := want[lp.GetName()]; ok && v != lp.GetValue() {
						continue metrics
					}
				}
				return mt.GetCounter().GetValue(), mt.GetHistogram().GetSampleCount()
			}
		}
		t.Fatalf("no %s %v", name, want)
		return 0, 0
	}
	series := map[string]string{"provider": "provider-03", "model": "model-03-07-2026-01-01"}
	ok := map[string]string{"provider": "provider-03", "model": "model-03-07-2026-01-01", "outcome": "ok", "error_class": ""}
	calls, _ := value("outagewatch_calls_total", ok)
	_, durations := value("outagewatch_call_duration_seconds", series)
	require.Equal(t, 1.0, calls)
	require.Equal(t, uint64(1), durations)

	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 50 {
			countEverySeries(m)
		}
	}()
	for range 5 {
		_, err := reg.Gather()
		require.NoError(t, err)
	}
	<-done
	calls, _ = value("outagewatch_calls_total", ok)
	_, durations = value("outagewatch_call_duration_seconds", series)
	require.Equal(t, 51.0, calls)
	require.Equal(t, uint64(51), durations)
}
