package ingest

import (
	"maps"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/outagewatch/outagewatch/detectors"
)

// callsBothPaths makes the calls of td through the pdata path and the fast path (in both field
// orders), requires them to be the same, and returns them.
func callsBothPaths(tb testing.TB, td ptrace.Traces) []detectors.Call {
	tb.Helper()
	req := ptraceotlp.NewExportRequestFromTraces(td)
	want := pdataCalls(req)
	body, err := req.MarshalProto()
	require.NoError(tb, err)
	require.Equal(tb, want, fastCalls(tb, body), "fast path and pdata, descending fields")
	require.Equal(tb, want, fastCalls(tb, ascending(tb, body)), "fast path and pdata, ascending fields")
	return want
}

// TestCallerFields: a call names its calling service (service.name, service.namespace,
// deployment.environment(.name) of its resource) and the endpoint host it went to (the LLM
// span's server.address, else its attempt's URL host), the same through both decoding paths,
// for LLM spans and for attempts alone (issue 18).
func TestCallerFields(t *testing.T) {
	t.Parallel()
	type want struct {
		source                           detectors.Source
		endpoint, namespace, env, caller string
	}
	for _, tc := range []struct {
		name     string
		resource map[string]any
		url      string
		withLLM  bool
		address  string // the LLM span's server.address
		want     want
	}{
		{
			name:     "server.address and the whole service",
			resource: map[string]any{"service.namespace": "shop", "deployment.environment.name": "prod", "deployment.environment": "staging"},
			url:      "https://api.openai.com/v1/chat/completions", withLLM: true, address: "eu.api.example.com",
			want: want{detectors.SourceLLM, "eu.api.example.com", "shop", "prod", "shop/checkout (prod)"},
		},
		{
			name:     "the attempt's host when the LLM span names none",
			resource: map[string]any{"deployment.environment": "staging"},
			url:      "https://API.openai.com:443/v1/chat/completions", withLLM: true,
			want: want{detectors.SourceLLM, "api.openai.com", "", "staging", "checkout (staging)"},
		},
		{
			name:     "a local gateway, its port dropped as its LLM span names none",
			resource: map[string]any{"service.namespace": "shop"},
			url:      "http://127.0.0.1:8080/v1/chat/completions", withLLM: true,
			want: want{detectors.SourceLLM, "127.0.0.1", "shop", "", "shop/checkout"},
		},
		{
			name:     "attempts alone",
			resource: map[string]any{"service.namespace": "shop", "deployment.environment.name": "prod"},
			url:      "https://bedrock-runtime.eu-west-1.amazonaws.com/model/anthropic.claude-sonnet-4-5/invoke",
			want:     want{detectors.SourceAttempt, "bedrock-runtime.eu-west-1.amazonaws.com", "shop", "prod", "shop/checkout (prod)"},
		},
		{
			name:     "values that are not strings",
			resource: map[string]any{"service.namespace": int64(7), "deployment.environment.name": true},
			url:      "https://api.anthropic.com/v1/messages", withLLM: true,
			want: want{detectors.SourceLLM, "api.anthropic.com", "7", "true", "7/checkout (true)"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g := newGatewayTraffic()
			attrs := map[string]any{"service.name": "checkout"}
			maps.Copy(attrs, tc.resource)
			require.NoError(t, g.td.ResourceSpans().At(0).Resource().Attributes().FromRaw(attrs))
			g.call("openai", "gpt-4.1", tc.url, 200, tc.withLLM)
			if tc.address != "" {
				g.ss.At(g.ss.Len()-1).Attributes().PutStr("server.address", tc.address)
			}
			calls := callsBothPaths(t, g.td)
			require.Len(t, calls, 1)
			c := calls[0]
			got := want{c.Source, c.Endpoint, c.ServiceNamespace, c.Environment, c.ServiceCaller()}
			require.Equal(t, tc.want, got)
			require.Equal(t, "checkout", c.Service)
		})
	}
}
