package hosts

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var t0 = time.Date(2026, 6, 20, 12, 0, 0, 0, time.UTC)

func learnN(m *Map, host, route, provider string, n int) {
	for i := range n {
		m.Learn(host, route, provider, t0.Add(time.Duration(i)*time.Second))
	}
}

func TestResolveNeedsMinPairs(t *testing.T) {
	m := New()
	learnN(m, "llm.corp:8080", "/v1/chat/completions", "openai", MinPairs-1)
	require.Empty(t, m.Resolve("llm.corp:8080", "/v1/chat/completions"), "fewer than MinPairs pairs name no provider")
	m.Learn("llm.corp:8080", "/v1/chat/completions", "openai", t0)
	require.Equal(t, "openai", m.Resolve("llm.corp:8080", "/v1/chat/completions"))
	require.Equal(t, "openai", m.Resolve("llm.corp:8080", "/v1/embeddings"), "a route never seen takes the host's one provider")
	require.Empty(t, m.Resolve("other.corp", "/v1/chat/completions"))
}

func TestOneMislabelledSpanDoesNotMakeAGateway(t *testing.T) {
	m := New()
	learnN(m, "h", "/v1/messages", "anthropic", 50)
	m.Learn("h", "/v1/messages", "openai", t0)
	require.Equal(t, "anthropic", m.Resolve("h", "/v1/messages"))
}

func TestGatewayToldApartByRoute(t *testing.T) {
	m := New()
	learnN(m, "gw:4000", "/v1/chat/completions", "openai", 5)
	learnN(m, "gw:4000", "/v1/messages", "anthropic", 5)
	require.Equal(t, "openai", m.Resolve("gw:4000", "/v1/chat/completions"))
	require.Equal(t, "anthropic", m.Resolve("gw:4000", "/v1/messages"))
	require.Equal(t, "gateway:gw:4000", m.Resolve("gw:4000", "/v1/embeddings"), "a route of neither: the gateway's own, never a guess")
}

func TestGatewayRoutingByModelIsItsOwnProvider(t *testing.T) {
	// LiteLLM's proxy: one route for every provider, routed by the model in the body.
	m := New()
	learnN(m, "litellm:4000", "/chat/completions", "openai", 5)
	learnN(m, "litellm:4000", "/chat/completions", "anthropic", 5)
	require.Equal(t, "gateway:litellm:4000", m.Resolve("litellm:4000", "/chat/completions"))
	m.Learn("litellm:4000", "/chat/completions", "gateway:litellm:4000", t0)
	require.Len(t, m.List(), 1)
	require.Equal(t, map[string]uint64{"openai": 5, "anthropic": 5}, m.List()[0].Pairs, "a gateway name is never learned as a provider")
}

func TestBounded(t *testing.T) {
	m := New()
	for i := range MaxHosts + 10 {
		learnN(m, fmt.Sprintf("h%d", i), "/v1/messages", "anthropic", 1)
		m.Learn(fmt.Sprintf("h%d", i), "/v1/messages", "anthropic", t0.Add(time.Duration(i)*time.Minute))
	}
	require.Equal(t, MaxHosts, m.Len())
	require.Empty(t, m.Resolve("h0", "/v1/messages"), "the least recently seen host is forgotten first")
	for i := range maxRoutes + 5 {
		m.Learn("h2000", fmt.Sprintf("/r%d/v1/messages", i), "anthropic", t0.Add(time.Duration(i)*time.Hour))
	}
	routes := 0
	for _, mp := range m.List() {
		if mp.Host == "h2000" {
			routes++
		}
	}
	require.Equal(t, maxRoutes, routes)
	for i := range maxProviders + 3 {
		learnN(m, "many", "/chat/completions", fmt.Sprintf("p%d", i), MinPairs)
	}
	require.Len(t, m.List()[len(m.List())-1].Pairs, maxProviders) // "many" sorts last
	require.Equal(t, "gateway:many", m.Resolve("many", "/chat/completions"))
}

func TestSnapshotRoundTrip(t *testing.T) {
	m := New()
	learnN(m, "gw:4000", "/v1/chat/completions", "openai", 7)
	learnN(m, "gw:4000", "/v1/messages", "anthropic", 4)
	learnN(m, "llm.corp", "/openai/deployments/*/chat/completions", "azure.ai.openai", 2)
	data, err := m.Snapshot()
	require.NoError(t, err)

	r := New()
	r.Learn("stale", "/v1/messages", "anthropic", t0)
	require.NoError(t, r.Restore(data))
	require.Equal(t, m.List(), r.List())
	require.Equal(t, "anthropic", r.Resolve("gw:4000", "/v1/messages"))
	require.Empty(t, r.Resolve("stale", "/v1/messages"), "restore replaces what was learned")

	before := r.List()
	require.Error(t, r.Restore([]byte(`{"version":9}`)))
	require.Error(t, r.Restore([]byte(`{`)))
	require.Error(t, r.Restore([]byte(`{"version":1,"hosts":[{"host":""}]}`)))
	require.Equal(t, before, r.List(), "a failed restore changes nothing")
}

func TestIsLLMPath(t *testing.T) {
	for path, want := range map[string]bool{
		"/v1/chat/completions": true,
		"/chat/completions":    true,
		"/v1/messages":         true,
		"/v1/responses":        true,
		"/openai/deployments/gpt-4o/chat/completions":                                                  true,
		"/v1beta/models/gemini-2.5-flash:streamGenerateContent":                                        true,
		"/v1/projects/p/locations/us-central1/publishers/google/models/gemini-2.5-pro:generateContent": true,
		"/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/invoke":                                    true,
		"/model/x/converse-stream":                                                                     true,
		"/api/chat":                                                                                    true,
		"/v1/chat/completions/":                                                                        true,
		"/v1/users":                                                                                    false,
		"/orders/42":                                                                                   false,
		"/":                                                                                            false,
		"":                                                                                             false,
		"/v1/messages/count_tokens":                                                                    false,
	} {
		require.Equal(t, want, IsLLMPath(path), path)
	}
}

func TestRoute(t *testing.T) {
	for path, want := range map[string]string{
		"/v1/chat/completions":                                                                  "/v1/chat/completions",
		"/openai/deployments/gpt-4o-mini/chat/completions":                                      "/openai/deployments/*/chat/completions",
		"/v1beta/models/gemini-2.5-flash:streamGenerateContent":                                 "/v1beta/models/*:streamGenerateContent",
		"/v1/projects/my-proj/locations/us-central1/publishers/google/models/g:generateContent": "/projects/*/locations/*/publishers/google/models/*:generateContent",
		"/model/anthropic.claude-v2/invoke":                                                     "/model/*/invoke",
		"/v1/0123456789abcdef0123456789abcdef/my-gateway/openai/chat/completions":               "/v1/*/my-gateway/openai/chat/completions",
		"/anthropic/v1/messages":                                                                "/anthropic/v1/messages",
		"":                                                                                      "/",
	} {
		require.Equal(t, want, Route(path), path)
	}
}

func TestHandlerListsConfiguredThenLearned(t *testing.T) {
	m := New()
	learnN(m, "gw:4000", "/v1/messages", "anthropic", 4)
	learnN(m, "gw:4000", "/v1/chat/completions", "openai", 1)
	rec := httptest.NewRecorder()
	m.Handler(map[string]string{"My-Bedrock.corp": "aws.bedrock"}).ServeHTTP(rec, httptest.NewRequest("GET", "/v1/hosts", nil))
	require.Equal(t, http.StatusOK, rec.Code)
	require.Equal(t, "application/json", rec.Header().Get("Content-Type"))
	var body struct {
		Hosts    []Entry `json:"hosts"`
		MinPairs int     `json:"min_pairs"`
	}
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body))
	require.Equal(t, MinPairs, body.MinPairs)
	require.Len(t, body.Hosts, 3)
	require.Equal(t, Entry{Host: "my-bedrock.corp", Provider: "aws.bedrock", Source: "configured"}, body.Hosts[0])
	require.Equal(t, "/v1/chat/completions", body.Hosts[1].Route)
	require.Equal(t, "gateway:gw:4000", body.Hosts[1].Provider, "a route still learning that served another provider than the host's is not given the host's")
	require.Equal(t, "anthropic", body.Hosts[2].Provider)
	require.Equal(t, "learned", body.Hosts[2].Source)
	require.Equal(t, map[string]uint64{"anthropic": 4}, body.Hosts[2].Pairs)
	require.Equal(t, t0.Add(3*time.Second), body.Hosts[2].LastSeen.UTC())
}
