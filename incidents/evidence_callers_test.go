package incidents

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/outagewatch/outagewatch/detectors"
)

// TestEvidenceKeepsTheCallers: the stored evidence of a transition keeps which calling services
// its calls and failures came from, in the JSON shape /v1/health's reasons use.
func TestEvidenceKeepsTheCallers(t *testing.T) {
	ev := EvidenceOf(detectors.Evidence{Detector: detectors.DetectorErrorRate, Callers: []detectors.CallerShare{
		{Caller: "batch-jobs", N: 7, K: 7}, {Caller: "checkout", N: 6}}})
	b, err := json.Marshal(ev)
	require.NoError(t, err)
	require.Contains(t, string(b), `"callers":[{"service":"batch-jobs","calls":7,"failures":7},{"service":"checkout","calls":6,"failures":0}]`)
	var back Evidence
	require.NoError(t, json.Unmarshal(b, &back))
	require.Equal(t, ev, back)
}
