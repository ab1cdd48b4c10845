package incidents

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestViewShowsNoEmptyModel(t *testing.T) {
	t.Parallel()
	// A row written by an older build, with the provider's own series recorded as model "".
	inc := Incident{ID: 1, Provider: "anthropic", Models: []string{"", "claude-sonnet-4-5"}, OpenedAt: t0, UpdatedAt: t0}
	require.Equal(t, []string{"claude-sonnet-4-5"}, View(inc, t0).Models)
	inc.Models = []string{""}
	require.Equal(t, []string{}, View(inc, t0).Models)
}

func TestEvidenceClassesAreAnArray(t *testing.T) {
	t.Parallel()
	// The same shape as /v1/health's reasons: [{"class", "count"}], most frequent first.
	ev := Evidence{Detector: "error_rate", Classes: map[string]int{"timeout": 3, "overloaded": 35, "server_error": 3}}
	b, err := json.Marshal(EventViewOf(Event{Kind: EventTransition, Evidence: ev}))
	require.NoError(t, err)
	require.Contains(t, string(b), `"classes":[{"class":"overloaded","count":35},{"class":"server_error","count":3},{"class":"timeout","count":3}]`)

	// Stored evidence round-trips, and rows older builds wrote as an object still read.
	var back Evidence
	raw, err := json.Marshal(ev)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(raw, &back))
	require.Equal(t, ev.Classes, back.Classes)
	var legacy Evidence
	require.NoError(t, json.Unmarshal([]byte(`{"detector":"error_rate","classes":{"overloaded":35,"timeout":3}}`), &legacy))
	require.EqualValues(t, map[string]int{"overloaded": 35, "timeout": 3}, legacy.Classes)

	// No classes: no field.
	b, err = json.Marshal(Evidence{Detector: "ttft"})
	require.NoError(t, err)
	require.NotContains(t, string(b), "classes")
}
