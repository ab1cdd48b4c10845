package charts

import (
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// TestValueVariants renders the chart with single values changed (--set) and checks what each
// changes.
func TestValueVariants(t *testing.T) {
	t.Parallel()
	t.Run("existingClaim", func(t *testing.T) {
		t.Parallel()
		m := render(t, "--set", "persistence.existingClaim=mine")
		d := only(t, "Deployments", m.deployments)
		if len(m.claims) != 0 {
			t.Errorf("%d PVCs with an existing claim, want none", len(m.claims))
		}
		if v := volume(t, d, "data"); v.PersistentVolumeClaim == nil || v.PersistentVolumeClaim.ClaimName != "mine" {
			t.Errorf("data volume %+v, want the claim mine", v.VolumeSource)
		}
	})
	t.Run("no persistence", func(t *testing.T) {
		t.Parallel()
		m := render(t, "--set", "persistence.enabled=false")
		d := only(t, "Deployments", m.deployments)
		if v := volume(t, d, "data"); len(m.claims) != 0 || v.EmptyDir == nil {
			t.Errorf("%d PVCs, data volume %+v: want none and an emptyDir", len(m.claims), v.VolumeSource)
		}
	})
	t.Run("no memory limit", func(t *testing.T) {
		t.Parallel()
		m := render(t, "--set", "resources.limits=null")
		if _, ok := env(container(t, only(t, "Deployments", m.deployments)), "OUTAGEWATCH_MEMORY_LIMIT"); ok {
			t.Error("OUTAGEWATCH_MEMORY_LIMIT set without a memory limit: the daemon would get the node's memory")
		}
	})
	t.Run("ports", func(t *testing.T) {
		t.Parallel()
		m := render(t, "--set", "ports.api=9999,ports.otlpGrpc=5317,ports.otlpHttp=5318")
		var cfg struct {
			API    struct{ Addr string } `json:"api"`
			Ingest struct {
				GRPC string `json:"grpc_addr"`
				HTTP string `json:"http_addr"`
			} `json:"ingest"`
		}
		if err := yaml.Unmarshal([]byte(m.configMaps["ow-outagewatch"].Data["outagewatch.yaml"]), &cfg); err != nil {
			t.Fatal(err)
		}
		if cfg.API.Addr != ":9999" || cfg.Ingest.GRPC != ":5317" || cfg.Ingest.HTTP != ":5318" {
			t.Errorf("config addresses %+v, want :9999, :5317, :5318", cfg)
		}
		for _, p := range m.services["ow-outagewatch"].Spec.Ports {
			if p.Port != map[string]int32{"api": 9999, "otlp-grpc": 5317, "otlp-http": 5318}[p.Name] {
				t.Errorf("Service port %s is %d", p.Name, p.Port)
			}
		}
	})
	t.Run("extra volumes", func(t *testing.T) {
		t.Parallel()
		m := render(t, "--set", "extraVolumes[0].name=alert-secrets,extraVolumes[0].secret.secretName=hooks",
			"--set", "extraVolumeMounts[0].name=alert-secrets,extraVolumeMounts[0].mountPath=/run/secrets/outagewatch,extraVolumeMounts[0].readOnly=true")
		d := only(t, "Deployments", m.deployments)
		if v := volume(t, d, "alert-secrets"); v.Secret == nil || v.Secret.SecretName != "hooks" {
			t.Errorf("alert-secrets volume %+v, want the Secret hooks", v.VolumeSource)
		}
		mounted := false
		for _, vm := range container(t, d).VolumeMounts {
			mounted = mounted || (vm.Name == "alert-secrets" && vm.MountPath == "/run/secrets/outagewatch" && vm.ReadOnly)
		}
		if !mounted {
			t.Errorf("no read-only mount of alert-secrets at /run/secrets/outagewatch: %+v", container(t, d).VolumeMounts)
		}
	})
	for name, tc := range map[string]struct{ set, want string }{
		"postgres without a DSN": {"postgres.enabled=true", "postgres.enabled needs the DSN"},
		"two DSNs":               {"postgres.enabled=true,postgres.existingSecret=s,postgres.dsn=postgres://x", "not both"},
		"no replica":             {"replicaCount=0", "replicaCount must be at least 1"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, errOut, err := runHelm(t, "template", "ow", chartDir, "--set", tc.set)
			if err == nil || !strings.Contains(errOut, tc.want) {
				t.Fatalf("helm template --set %s: %v\n%s\nwant a failure with %q", tc.set, err, errOut, tc.want)
			}
		})
	}
}
