package health

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/outagewatch/outagewatch/detectors"
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

// The collector keeps its gauges between scrapes (issue 20) and rebuilds them when a state, a
// series or a local verdict changed: what it exports is always the board's.
func TestStateMetricFollowsTheBoard(t *testing.T) {
	t.Parallel()
	b, statuses := fixture()
	c := NewCollector(b).(*boardCollector)
	value := func(provider, model, state string) float64 {
		t.Helper()
		reg := prometheus.NewPedanticRegistry()
		reg.MustRegister(c)
		mfs, err := reg.Gather()
		require.NoError(t, err)
		for _, mf := range mfs {
			for _, m := range mf.GetMetric() {
				labels := map[string]string{}
				for _, lp := range m.GetLabel() {
					labels[lp.GetName()] = lp.GetValue()
				}
				if mf.GetName() == "outagewatch_health_state" && labels["provider"] == provider && labels["model"] == model && labels["state"] == state {
					return m.GetGauge().GetValue()
				}
			}
		}
		return -1 // not exported
	}
	first := c.current()
	require.Equal(t, 1.0, value("anthropic", "claude-sonnet-4-5", "down"))

	b.Update(statuses, nil) // the figures moved, the states did not
	require.Same(t, &first[0], &c.current()[0], "the same gauges, not rebuilt")

	statuses[2].State = detectors.StateHealthy
	b.Update(statuses, nil)
	require.Equal(t, 0.0, value("anthropic", "claude-sonnet-4-5", "down"))
	require.Equal(t, 1.0, value("anthropic", "claude-sonnet-4-5", "healthy"))

	statuses = append(statuses, st("openai", "", detectors.StateUnknown))
	b.Update(statuses, nil)
	require.Equal(t, 1.0, value("openai", "", "unknown"))

	local := st("anthropic", "claude-sonnet-4-5", detectors.StateDown)
	local.Series.Caller = detectors.Caller{Kind: detectors.CallerService, Name: "batch-jobs"}
	statuses[2].Local = []detectors.Status{local}
	b.Update(statuses, nil)
	require.Equal(t, (len(statuses)+1)*4, testutil.CollectAndCount(c))
	require.Equal(t, 1, testutil.CollectAndCount(c, "outagewatch_health_local_state")/4)
}
