package health

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
)

func TestStateMetric(t *testing.T) {
	t.Parallel()
	b, _ := fixture()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(NewCollector(b))
	want := `
# HELP outagewatch_health_state Health state of each provider (model="") and model: 1 for the current state, 0 for the others.
# TYPE outagewatch_health_state gauge
outagewatch_health_state{model="claude-sonnet-4-5",provider="anthropic",state="degraded"} 0
outagewatch_health_state{model="claude-sonnet-4-5",provider="anthropic",state="down"} 1
outagewatch_health_state{model="claude-sonnet-4-5",provider="anthropic",state="healthy"} 0
outagewatch_health_state{model="claude-sonnet-4-5",provider="anthropic",state="unknown"} 0
`
	require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(want+filterOthers(t, reg)), "outagewatch_health_state"))
	require.Equal(t, 7*4, testutil.CollectAndCount(NewCollector(b)))
}

// filterOthers returns the exposition lines of every series but claude-sonnet-4-5, so that the
// comparison above states only the interesting one.
func filterOthers(t *testing.T, reg *prometheus.Registry) string {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	var sb strings.Builder
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var labels []string
			skip := false
			for _, lp := range m.GetLabel() {
				labels = append(labels, lp.GetName()+`="`+lp.GetValue()+`"`)
				if lp.GetName() == "model" && lp.GetValue() == "claude-sonnet-4-5" {
					skip = true
				}
			}
			if !skip {
				sb.WriteString("outagewatch_health_state{" + strings.Join(labels, ",") + "} ")
				if m.GetGauge().GetValue() == 1 {
					sb.WriteString("1\n")
				} else {
					sb.WriteString("0\n")
				}
			}
		}
	}
	return sb.String()
}
