package dashboards_test

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// panelTypes are the Grafana panel types the dashboards use, all built in.
var panelTypes = []string{"row", "stat", "timeseries", "state-timeline", "table", "heatmap"}

// builtinVariables are Grafana's own variables and macros that the queries may use.
var builtinVariables = []string{"__rate_interval", "__interval", "__range", "__timeFilter", "__timeFrom", "__timeTo"}

// variableUse matches $name, ${name} and ${name:format}.
var variableUse = regexp.MustCompile(`\$\{?([a-zA-Z_][a-zA-Z0-9_]*)`)

// TestDashboardsAreWellFormed checks what Grafana would only show when the dashboards are
// loaded: uids, layout, datasources, queries and the variables they use.
func TestDashboardsAreWellFormed(t *testing.T) {
	t.Parallel()
	dashboards := loadDashboards(t)
	require.Len(t, dashboards, len(dashboardUIDs))
	datasourceTypes := provisionedDatasources(t)
	for file, uid := range dashboardUIDs {
		t.Run(file, func(t *testing.T) {
			d, ok := dashboards[file]
			require.True(t, ok, "missing grafana/%s", file)
			require.Equal(t, uid, d.UID)
			require.NotEmpty(t, d.Title)
			require.GreaterOrEqual(t, d.SchemaVersion, 39)
			require.Contains(t, d.Tags, "outagewatch", "the dashboards link to each other by this tag")
			requireLayout(t, d.panels())

			variables := slices.Clone(builtinVariables)
			for _, v := range d.Templating.List {
				variables = append(variables, v.Name)
				require.NotNil(t, v.Datasource, "variable %s", v.Name)
				require.Equal(t, promUID, v.Datasource.UID, "variable %s", v.Name)
				require.Equal(t, v.Definition, v.Query.Query, "variable %s: definition and query differ", v.Name)
			}
			for _, p := range d.panels() {
				if p.Type == "row" {
					continue
				}
				requirePanel(t, p, datasourceTypes)
				for _, s := range append([]string{p.Title}, queriesOf(p)...) {
					for _, name := range submatches(variableUse, s) {
						require.Contains(t, variables, name, "panel %q uses $%s, which is not a variable of %s", p.Title, name, file)
					}
				}
			}
			for _, a := range d.Annotations.List {
				if a.BuiltIn == 1 {
					continue
				}
				require.NotNil(t, a.Target, "annotation %q", a.Name)
				require.NotNil(t, a.Datasource, "annotation %q", a.Name)
				require.Equal(t, postgresUID, a.Datasource.UID, "annotation %q", a.Name)
				require.NotEmpty(t, a.Target.RawSQL, "annotation %q", a.Name)
				for _, name := range submatches(variableUse, a.Target.RawSQL) {
					require.Contains(t, variables, name, "annotation %q uses $%s", a.Name, name)
				}
			}
		})
	}
}

// TestProviderDashboardVariables checks the drill-down's template variables: one provider, as
// its Postgres queries quote a single value, and any of its models.
func TestProviderDashboardVariables(t *testing.T) {
	t.Parallel()
	vars := map[string]variableJSON{}
	for _, v := range loadDashboards(t)["provider.json"].Templating.List {
		vars[v.Name] = v
	}
	provider, model := vars["provider"], vars["model"]
	require.Equal(t, "label_values(outagewatch_calls_total, provider)", provider.Definition)
	require.False(t, provider.Multi || provider.IncludeAll, "the Postgres panels take one provider")
	require.Equal(t, `label_values(outagewatch_calls_total{provider="$provider"}, model)`, model.Definition)
	require.True(t, model.Multi && model.IncludeAll)
	require.Equal(t, ".+", model.AllValue, "All must match every model but not the provider's own series")
}

// TestREADMEExplainsEveryPanel keeps README.md in step with the dashboards: it names every panel.
func TestREADMEExplainsEveryPanel(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("README.md")
	require.NoError(t, err)
	for file, d := range loadDashboards(t) {
		for _, p := range d.panels() {
			if p.Type != "row" {
				require.Contains(t, string(readme), "**"+p.Title+"**", "README.md does not explain panel %q of %s", p.Title, file)
			}
		}
	}
}

// requireLayout checks that the panels fit the 24-column grid without overlapping, with unique IDs.
func requireLayout(t *testing.T, panels []panelJSON) {
	t.Helper()
	ids := map[int]bool{}
	cells := map[[2]int]string{}
	for _, p := range panels {
		require.False(t, ids[p.ID], "panel id %d twice", p.ID)
		ids[p.ID] = true
		g := p.GridPos
		require.True(t, g.W > 0 && g.H > 0 && g.X >= 0 && g.Y >= 0 && g.X+g.W <= 24, "panel %q: gridPos %+v", p.Title, g)
		for x := g.X; x < g.X+g.W; x++ {
			for y := g.Y; y < g.Y+g.H; y++ {
				other, taken := cells[[2]int{x, y}]
				require.False(t, taken, "panels %q and %q overlap", p.Title, other)
				cells[[2]int{x, y}] = p.Title
			}
		}
	}
}

// requirePanel checks a panel's type, its description (the README's text in short) and its
// datasource and targets.
func requirePanel(t *testing.T, p panelJSON, datasourceTypes map[string]string) {
	t.Helper()
	require.Contains(t, panelTypes, p.Type, "panel %q", p.Title)
	require.NotEmpty(t, p.Title)
	require.NotEmpty(t, p.Description, "panel %q: say what it shows", p.Title)
	require.NotNil(t, p.Datasource, "panel %q", p.Title)
	require.Equal(t, datasourceTypes[p.Datasource.UID], p.Datasource.Type, "panel %q: datasource %s", p.Title, p.Datasource.UID)
	require.NotEmpty(t, p.Targets, "panel %q", p.Title)
	refs := map[string]bool{}
	for _, tg := range p.Targets {
		require.False(t, refs[tg.RefID], "panel %q: refId %s twice", p.Title, tg.RefID)
		refs[tg.RefID] = true
		require.NotNil(t, tg.Datasource, "panel %q target %s", p.Title, tg.RefID)
		require.Equal(t, *p.Datasource, *tg.Datasource, "panel %q target %s", p.Title, tg.RefID)
		switch p.Datasource.UID {
		case promUID:
			require.NotEmpty(t, tg.Expr, "panel %q target %s", p.Title, tg.RefID)
		case postgresUID:
			require.NotEmpty(t, tg.RawSQL, "panel %q target %s", p.Title, tg.RefID)
			require.Equal(t, "table", tg.Format, "panel %q target %s", p.Title, tg.RefID)
		}
	}
}

// queriesOf returns the PromQL and SQL of a panel's targets.
func queriesOf(p panelJSON) []string {
	var out []string
	for _, t := range p.Targets {
		out = append(out, t.Expr, t.RawSQL, t.LegendFormat)
	}
	return out
}

// provisionedDatasources parses provisioning/datasources.yaml and returns the type of each
// datasource uid, after checking that both datasources of the dashboards are there.
func provisionedDatasources(t *testing.T) map[string]string {
	t.Helper()
	var file struct {
		APIVersion  int `yaml:"apiVersion"`
		Datasources []struct {
			Name string `yaml:"name"`
			UID  string `yaml:"uid"`
			Type string `yaml:"type"`
			URL  string `yaml:"url"`
		} `yaml:"datasources"`
	}
	readYAML(t, filepath.Join("provisioning", "datasources.yaml"), &file)
	require.Equal(t, 1, file.APIVersion)
	types := map[string]string{}
	for _, ds := range file.Datasources {
		require.NotEmpty(t, ds.Name)
		require.NotEmpty(t, ds.URL, "datasource %s", ds.UID)
		types[ds.UID] = ds.Type
	}
	require.Equal(t, map[string]string{promUID: "prometheus", postgresUID: "grafana-postgresql-datasource"}, types)
	return types
}

// TestDashboardProvider checks provisioning/dashboards.yaml: a file provider.
func TestDashboardProvider(t *testing.T) {
	t.Parallel()
	var file struct {
		APIVersion int `yaml:"apiVersion"`
		Providers  []struct {
			Name    string `yaml:"name"`
			Type    string `yaml:"type"`
			Folder  string `yaml:"folder"`
			Options struct {
				Path string `yaml:"path"`
			} `yaml:"options"`
		} `yaml:"providers"`
	}
	readYAML(t, filepath.Join("provisioning", "dashboards.yaml"), &file)
	require.Equal(t, 1, file.APIVersion)
	require.Len(t, file.Providers, 1)
	p := file.Providers[0]
	require.Equal(t, "file", p.Type)
	require.NotEmpty(t, p.Name)
	require.True(t, strings.HasPrefix(p.Options.Path, "/"), "an absolute path in Grafana's file system: %q", p.Options.Path)
}

// readYAML decodes a YAML file into v; the fields v does not name are not checked.
func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, yaml.Unmarshal(data, v), path)
}
