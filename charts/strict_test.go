package charts

import (
	"strings"
	"testing"
)

// TestDecodeIsStrict: the decoder that checks every render refuses what the API server or the
// Prometheus Operator would not take as written, so that a typo in a template fails the tests.
func TestDecodeIsStrict(t *testing.T) {
	t.Parallel()
	const meta = "metadata:\n  name: x\n  namespace: ns\n"
	for _, tc := range []struct {
		name, doc, want string
	}{
		{"unknown field", "apiVersion: apps/v1\nkind: Deployment\n" + meta + "spec:\n  replica: 2\n", `unknown field "replica"`},
		{"misplaced field", "apiVersion: v1\nkind: Service\n" + meta + "spec:\n  ports:\n    - port: 1\n      containerPort: 1\n", `unknown field "containerPort"`},
		{"wrong type", "apiVersion: v1\nkind: Service\n" + meta + "spec:\n  ports:\n    - port: \"x\"\n", "cannot unmarshal"},
		{"unknown kind", "apiVersion: apps/v1\nkind: DaemonSet\n" + meta, "unexpected kind"},
		{"old apiVersion", "apiVersion: policy/v1beta1\nkind: PodDisruptionBudget\n" + meta, "unexpected kind"},
		{"no namespace", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n", "both must be set"},
		{"ServiceMonitor field", "apiVersion: monitoring.coreos.com/v1\nkind: ServiceMonitor\n" + meta + "spec:\n  endpoints:\n    - port: api\n      honorLabel: true\n", `unknown field "honorLabel"`},
		{"PrometheusRule field", "apiVersion: monitoring.coreos.com/v1\nkind: PrometheusRule\n" + meta + "spec:\n  groups:\n    - name: g\n      rules:\n        - alert: A\n          expr: up\n          severity: x\n", `unknown field "severity"`},
		{"nothing", "# only a comment\n", "no manifest"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := decodeAll("---\n" + tc.doc)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("decodeAll: %v, want an error with %q", err, tc.want)
			}
		})
	}
	// And the decoder takes a valid stream of several documents.
	m, err := decodeAll("---\napiVersion: v1\nkind: ConfigMap\n" + meta + "data:\n  a: b\n---\n# c\n---\napiVersion: policy/v1\nkind: PodDisruptionBudget\n" + meta + "spec:\n  maxUnavailable: 1\n")
	if err != nil || len(m.configMaps) != 1 || len(m.budgets) != 1 {
		t.Fatalf("decodeAll of a valid stream: %v", err)
	}
}
