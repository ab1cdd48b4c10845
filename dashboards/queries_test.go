package dashboards_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// The datasource uids that the dashboards use and provisioning/datasources.yaml defines.
const (
	promUID     = "prometheus"
	postgresUID = "outagewatch-postgres"
)

// dashboardUIDs are the dashboards and their uids (alerts link to outagewatch-overview).
var dashboardUIDs = map[string]string{
	"overview.json": "outagewatch-overview",
	"provider.json": "outagewatch-provider",
	"watcher.json":  "outagewatch-watcher",
}

// The parts of Grafana's dashboard JSON model that the tests read.
type (
	dashboardJSON struct {
		UID           string      `json:"uid"`
		Title         string      `json:"title"`
		SchemaVersion int         `json:"schemaVersion"`
		Tags          []string    `json:"tags"`
		Panels        []panelJSON `json:"panels"`
		Templating    struct {
			List []variableJSON `json:"list"`
		} `json:"templating"`
		Annotations struct {
			List []annotationJSON `json:"list"`
		} `json:"annotations"`
	}
	panelJSON struct {
		ID          int                      `json:"id"`
		Type        string                   `json:"type"`
		Title       string                   `json:"title"`
		Description string                   `json:"description"`
		Datasource  *datasourceRef           `json:"datasource"`
		GridPos     struct{ H, W, X, Y int } `json:"gridPos"`
		Targets     []targetJSON             `json:"targets"`
		Panels      []panelJSON              `json:"panels"` // a collapsed row's panels
	}
	targetJSON struct {
		RefID        string         `json:"refId"`
		Datasource   *datasourceRef `json:"datasource"`
		Expr         string         `json:"expr"`
		LegendFormat string         `json:"legendFormat"`
		RawSQL       string         `json:"rawSql"`
		Format       string         `json:"format"`
	}
	variableJSON struct {
		Name       string         `json:"name"`
		Type       string         `json:"type"`
		Datasource *datasourceRef `json:"datasource"`
		Definition string         `json:"definition"`
		Query      struct {
			Query string `json:"query"`
		} `json:"query"`
		Multi      bool   `json:"multi"`
		IncludeAll bool   `json:"includeAll"`
		AllValue   string `json:"allValue"`
	}
	annotationJSON struct {
		Name       string         `json:"name"`
		BuiltIn    int            `json:"builtIn"`
		Datasource *datasourceRef `json:"datasource"`
		Enable     bool           `json:"enable"`
		Target     *targetJSON    `json:"target"`
	}
	datasourceRef struct {
		Type string `json:"type"`
		UID  string `json:"uid"`
	}
)

// loadDashboards parses every dashboard of grafana/, by file name.
func loadDashboards(tb testing.TB) map[string]dashboardJSON {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join("grafana", "*.json"))
	require.NoError(tb, err)
	require.NotEmpty(tb, files)
	out := map[string]dashboardJSON{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		require.NoError(tb, err)
		var d dashboardJSON
		require.NoError(tb, json.Unmarshal(data, &d), f)
		out[filepath.Base(f)] = d
	}
	return out
}

// panels returns the dashboard's panels, those of collapsed rows included.
func (d dashboardJSON) panels() []panelJSON {
	var out []panelJSON
	for _, p := range d.Panels {
		out = append(out, p)
		out = append(out, p.Panels...)
	}
	return out
}

// The rules file in Prometheus' format, every field that rules.yml uses: loadRules decodes it
// strictly, and the Prometheus test writes a copy of it with short `for:` durations.
type (
	ruleFile struct {
		Groups []ruleGroup `yaml:"groups"`
	}
	ruleGroup struct {
		Name     string `yaml:"name"`
		Interval string `yaml:"interval,omitempty"`
		Rules    []rule `yaml:"rules"`
	}
	rule struct {
		Alert       string            `yaml:"alert,omitempty"`
		Record      string            `yaml:"record,omitempty"`
		Expr        string            `yaml:"expr"`
		For         string            `yaml:"for,omitempty"`
		Labels      map[string]string `yaml:"labels,omitempty"`
		Annotations map[string]string `yaml:"annotations,omitempty"`
	}
)

// loadRules parses rules.yml, strictly.
func loadRules(tb testing.TB) ruleFile {
	tb.Helper()
	data, err := os.ReadFile("rules.yml")
	require.NoError(tb, err)
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var rf ruleFile
	require.NoError(tb, dec.Decode(&rf))
	require.NotEmpty(tb, rf.Groups)
	return rf
}

// promQuery is one PromQL expression of a dashboard or of the rules.
type promQuery struct {
	where string // the file and the panel, variable or rule, for messages
	expr  string // as written, Grafana variables included
	// labels are the labels its presentation reads: a panel's legendFormat {{label}}, a rule's
	// $labels.label in its annotations.
	labels []string
	alert  string // the alert's name, for rules
}

var (
	legendLabel   = regexp.MustCompile(`\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}`)
	templateLabel = regexp.MustCompile(`\$labels\.([a-zA-Z_][a-zA-Z0-9_]*)`)
	labelValues   = regexp.MustCompile(`^label_values\((.+),\s*([a-zA-Z_][a-zA-Z0-9_]*)\)$`)
)

// dashboardQueries returns every PromQL expression of the dashboards: panel targets, and the
// label_values() queries of template variables as the PromQL `count by (label) (selector)` that
// answers them.
func dashboardQueries(tb testing.TB) []promQuery {
	tb.Helper()
	var out []promQuery
	for file, d := range loadDashboards(tb) {
		for _, p := range d.panels() {
			for _, t := range p.Targets {
				if t.Expr == "" {
					continue
				}
				out = append(out, promQuery{
					where:  fmt.Sprintf("%s: panel %q target %s", file, p.Title, t.RefID),
					expr:   t.Expr,
					labels: submatches(legendLabel, t.LegendFormat),
				})
			}
		}
		for _, v := range d.Templating.List {
			if v.Type != "query" {
				continue
			}
			m := labelValues.FindStringSubmatch(v.Definition)
			require.NotNil(tb, m, "%s: variable %s: want label_values(selector, label), got %q", file, v.Name, v.Definition)
			out = append(out, promQuery{
				where:  fmt.Sprintf("%s: variable %s", file, v.Name),
				expr:   fmt.Sprintf("count by (%s) (%s)", m[2], m[1]),
				labels: []string{m[2]},
			})
		}
	}
	slices.SortFunc(out, func(a, b promQuery) int { return strings.Compare(a.where, b.where) })
	return out
}

// ruleQueries returns the expression of every rule of rules.yml.
func ruleQueries(tb testing.TB) []promQuery {
	tb.Helper()
	var out []promQuery
	for _, g := range loadRules(tb).Groups {
		for _, r := range g.Rules {
			var labels []string
			for _, a := range r.Annotations {
				labels = append(labels, submatches(templateLabel, a)...)
			}
			out = append(out, promQuery{
				where: fmt.Sprintf("rules.yml: group %s rule %s%s", g.Name, r.Alert, r.Record),
				expr:  r.Expr, labels: labels, alert: r.Alert,
			})
		}
	}
	return out
}

// sqlQuery is one SQL query of a Postgres panel or annotation.
type sqlQuery struct {
	where      string
	sql        string // as written, with Grafana macros and variables
	annotation bool   // an annotation query: it must return time and text columns
}

// sqlQueries returns every SQL query of the dashboards.
func sqlQueries(tb testing.TB) []sqlQuery {
	tb.Helper()
	var out []sqlQuery
	for file, d := range loadDashboards(tb) {
		for _, p := range d.panels() {
			for _, t := range p.Targets {
				if t.RawSQL != "" {
					out = append(out, sqlQuery{where: fmt.Sprintf("%s: panel %q", file, p.Title), sql: t.RawSQL})
				}
			}
		}
		for _, a := range d.Annotations.List {
			if a.Target != nil && a.Target.RawSQL != "" {
				out = append(out, sqlQuery{where: fmt.Sprintf("%s: annotation %q", file, a.Name), sql: a.Target.RawSQL, annotation: true})
			}
		}
	}
	slices.SortFunc(out, func(a, b sqlQuery) int { return strings.Compare(a.where, b.where) })
	return out
}

// submatches returns the first group of every match of re in s.
func submatches(re *regexp.Regexp, s string) []string {
	var out []string
	for _, m := range re.FindAllStringSubmatch(s, -1) {
		out = append(out, m[1])
	}
	return out
}
