package charts

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/yaml"
)

// serviceMonitor is the part of the Prometheus Operator's ServiceMonitor (monitoring.coreos.com/v1)
// that the chart renders; decoded strictly, a field the chart renders beyond it fails the test.
type serviceMonitor struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		NamespaceSelector struct {
			MatchNames []string `json:"matchNames"`
		} `json:"namespaceSelector"`
		Selector  metav1.LabelSelector `json:"selector"`
		Endpoints []struct {
			Port          string `json:"port"`
			Path          string `json:"path"`
			Interval      string `json:"interval"`
			ScrapeTimeout string `json:"scrapeTimeout"`
			Relabelings   []struct {
				Action      string `json:"action"`
				TargetLabel string `json:"targetLabel"`
				Replacement string `json:"replacement"`
			} `json:"relabelings"`
		} `json:"endpoints"`
	} `json:"spec"`
}

// prometheusRule is the Prometheus Operator's PrometheusRule (monitoring.coreos.com/v1).
type prometheusRule struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              ruleFile `json:"spec"`
}

// ruleFile is a Prometheus rule file: dashboards/rules.yml, and a PrometheusRule's spec.
type ruleFile struct {
	Groups []struct {
		Name     string `json:"name"`
		Interval string `json:"interval,omitempty"`
		Rules    []struct {
			Alert       string            `json:"alert,omitempty"`
			Record      string            `json:"record,omitempty"`
			Expr        string            `json:"expr"`
			For         string            `json:"for,omitempty"`
			Labels      map[string]string `json:"labels,omitempty"`
			Annotations map[string]string `json:"annotations,omitempty"`
		} `json:"rules"`
	} `json:"groups"`
}

// TestChartFilesMatchDashboards fails when a copy in charts/outagewatch/files differs from its
// source in dashboards/ (Helm reads no file outside the chart): copy them again with
//
//	cp dashboards/rules.yml charts/outagewatch/files/
//	cp dashboards/grafana/*.json charts/outagewatch/files/dashboards/
func TestChartFilesMatchDashboards(t *testing.T) {
	pairs := map[string]string{
		filepath.Join(moduleRoot, "dashboards", "rules.yml"): filepath.Join(chartDir, "files", "rules.yml"),
	}
	sources, err := filepath.Glob(filepath.Join(moduleRoot, "dashboards", "grafana", "*.json"))
	if err != nil || len(sources) == 0 {
		t.Fatalf("no dashboards in dashboards/grafana (%v)", err)
	}
	for _, src := range sources {
		pairs[src] = filepath.Join(chartDir, "files", "dashboards", filepath.Base(src))
	}
	copies, err := filepath.Glob(filepath.Join(chartDir, "files", "dashboards", "*"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range copies {
		if !slices.ContainsFunc(sources, func(s string) bool { return filepath.Base(s) == filepath.Base(c) }) {
			t.Errorf("%s has no source in dashboards/grafana: remove it", c)
		}
	}
	for src, dst := range pairs {
		want, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(dst)
		if err != nil {
			t.Errorf("%s: %v (copy it from %s)", dst, err, src)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from %s: copy it again", dst, src)
		}
	}
}

// checkMonitoring checks the ServiceMonitor, the PrometheusRule and the dashboards' ConfigMaps
// of ci/monitoring-values.yaml.
func checkMonitoring(t *testing.T, m *manifests) {
	sm := only(t, "ServiceMonitors", m.monitors)
	if sm.Labels["release"] != "prometheus" {
		t.Errorf("ServiceMonitor labels %v: want release=prometheus from the values", sm.Labels)
	}
	if got := sm.Spec.NamespaceSelector.MatchNames; !slices.Equal(got, []string{"watch"}) {
		t.Errorf("ServiceMonitor namespaces %v, want [watch]", got)
	}
	if len(sm.Spec.Endpoints) != 1 {
		t.Fatalf("ServiceMonitor has %d endpoints, want 1", len(sm.Spec.Endpoints))
	}
	ep := sm.Spec.Endpoints[0]
	if ep.Port != "api" || ep.Path != "/metrics" {
		t.Errorf("ServiceMonitor scrapes port %q path %q, want api /metrics", ep.Port, ep.Path)
	}
	if len(ep.Relabelings) != 1 || ep.Relabelings[0].TargetLabel != "job" || ep.Relabelings[0].Replacement != "outagewatch" {
		t.Errorf("ServiceMonitor relabelings %+v: the rules want job=outagewatch", ep.Relabelings)
	}
	// The selector picks the main Service (with the api port) and not the headless one.
	sel, err := metav1.LabelSelectorAsSelector(&sm.Spec.Selector)
	if err != nil {
		t.Fatal(err)
	}
	var picked []string
	for name, svc := range m.services {
		if sel.Matches(labels.Set(svc.Labels)) {
			picked = append(picked, name)
		}
	}
	if !slices.Equal(picked, []string{"ow-outagewatch"}) {
		t.Errorf("the ServiceMonitor selects the Services %v, want [ow-outagewatch]", picked)
	}

	// The PrometheusRule's groups are dashboards/rules.yml's, field for field.
	pr := only(t, "PrometheusRules", m.rules)
	src, err := os.ReadFile(filepath.Join(moduleRoot, "dashboards", "rules.yml"))
	if err != nil {
		t.Fatal(err)
	}
	js, err := yaml.YAMLToJSON(src)
	if err != nil {
		t.Fatal(err)
	}
	var want ruleFile
	if err := strictJSON(js, &want); err != nil {
		t.Fatalf("dashboards/rules.yml: %v", err)
	}
	if len(want.Groups) == 0 {
		t.Fatal("dashboards/rules.yml has no groups")
	}
	if !reflect.DeepEqual(pr.Spec, want) {
		t.Errorf("the PrometheusRule's groups differ from dashboards/rules.yml's")
	}

	// One ConfigMap per dashboard, labelled for the sidecar, holding the dashboard as it is.
	sources, _ := filepath.Glob(filepath.Join(moduleRoot, "dashboards", "grafana", "*.json"))
	found := 0
	for name, cm := range m.configMaps {
		if name == "ow-outagewatch" {
			continue
		}
		found++
		if cm.Labels["grafana_dashboard"] != "1" {
			t.Errorf("ConfigMap %s: labels %v, want grafana_dashboard=1", name, cm.Labels)
		}
		if cm.Annotations["grafana_folder"] != "outagewatch" {
			t.Errorf("ConfigMap %s: annotations %v, want grafana_folder from the values", name, cm.Annotations)
		}
		if len(cm.Data) != 1 {
			t.Errorf("ConfigMap %s: %d keys, want one dashboard", name, len(cm.Data))
		}
		for key, text := range cm.Data {
			var dash struct {
				UID string `json:"uid"`
			}
			if err := json.Unmarshal([]byte(text), &dash); err != nil || dash.UID == "" {
				t.Errorf("ConfigMap %s key %s: not a dashboard with a uid (%v)", name, key, err)
			}
			src := filepath.Join(moduleRoot, "dashboards", "grafana", key[len("outagewatch-"):])
			b, err := os.ReadFile(src)
			if err != nil {
				t.Errorf("ConfigMap %s key %s: %v", name, key, err)
			} else if string(b) != text && string(b) != text+"\n" {
				t.Errorf("ConfigMap %s key %s differs from %s", name, key, src)
			}
		}
	}
	if found != len(sources) {
		t.Errorf("%d dashboard ConfigMaps, want %d (dashboards/grafana/*.json)", found, len(sources))
	}
}
