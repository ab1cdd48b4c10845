package alerts_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/outagewatch/outagewatch/alerts"
	"github.com/outagewatch/outagewatch/incidents"
	"github.com/outagewatch/outagewatch/internal/bearer"
)

const token = "s3cret"

func silenceServer(t *testing.T, token string) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	var tokens incidents.Tokens // nil: mutations disabled
	if token != "" {
		set, err := (*bearer.Tokens)(nil).With("ci", token)
		require.NoError(t, err)
		tokens = bearer.NewSet(set)
	}
	alerts.NewSilenceAPI(openStore(t), tokens).Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func do(t *testing.T, srv *httptest.Server, method, path, auth, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, srv.URL+path, strings.NewReader(body))
	require.NoError(t, err)
	if auth != "" {
		req.Header.Set("Authorization", "Bearer "+auth)
	}
	req.Header.Set("X-Outagewatch-Actor", "alice")
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func TestSilenceAPI(t *testing.T) {
	t.Parallel()
	srv := silenceServer(t, token)
	code, created := do(t, srv, "POST", "/v1/silences", token,
		`{"provider":" OpenAI ","model":"gpt-5","duration":"2h","reason":"vendor maintenance"}`)
	require.Equal(t, http.StatusCreated, code, created)
	require.Equal(t, "openai", created["provider"], "normalised like ingest's names")
	require.Equal(t, "gpt-5", created["model"])
	require.Equal(t, "alice", created["created_by"])
	until, err := time.Parse(time.RFC3339, created["until"].(string))
	require.NoError(t, err)
	require.WithinDuration(t, time.Now().Add(2*time.Hour), until, time.Minute)

	later := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	code, second := do(t, srv, "POST", "/v1/silences", token, `{"provider":"anthropic","until":"`+later+`","reason":"x"}`)
	require.Equal(t, http.StatusCreated, code, second)
	require.NotContains(t, second, "model", "'' silences every model")

	code, list := do(t, srv, "GET", "/v1/silences", "", "")
	require.Equal(t, http.StatusOK, code)
	require.Len(t, list["silences"], 2)

	id := "/v1/silences/" + jsonID(created)
	code, _ = do(t, srv, "DELETE", id, token, "")
	require.Equal(t, http.StatusNoContent, code)
	code, _ = do(t, srv, "DELETE", id, token, "")
	require.Equal(t, http.StatusNotFound, code)
	code, list = do(t, srv, "GET", "/v1/silences", "", "")
	require.Equal(t, http.StatusOK, code)
	require.Len(t, list["silences"], 1)
}

func jsonID(v map[string]any) string {
	b, _ := json.Marshal(v["id"])
	return string(b)
}

func TestSilenceAPIRejects(t *testing.T) {
	t.Parallel()
	srv := silenceServer(t, token)
	past := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	for _, tc := range []struct {
		name, method, path, auth, body string
		code                           int
		want                           string
	}{
		{"no token", "POST", "/v1/silences", "", `{}`, http.StatusUnauthorized, "missing bearer token"},
		{"wrong token", "POST", "/v1/silences", "nope", `{}`, http.StatusForbidden, "invalid bearer token"},
		{"delete without token", "DELETE", "/v1/silences/1", "", "", http.StatusUnauthorized, ""},
		{"not JSON", "POST", "/v1/silences", token, `provider=x`, http.StatusBadRequest, "body"},
		{"unknown field", "POST", "/v1/silences", token, `{"provider":"x","reason":"r","duration":"1h","matchers":[]}`, http.StatusBadRequest, "unknown field"},
		{"no provider", "POST", "/v1/silences", token, `{"reason":"r","duration":"1h"}`, http.StatusBadRequest, "provider: must be set"},
		{"no reason", "POST", "/v1/silences", token, `{"provider":"x","duration":"1h"}`, http.StatusBadRequest, "reason: must be set"},
		{"no end", "POST", "/v1/silences", token, `{"provider":"x","reason":"r"}`, http.StatusBadRequest, "set exactly one"},
		{"two ends", "POST", "/v1/silences", token, `{"provider":"x","reason":"r","duration":"1h","until":"` + past + `"}`, http.StatusBadRequest, "set exactly one"},
		{"bad duration", "POST", "/v1/silences", token, `{"provider":"x","reason":"r","duration":"-1h"}`, http.StatusBadRequest, "duration"},
		{"bad until", "POST", "/v1/silences", token, `{"provider":"x","reason":"r","until":"tomorrow"}`, http.StatusBadRequest, "RFC 3339"},
		{"past", "POST", "/v1/silences", token, `{"provider":"x","reason":"r","until":"` + past + `"}`, http.StatusBadRequest, "in the future"},
		{"too long", "POST", "/v1/silences", token, `{"provider":"x","reason":"r","duration":"10000h"}`, http.StatusBadRequest, "90 days"},
		{"bad id", "DELETE", "/v1/silences/abc", token, "", http.StatusBadRequest, "id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			code, out := do(t, srv, tc.method, tc.path, tc.auth, tc.body)
			require.Equal(t, tc.code, code, out)
			if tc.want != "" {
				require.Contains(t, out["error"], tc.want)
			}
		})
	}

	disabled := silenceServer(t, "")
	code, out := do(t, disabled, "POST", "/v1/silences", "x", `{}`)
	require.Equal(t, http.StatusForbidden, code)
	require.Contains(t, out["error"], "OUTAGEWATCH_API_TOKEN")
}
