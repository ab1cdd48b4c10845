package client

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

// docReport is a body of GET /v1/health shaped like the example of docs/health-api.md, with
// extra fields the client ignores.
const docReport = `{
  "version": 42,
  "generated_at": "2026-06-20T14:03:07Z",
  "providers": [
    {
      "provider": "anthropic",
      "state": "down", "usable": false, "since": "2026-06-20T14:02:51Z",
      "reasons": [{"detector": "error_rate_down", "observed": 0.93, "classes": [{"class": "overloaded", "count": 35}]}],
      "figures": {"call_rate": 6.1, "error_rate": 0.91, "calls": 182344},
      "models": [
        {"model": "claude-sonnet-4-5", "state": "down", "usable": false, "since": "2026-06-20T14:02:51Z", "reasons": [], "figures": {}},
        {"model": "claude-haiku-4-5", "state": "unknown", "usable": true, "since": "2026-06-20T14:02:51Z", "reasons": [], "figures": {}}
      ]
    },
    {
      "provider": "openai", "state": "degraded", "usable": true,
      "models": [
        {"model": "gpt-4o", "state": "healthy", "usable": true},
        {"model": "gpt-4o-mini", "state": "unknown", "usable": true}
      ]
    },
    {
      "provider": "gcp.gemini", "state": "healthy", "usable": true,
      "models": [{"model": "models/gemini-2.5-flash", "state": "unknown", "usable": true}]
    },
    {"provider": "mistral_ai", "state": "unknown", "usable": true, "models": []}
  ]
}`

func TestSnapshotEffectiveStatesAndPolicies(t *testing.T) {
	t.Parallel()
	var rep report
	require.NoError(t, json.Unmarshal([]byte(docReport), &rep))
	type want struct {
		state         string
		known         bool
		usable        bool // default policy
		failDegraded  bool // usable with fail_degraded
		failUnknown   bool // usable with fail_unknown
		failBothUsabl bool
	}
	tests := []struct {
		name            string
		provider, model string
		want            want
	}{
		{"down model", "anthropic", "claude-sonnet-4-5", want{Down, true, false, false, false, false}},
		{"unknown model of a down provider is down", "anthropic", "claude-haiku-4-5", want{Down, true, false, false, false, false}},
		{"absent model of a down provider is down", "anthropic", "claude-opus-4-1", want{Down, false, false, false, false, false}},
		{"down provider", "anthropic", "", want{Down, true, false, false, false, false}},
		{"healthy model of a degraded provider keeps its state", "openai", "gpt-4o", want{Healthy, true, true, true, true, true}},
		{"unknown model of a degraded provider is degraded", "openai", "gpt-4o-mini", want{Degraded, true, true, false, true, false}},
		{"absent model of a degraded provider is degraded", "openai", "o3", want{Degraded, false, true, false, true, false}},
		{"degraded provider", "openai", "", want{Degraded, true, true, false, true, false}},
		{"unknown model of a healthy provider", "gcp.gemini", "models/gemini-2.5-flash", want{Unknown, true, true, true, false, false}},
		{"absent model of a healthy provider", "gcp.gemini", "models/gemini-2.5-pro", want{Unknown, false, true, true, false, false}},
		{"unknown provider", "mistral_ai", "", want{Unknown, true, true, true, false, false}},
		{"absent model of an unknown provider", "mistral_ai", "mistral-large", want{Unknown, false, true, true, false, false}},
		{"absent provider", "cohere", "", want{Unknown, false, true, true, false, false}},
		{"model of an absent provider", "cohere", "command-r", want{Unknown, false, true, true, false, false}},
	}
	snaps := map[policy]*snapshot{}
	for _, p := range []policy{{}, {failDegraded: true}, {failUnknown: true}, {true, true}} {
		snaps[p] = newSnapshot(&rep, p)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v := snaps[policy{}].lookup(tt.provider, tt.model)
			require.Equal(t, tt.want.state, v.state)
			require.Equal(t, tt.want.known, v.known)
			require.Equal(t, tt.want.usable, v.usable, "default")
			require.Equal(t, tt.want.failDegraded, snaps[policy{failDegraded: true}].lookup(tt.provider, tt.model).usable, "fail_degraded")
			require.Equal(t, tt.want.failUnknown, snaps[policy{failUnknown: true}].lookup(tt.provider, tt.model).usable, "fail_unknown")
			require.Equal(t, tt.want.failBothUsabl, snaps[policy{true, true}].lookup(tt.provider, tt.model).usable, "both")
		})
	}
	require.Equal(t, uint64(42), snaps[policy{}].version)
}

func TestSnapshotUnknownStateString(t *testing.T) {
	t.Parallel()
	rep := report{Providers: []providerReport{{Provider: "openai", State: "sunny"}, {Provider: "anthropic"}}}
	s := newSnapshot(&rep, policy{})
	require.True(t, s.lookup("openai", "").usable, "a state this client does not know is treated as unknown")
	require.False(t, newSnapshot(&rep, policy{failUnknown: true}).lookup("openai", "").usable)
	require.Equal(t, Unknown, s.lookup("anthropic", "").state, "a missing state is unknown")
}

func TestSnapshotSameModelUnderTwoProviders(t *testing.T) {
	t.Parallel()
	rep := report{Providers: []providerReport{
		{Provider: "anthropic", State: Down, Models: []modelReport{{Model: "claude-sonnet-4-5", State: Down}}},
		{Provider: "openrouter", State: Healthy, Models: []modelReport{{Model: "claude-sonnet-4-5", State: Healthy}}},
		{Provider: "vertex", State: Degraded, Models: []modelReport{{Model: "claude-sonnet-4-5", State: Degraded}}},
	}}
	s := newSnapshot(&rep, policy{})
	require.Equal(t, Down, s.lookup("anthropic", "claude-sonnet-4-5").state)
	require.Equal(t, Healthy, s.lookup("openrouter", "claude-sonnet-4-5").state)
	require.Equal(t, Degraded, s.lookup("vertex", "claude-sonnet-4-5").state)
	v := s.lookup("azure", "claude-sonnet-4-5")
	require.Equal(t, Unknown, v.state, "the model under a provider the answer does not list")
	require.False(t, v.known)
}
