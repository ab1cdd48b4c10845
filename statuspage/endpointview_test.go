package statuspage

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestEndpointsPart(t *testing.T) {
	t.Parallel()
	list := []Endpoint{
		{Host: "my-bedrock.corp", Provider: "aws.bedrock", Source: "configured"},
		{Host: "llm-proxy.corp:8080", Route: "/v1/messages", Provider: "anthropic", Source: "learned", Attributed: 41, LastSeen: now.Add(-12 * time.Second)},
		{Host: "llm-proxy.corp:8080", Route: "/v1/embeddings", Source: "learned", LastSeen: now.Add(-time.Minute)},
	}
	_, body := get(t, serve(t, fixtureIncidents(), fixtureSilences(), Options{Endpoints: func() []Endpoint { return list }}).URL+"/")
	part := section(t, body, "endpoints")
	require.Contains(t, part, `<tr data-endpoint="my-bedrock.corp"><td>my-bedrock.corp</td><td>every route</td><td>aws.bedrock</td><td>configured</td><td>0</td><td></td></tr>`)
	require.Contains(t, part, `<tr data-endpoint="llm-proxy.corp:8080/v1/messages"><td>llm-proxy.corp:8080</td><td>/v1/messages</td><td>anthropic</td><td>learned</td><td>41</td>`)
	require.Contains(t, part, `(<span data-ago=`, "when the mapping was last seen")
	require.Contains(t, part, `<td>/v1/embeddings</td><td>learning</td>`, "a route with too few pairs says so")

	_, body = get(t, serve(t, fixtureIncidents(), fixtureSilences(), Options{Endpoints: func() []Endpoint { return nil }}).URL+"/")
	require.Contains(t, section(t, body, "endpoints"), "No gateway or private endpoint seen")

	_, body = get(t, serve(t, fixtureIncidents(), fixtureSilences(), Options{}).URL+"/")
	require.NotContains(t, body, `data-part="endpoints"`)
}
