package charts

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// Paths, relative to this package's directory (where go test runs).
const (
	chartDir   = "outagewatch"
	moduleRoot = ".."
)

// tools are the binaries the tests run, built once.
var tools struct {
	once    sync.Once
	helm    string // the module's helm tool (go tool -n helm names the built binary)
	watcher string // ./cmd/watcher, to check the rendered configuration
	err     error
	dir     string
}

// buildTools builds helm and the watcher once for the whole package.
func buildTools(t *testing.T) (helm, watcher string) {
	t.Helper()
	tools.once.Do(func() {
		out, err := goCmd("tool", "-n", "helm")
		if err != nil {
			tools.err = fmt.Errorf("go tool -n helm: %w\n%s", err, out)
			return
		}
		tools.helm = strings.TrimSpace(string(out))
		tools.dir, err = os.MkdirTemp("", "outagewatch-charts-")
		if err != nil {
			tools.err = err
			return
		}
		tools.watcher = filepath.Join(tools.dir, "watcher")
		if out, err := goCmd("build", "-o", tools.watcher, "./cmd/watcher"); err != nil {
			tools.err = fmt.Errorf("go build ./cmd/watcher: %w\n%s", err, out)
		}
	})
	if tools.err != nil {
		t.Fatal(tools.err)
	}
	return tools.helm, tools.watcher
}

// TestMain removes the binaries built by buildTools.
func TestMain(m *testing.M) {
	code := m.Run()
	if tools.dir != "" {
		_ = os.RemoveAll(tools.dir)
	}
	os.Exit(code)
}

// goCmd runs the go command in the module's root.
func goCmd(args ...string) ([]byte, error) {
	cmd := exec.Command("go", args...)
	cmd.Dir = moduleRoot
	return cmd.CombinedOutput()
}

// runHelm runs helm with its home, configuration, cache and data directories in a temporary
// directory, so that it reads and writes nothing of the user's. It returns stdout and stderr.
func runHelm(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	helm, _ := buildTools(t)
	home := t.TempDir()
	cmd := exec.Command(helm, args...)
	cmd.Env = []string{
		"HOME=" + home,
		"PATH=" + os.Getenv("PATH"),
		"XDG_CONFIG_HOME=" + filepath.Join(home, "config"),
		"XDG_CACHE_HOME=" + filepath.Join(home, "cache"),
		"XDG_DATA_HOME=" + filepath.Join(home, "data"),
		"HELM_CONFIG_HOME=" + filepath.Join(home, "helm-config"),
		"HELM_CACHE_HOME=" + filepath.Join(home, "helm-cache"),
		"HELM_DATA_HOME=" + filepath.Join(home, "helm-data"),
		"KUBECONFIG=" + filepath.Join(home, "kubeconfig"),
	}
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	return out.String(), errOut.String(), err
}

// values returns the path of a values file in the chart's ci directory.
func values(name string) string { return filepath.Join(chartDir, "ci", name) }

// render runs helm template for the release "ow" in namespace "watch" with the flags (-f a
// values file, --set ...), and decodes every manifest strictly.
func render(t *testing.T, flags ...string) *manifests {
	t.Helper()
	args := append([]string{"template", "ow", chartDir, "--namespace", "watch"}, flags...)
	out, errOut, err := runHelm(t, args...)
	if err != nil {
		t.Fatalf("helm template %v: %v\n%s", flags, err, errOut)
	}
	m, err := decodeAll(out)
	if err != nil {
		t.Fatalf("helm template %v: %v", flags, err)
	}
	return m
}

// manifests are the decoded objects of one render, by kind and name.
type manifests struct {
	deployments  map[string]*appsv1.Deployment
	statefulSets map[string]*appsv1.StatefulSet
	services     map[string]*corev1.Service
	configMaps   map[string]*corev1.ConfigMap
	secrets      map[string]*corev1.Secret
	accounts     map[string]*corev1.ServiceAccount
	claims       map[string]*corev1.PersistentVolumeClaim
	budgets      map[string]*policyv1.PodDisruptionBudget
	monitors     map[string]*serviceMonitor
	rules        map[string]*prometheusRule
}

// docSeparator splits a multi-document YAML stream.
var docSeparator = regexp.MustCompile(`(?m)^---[ \t]*$`)

// decodeAll splits helm's output into documents and decodes each strictly into the type of its
// kind; an unknown kind, an unknown field, trailing data or a missing name or namespace is an
// error.
func decodeAll(out string) (*manifests, error) {
	m := &manifests{
		deployments: map[string]*appsv1.Deployment{}, statefulSets: map[string]*appsv1.StatefulSet{},
		services: map[string]*corev1.Service{}, configMaps: map[string]*corev1.ConfigMap{},
		secrets: map[string]*corev1.Secret{}, accounts: map[string]*corev1.ServiceAccount{},
		claims: map[string]*corev1.PersistentVolumeClaim{}, budgets: map[string]*policyv1.PodDisruptionBudget{},
		monitors: map[string]*serviceMonitor{}, rules: map[string]*prometheusRule{},
	}
	n := 0
	for _, doc := range docSeparator.Split(out, -1) {
		if isEmptyDoc(doc) {
			continue
		}
		n++
		js, err := yaml.YAMLToJSON([]byte(doc))
		if err != nil {
			return nil, fmt.Errorf("document %d: YAML: %w\n%s", n, err, doc)
		}
		var tm metav1.TypeMeta
		if err := json.Unmarshal(js, &tm); err != nil {
			return nil, fmt.Errorf("document %d: %w", n, err)
		}
		obj, meta := m.slot(tm)
		if obj == nil {
			return nil, fmt.Errorf("document %d: unexpected kind %q %q\n%s", n, tm.APIVersion, tm.Kind, doc)
		}
		if err := strictJSON(js, obj); err != nil {
			return nil, fmt.Errorf("document %d (%s): %w\n%s", n, tm.Kind, err, doc)
		}
		if om := meta(); om.Name == "" || om.Namespace == "" {
			return nil, fmt.Errorf("document %d (%s): name %q, namespace %q: both must be set", n, tm.Kind, om.Name, om.Namespace)
		}
	}
	if n == 0 {
		return nil, fmt.Errorf("no manifest")
	}
	return m, nil
}

// slot returns a new object of the kind, stored in m under its name once decoded (meta names it).
func (m *manifests) slot(tm metav1.TypeMeta) (obj any, meta func() *metav1.ObjectMeta) {
	switch tm.APIVersion + " " + tm.Kind {
	case "apps/v1 Deployment":
		return store(m.deployments, func(o *appsv1.Deployment) *metav1.ObjectMeta { return &o.ObjectMeta })
	case "apps/v1 StatefulSet":
		return store(m.statefulSets, func(o *appsv1.StatefulSet) *metav1.ObjectMeta { return &o.ObjectMeta })
	case "v1 Service":
		return store(m.services, func(o *corev1.Service) *metav1.ObjectMeta { return &o.ObjectMeta })
	case "v1 ConfigMap":
		return store(m.configMaps, func(o *corev1.ConfigMap) *metav1.ObjectMeta { return &o.ObjectMeta })
	case "v1 Secret":
		return store(m.secrets, func(o *corev1.Secret) *metav1.ObjectMeta { return &o.ObjectMeta })
	case "v1 ServiceAccount":
		return store(m.accounts, func(o *corev1.ServiceAccount) *metav1.ObjectMeta { return &o.ObjectMeta })
	case "v1 PersistentVolumeClaim":
		return store(m.claims, func(o *corev1.PersistentVolumeClaim) *metav1.ObjectMeta { return &o.ObjectMeta })
	case "policy/v1 PodDisruptionBudget":
		return store(m.budgets, func(o *policyv1.PodDisruptionBudget) *metav1.ObjectMeta { return &o.ObjectMeta })
	case "monitoring.coreos.com/v1 ServiceMonitor":
		return store(m.monitors, func(o *serviceMonitor) *metav1.ObjectMeta { return &o.ObjectMeta })
	case "monitoring.coreos.com/v1 PrometheusRule":
		return store(m.rules, func(o *prometheusRule) *metav1.ObjectMeta { return &o.ObjectMeta })
	}
	return nil, nil
}

// store returns a new T, and a function that files it in into under its name and returns its
// metadata.
func store[T any](into map[string]*T, meta func(*T) *metav1.ObjectMeta) (any, func() *metav1.ObjectMeta) {
	obj := new(T)
	return obj, func() *metav1.ObjectMeta {
		om := meta(obj)
		into[om.Name] = obj
		return om
	}
}

// strictJSON decodes one JSON value into v, refusing unknown fields and trailing data.
func strictJSON(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("trailing data after the object")
	}
	return nil
}

// isEmptyDoc reports whether a YAML document holds only comments and blank lines.
func isEmptyDoc(doc string) bool {
	for line := range strings.SplitSeq(doc, "\n") {
		line = strings.TrimSpace(line)
		if line != "" && !strings.HasPrefix(line, "#") {
			return false
		}
	}
	return true
}

// only returns the one object of a map, failing when there is not exactly one.
func only[T any](t *testing.T, what string, objs map[string]*T) *T {
	t.Helper()
	if len(objs) != 1 {
		t.Fatalf("%d %s rendered, want 1", len(objs), what)
	}
	for _, o := range objs {
		return o
	}
	return nil
}
