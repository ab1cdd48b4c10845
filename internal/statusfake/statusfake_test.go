package statusfake_test

import (
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/outagewatch/outagewatch/internal/statusfake"
)

func get(t *testing.T, url, etag string) (*http.Response, map[string]any) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	require.NoError(t, err)
	if etag != "" {
		req.Header.Set("If-None-Match", etag)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var v map[string]any
	if resp.StatusCode == http.StatusOK {
		require.NoError(t, json.Unmarshal(b, &v), "%s", b)
	}
	return resp, v
}

func TestETagAndChanges(t *testing.T) {
	t.Parallel()
	s := statusfake.New(t, "API")
	resp, v := get(t, s.StatuspageURL()+"/api/v2/summary.json", "")
	require.Equal(t, "none", v["status"].(map[string]any)["indicator"])
	etag := resp.Header.Get("ETag")
	require.NotEmpty(t, etag)
	resp, _ = get(t, s.StatuspageURL()+"/api/v2/summary.json", etag)
	require.Equal(t, http.StatusNotModified, resp.StatusCode)

	s.SetComponent("API", statusfake.PartialOutage)
	s.PostIncident(statusfake.Incident{ID: "i1", Name: "Errors", Impact: "critical", Components: []string{"API"}, CreatedAt: time.Now()})
	resp, v = get(t, s.StatuspageURL()+"/api/v2/summary.json", etag)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "critical", v["status"].(map[string]any)["indicator"])
	require.Len(t, v["incidents"], 1)

	// incident.io's copy: no incidents in the summary, no components on incidents
	_, v = get(t, s.IncidentIOURL()+"/api/v2/summary.json", "")
	require.NotContains(t, v, "incidents")
	_, v = get(t, s.IncidentIOURL()+"/api/v2/incidents.json", "")
	require.NotContains(t, v["incidents"].([]any)[0], "components")
	require.Len(t, s.Requests(), 5)
}

func TestFaults(t *testing.T) {
	t.Parallel()
	s := statusfake.New(t)
	s.SetFault(statusfake.Fail500)
	resp, _ := get(t, s.GoogleURL(), "")
	require.Equal(t, http.StatusInternalServerError, resp.StatusCode)
	s.SetFault(statusfake.Malformed)
	resp, err := http.Get(s.GoogleURL())
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.False(t, json.Valid(b))
	s.SetFault(statusfake.NoFault)
	resp, err = http.Get(s.GoogleURL())
	require.NoError(t, err)
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	require.JSONEq(t, `[]`, string(b))
}
