package charts

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/yaml"
)

// sqliteReplicasMessage is the start of the render's failure for SQLite with several replicas.
const sqliteReplicasMessage = "outagewatch: replicaCount is 3, but the embedded SQLite database allows one replica"

// TestLint runs helm lint --strict on the chart with each valid values file. (Helm's lint
// renders with fail as a no-op that it only logs, so the invalid values file is checked by
// TestSQLiteWithReplicasFails with helm template.)
func TestLint(t *testing.T) {
	t.Parallel()
	for _, f := range []string{"default-values.yaml", "postgres-values.yaml", "monitoring-values.yaml"} {
		t.Run(f, func(t *testing.T) {
			t.Parallel()
			if out, errOut, err := runHelm(t, "lint", "--strict", chartDir, "-f", values(f)); err != nil {
				t.Fatalf("helm lint: %v\n%s%s", err, out, errOut)
			}
		})
	}
}

// TestSQLiteWithReplicasFails: the render refuses several replicas on SQLite, saying what to do.
func TestSQLiteWithReplicasFails(t *testing.T) {
	t.Parallel()
	out, errOut, err := runHelm(t, "template", "ow", chartDir, "-f", values("invalid-sqlite-replicas-values.yaml"))
	if err == nil {
		t.Fatalf("helm template succeeded, want a failure\n%s", out)
	}
	if !strings.Contains(errOut, sqliteReplicasMessage) || !strings.Contains(errOut, "postgres.enabled: true") {
		t.Fatalf("helm template failed with\n%s\nwant %q and the fix (postgres.enabled: true)", errOut, sqliteReplicasMessage)
	}
}

// TestDefault: one replica on SQLite, its database on a PVC, the old pod gone before the new one.
func TestDefault(t *testing.T) {
	t.Parallel()
	m := render(t, "-f", values("default-values.yaml"))
	d := only(t, "Deployments", m.deployments)
	checkCommon(t, m, d)
	if *d.Spec.Replicas != 1 || d.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType {
		t.Errorf("replicas %d, strategy %s: want 1, Recreate (SQLite has one writer)", *d.Spec.Replicas, d.Spec.Strategy.Type)
	}
	pvc := only(t, "PersistentVolumeClaims", m.claims)
	if pvc.Annotations["helm.sh/resource-policy"] != "keep" {
		t.Errorf("PVC annotations %v: want helm.sh/resource-policy keep", pvc.Annotations)
	}
	if got := pvc.Spec.Resources.Requests.Storage().String(); got != "1Gi" {
		t.Errorf("PVC size %s, want 1Gi", got)
	}
	data := volume(t, d, "data")
	if data.PersistentVolumeClaim == nil || data.PersistentVolumeClaim.ClaimName != pvc.Name {
		t.Errorf("volume data %+v: want the claim %s", data.VolumeSource, pvc.Name)
	}
	if mountPath(d, "data") != "/var/lib/outagewatch" {
		t.Errorf("data is mounted at %q, want /var/lib/outagewatch", mountPath(d, "data"))
	}
	if len(m.budgets) != 0 {
		t.Errorf("%d PodDisruptionBudgets for one replica, want none", len(m.budgets))
	}
	if len(m.secrets) != 0 || len(m.monitors) != 0 || len(m.rules) != 0 || len(m.configMaps) != 1 {
		t.Errorf("Secrets %d, ServiceMonitors %d, PrometheusRules %d, ConfigMaps %d: want 0, 0, 0, 1",
			len(m.secrets), len(m.monitors), len(m.rules), len(m.configMaps))
	}
	if _, ok := env(container(t, d), "OUTAGEWATCH_POSTGRES_DSN"); ok {
		t.Error("OUTAGEWATCH_POSTGRES_DSN is set on SQLite")
	}
}

// TestPostgresCluster: three replicas sharing Postgres, the DSN from the operator's Secret.
func TestPostgresCluster(t *testing.T) {
	t.Parallel()
	m := render(t, "-f", values("postgres-values.yaml"))
	d := only(t, "Deployments", m.deployments)
	checkCommon(t, m, d)
	checkCluster(t, m, d, 3, "outagewatch-postgres")
	c := container(t, d)
	for name, secret := range map[string]string{"OUTAGEWATCH_API_TOKEN": "outagewatch-api", "OUTAGEWATCH_SLACK_BOT_TOKEN": "outagewatch-slack"} {
		if e, _ := env(c, name); e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil || e.ValueFrom.SecretKeyRef.Name != secret {
			t.Errorf("%s: %+v, want a secretKeyRef to %s", name, e, secret)
		}
	}
	if e, _ := env(c, "OUTAGEWATCH_SLACK_CHANNEL"); e.Value != "#llm-outages" {
		t.Errorf("OUTAGEWATCH_SLACK_CHANNEL %q, want #llm-outages", e.Value)
	}
	if len(m.secrets) != 0 {
		t.Errorf("%d Secrets rendered with existingSecret, want none", len(m.secrets))
	}
	var cfg map[string]any
	if err := yaml.Unmarshal([]byte(m.configMaps["ow-outagewatch"].Data["outagewatch.yaml"]), &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg["log"].(map[string]any)["level"] != "debug" || cfg["log"].(map[string]any)["format"] != "json" {
		t.Errorf("config log %v: want config.log.level merged over the base (debug, json)", cfg["log"])
	}
}

// TestMonitoring: a cluster with a chart-made DSN Secret, the ServiceMonitor, the PrometheusRule
// and the dashboards.
func TestMonitoring(t *testing.T) {
	t.Parallel()
	m := render(t, "-f", values("monitoring-values.yaml"))
	d := only(t, "Deployments", m.deployments)
	checkCommon(t, m, d)
	checkCluster(t, m, d, 2, "ow-outagewatch-postgres")
	s := only(t, "Secrets", m.secrets)
	if got := string(s.Data["dsn"]); !strings.HasPrefix(got, "postgres://outagewatch:") {
		t.Errorf("Secret %s dsn %q: want the DSN of the values", s.Name, got)
	}
	checkMonitoring(t, m)
}

// checkCommon checks what every render promises: the security context, the probes, the ports,
// the configuration (which the daemon accepts) and the pod's labels.
func checkCommon(t *testing.T, m *manifests, d *appsv1.Deployment) {
	t.Helper()
	if len(m.statefulSets) != 0 {
		t.Errorf("%d StatefulSets, want none", len(m.statefulSets))
	}
	pod := d.Spec.Template.Spec
	if sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector); err != nil || !sel.Matches(labels.Set(d.Spec.Template.Labels)) {
		t.Errorf("the Deployment's selector does not match its pods (%v)", err)
	}
	psc := pod.SecurityContext
	if psc == nil || !isTrue(psc.RunAsNonRoot) || !is(psc.RunAsUser, 65532) || !is(psc.FSGroup, 65532) ||
		psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("pod securityContext %+v: want runAsNonRoot, user 65532, fsGroup 65532, seccomp RuntimeDefault", psc)
	}
	c := container(t, d)
	sc := c.SecurityContext
	if sc == nil || !isTrue(sc.RunAsNonRoot) || !is(sc.RunAsUser, 65532) || !isTrue(sc.ReadOnlyRootFilesystem) ||
		sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation || sc.Capabilities == nil ||
		!slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) != 0 ||
		sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("container securityContext %+v: want non-root 65532, read-only root, no escalation, drop ALL, RuntimeDefault", sc)
	}
	if tmp := volume(t, d, "tmp"); tmp.EmptyDir == nil || mountPath(d, "tmp") != "/tmp" {
		t.Errorf("/tmp: volume %+v mounted at %q, want an emptyDir at /tmp", tmp.VolumeSource, mountPath(d, "tmp"))
	}
	wantPorts := map[string]int32{"otlp-grpc": 4317, "otlp-http": 4318, "api": 9317}
	for _, p := range c.Ports {
		if wantPorts[p.Name] != p.ContainerPort {
			t.Errorf("container port %s %d: want %v", p.Name, p.ContainerPort, wantPorts)
		}
	}
	if len(c.Ports) != len(wantPorts) {
		t.Errorf("container ports %+v, want %v", c.Ports, wantPorts)
	}
	for what, probe := range map[string]*corev1.Probe{"liveness": c.LivenessProbe, "readiness": c.ReadinessProbe} {
		want := map[string]string{"liveness": "/healthz", "readiness": "/readyz"}[what]
		if probe == nil || probe.HTTPGet == nil || probe.HTTPGet.Path != want || probe.HTTPGet.Port.String() != "api" {
			t.Errorf("%s probe %+v: want GET %s on the api port", what, probe, want)
		}
	}
	if e, _ := env(c, "OUTAGEWATCH_MEMORY_LIMIT"); e.ValueFrom == nil || e.ValueFrom.ResourceFieldRef == nil ||
		e.ValueFrom.ResourceFieldRef.Resource != "limits.memory" {
		t.Errorf("OUTAGEWATCH_MEMORY_LIMIT %+v: want the container's limits.memory (downward API)", e)
	}

	svc := m.services["ow-outagewatch"]
	if svc == nil {
		t.Fatalf("no Service ow-outagewatch; Services: %v", keys(m.services))
	}
	got := map[string]int32{}
	for _, p := range svc.Spec.Ports {
		got[p.Name] = p.Port
		if p.TargetPort.String() != p.Name {
			t.Errorf("Service port %s targets %s, want the container port of that name", p.Name, p.TargetPort.String())
		}
	}
	if !mapsEqual(got, wantPorts) {
		t.Errorf("Service ports %v, want %v", got, wantPorts)
	}
	if !labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(d.Spec.Template.Labels)) {
		t.Errorf("Service selector %v does not match the pods %v", svc.Spec.Selector, d.Spec.Template.Labels)
	}

	cm := m.configMaps["ow-outagewatch"]
	if cm == nil || volume(t, d, "config").ConfigMap == nil || volume(t, d, "config").ConfigMap.Name != cm.Name ||
		mountPath(d, "config") != "/etc/outagewatch" {
		t.Fatalf("the config ConfigMap ow-outagewatch is not mounted at /etc/outagewatch")
	}
	if e, _ := env(c, "OUTAGEWATCH_CONFIG"); e.Value != "/etc/outagewatch/outagewatch.yaml" {
		t.Errorf("OUTAGEWATCH_CONFIG %q, want /etc/outagewatch/outagewatch.yaml", e.Value)
	}
	text, ok := cm.Data["outagewatch.yaml"]
	if !ok {
		t.Fatalf("ConfigMap %s has no outagewatch.yaml: %v", cm.Name, keys(cm.Data))
	}
	var cfg struct {
		Store struct {
			DataDir string `json:"data_dir"`
		} `json:"store"`
	}
	if err := yaml.Unmarshal([]byte(text), &cfg); err != nil {
		t.Fatalf("outagewatch.yaml: %v\n%s", err, text)
	}
	if cfg.Store.DataDir != "/var/lib/outagewatch" {
		t.Errorf("store.data_dir %q, want /var/lib/outagewatch", cfg.Store.DataDir)
	}
	limit := c.Resources.Limits.Memory().Value()
	checkConfig(t, text, strconv.FormatInt(limit, 10))
}

// checkCluster checks a Postgres cluster of n replicas whose DSN is in the Secret named secret.
func checkCluster(t *testing.T, m *manifests, d *appsv1.Deployment, n int32, secret string) {
	t.Helper()
	if *d.Spec.Replicas != n || d.Spec.Strategy.Type != appsv1.RollingUpdateDeploymentStrategyType {
		t.Errorf("replicas %d, strategy %s: want %d, RollingUpdate", *d.Spec.Replicas, d.Spec.Strategy.Type, n)
	}
	c := container(t, d)
	dsn, _ := env(c, "OUTAGEWATCH_POSTGRES_DSN")
	if dsn.Value != "" || dsn.ValueFrom == nil || dsn.ValueFrom.SecretKeyRef == nil ||
		dsn.ValueFrom.SecretKeyRef.Name != secret || dsn.ValueFrom.SecretKeyRef.Key != "dsn" {
		t.Errorf("OUTAGEWATCH_POSTGRES_DSN %+v: want a secretKeyRef to %s key dsn", dsn, secret)
	}
	podIP, _ := env(c, "POD_IP")
	if podIP.ValueFrom == nil || podIP.ValueFrom.FieldRef == nil || podIP.ValueFrom.FieldRef.FieldPath != "status.podIP" {
		t.Errorf("POD_IP %+v: want the downward API's status.podIP", podIP)
	}
	advertise, _ := env(c, "OUTAGEWATCH_CLUSTER_ADVERTISE")
	if advertise.Value != "$(POD_IP):4317" || slices.IndexFunc(c.Env, func(e corev1.EnvVar) bool { return e.Name == "POD_IP" }) >
		slices.IndexFunc(c.Env, func(e corev1.EnvVar) bool { return e.Name == "OUTAGEWATCH_CLUSTER_ADVERTISE" }) {
		t.Errorf("OUTAGEWATCH_CLUSTER_ADVERTISE %q: want $(POD_IP):4317, after POD_IP", advertise.Value)
	}
	pdb := only(t, "PodDisruptionBudgets", m.budgets)
	if pdb.Spec.MaxUnavailable == nil || pdb.Spec.MaxUnavailable.IntValue() != 1 || pdb.Spec.MinAvailable != nil {
		t.Errorf("PDB maxUnavailable %v minAvailable %v: want maxUnavailable 1", pdb.Spec.MaxUnavailable, pdb.Spec.MinAvailable)
	}
	if sel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector); err != nil || !sel.Matches(labels.Set(d.Spec.Template.Labels)) {
		t.Errorf("the PDB's selector does not match the pods (%v)", err)
	}
	if len(m.claims) != 0 || slices.ContainsFunc(d.Spec.Template.Spec.Volumes, func(v corev1.Volume) bool { return v.Name == "data" }) {
		t.Errorf("a cluster keeps no local data: %d PVCs, volumes %v", len(m.claims), d.Spec.Template.Spec.Volumes)
	}
	h := m.services["ow-outagewatch-headless"]
	if h == nil || h.Spec.ClusterIP != corev1.ClusterIPNone || !h.Spec.PublishNotReadyAddresses ||
		!slices.ContainsFunc(h.Spec.Ports, func(p corev1.ServicePort) bool { return p.Port == 4317 }) {
		t.Errorf("headless Service %+v: want clusterIP None, publishNotReadyAddresses, port 4317", h)
	}
	if len(d.Spec.Template.Spec.TopologySpreadConstraints) == 0 {
		t.Error("no topology spread for a cluster")
	}
}

// checkConfig runs the daemon with -config.check on the rendered configuration file, with the
// memory limit the downward API would give it.
func checkConfig(t *testing.T, text, memoryLimit string) {
	t.Helper()
	_, watcher := buildTools(t)
	path := filepath.Join(t.TempDir(), "outagewatch.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(watcher, "-config", path, "-config.check")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "OUTAGEWATCH_MEMORY_LIMIT=" + memoryLimit}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("watcher -config.check on the rendered config: %v\n%s\n%s", err, out, text)
	}
}

// container returns the Deployment's one container.
func container(t *testing.T, d *appsv1.Deployment) *corev1.Container {
	t.Helper()
	if n := len(d.Spec.Template.Spec.Containers); n != 1 {
		t.Fatalf("%d containers, want 1", n)
	}
	return &d.Spec.Template.Spec.Containers[0]
}

// env returns the container's variable of that name.
func env(c *corev1.Container, name string) (corev1.EnvVar, bool) {
	i := slices.IndexFunc(c.Env, func(e corev1.EnvVar) bool { return e.Name == name })
	if i < 0 {
		return corev1.EnvVar{}, false
	}
	return c.Env[i], true
}

// volume returns the pod's volume of that name, failing when there is none.
func volume(t *testing.T, d *appsv1.Deployment, name string) corev1.Volume {
	t.Helper()
	vs := d.Spec.Template.Spec.Volumes
	i := slices.IndexFunc(vs, func(v corev1.Volume) bool { return v.Name == name })
	if i < 0 {
		t.Fatalf("no volume %s in %+v", name, vs)
	}
	return vs[i]
}

// mountPath returns where the container mounts the volume, or "".
func mountPath(d *appsv1.Deployment, name string) string {
	for _, vm := range d.Spec.Template.Spec.Containers[0].VolumeMounts {
		if vm.Name == name {
			return vm.MountPath
		}
	}
	return ""
}

func isTrue(b *bool) bool          { return b != nil && *b }
func is(v *int64, want int64) bool { return v != nil && *v == want }

func keys[V any](m map[string]V) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func mapsEqual(a, b map[string]int32) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}
