package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestShippedScenariosParse(t *testing.T) {
	t.Parallel()
	names := shippedNames()
	require.ElementsMatch(t, []string{"baseline", "outage", "overload", "truncation-storm", "slowdown", "ratelimit", "recovery",
		"one-service-failing", "provider-down"}, names)
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			sc, err := loadScenario(name)
			require.NoError(t, err)
			require.Equal(t, name, sc.Name)
			require.NotEmpty(t, sc.Description)
			for _, tg := range sc.Traffic.Targets {
				require.Len(t, tg.Shapes, countPositive(tg.Shapes), "%s: every listed shape has weight", tg.key())
			}
		})
	}
}

func countPositive(m map[string]float64) int {
	n := 0
	for _, w := range m {
		if w > 0 {
			n++
		}
	}
	return n
}

// The lead's end-to-end test relies on this timeline.
func TestOutageScenarioTimeline(t *testing.T) {
	t.Parallel()
	sc, err := loadScenario("outage")
	require.NoError(t, err)
	require.Len(t, sc.Phases, 3)
	require.Equal(t, []time.Duration{60 * time.Second, 60 * time.Second, 90 * time.Second},
		[]time.Duration{sc.Phases[0].Duration, sc.Phases[1].Duration, sc.Phases[2].Duration})
	require.Empty(t, sc.Phases[0].Overrides)
	require.Empty(t, sc.Phases[2].Overrides)
	require.Len(t, sc.Phases[1].Overrides, 1)
	o := sc.Phases[1].Overrides[0]
	require.Equal(t, "anthropic/claude-sonnet-4-5", o.Target)
	require.Equal(t, &errorMix{Overloaded: 1}, o.Errors)
	for _, tg := range sc.Traffic.Targets {
		if tg.key() == o.Target {
			require.GreaterOrEqual(t, tg.Rate, 5.0)
			require.LessOrEqual(t, tg.Rate, 10.0)
			return
		}
	}
	t.Fatal("the outage's target is not in the traffic")
}

const minimalYAML = `
name: tiny
traffic:
  targets:
    - {provider: anthropic, model: claude-sonnet-4-5, rate: 2}
phases:
  - {name: only, duration: 10s}
`

func TestParseScenarioDefaults(t *testing.T) {
	t.Parallel()
	sc, err := parseScenario([]byte(minimalYAML))
	require.NoError(t, err)
	tr := sc.Traffic
	require.Equal(t, defaultService, tr.Service)
	require.Equal(t, defaultTimeout, tr.Timeout)
	require.Equal(t, defaultMaxRetries, *tr.MaxRetries)
	tg := tr.Targets[0]
	require.Equal(t, "claude-sonnet-4-5", tg.ResponseModel)
	require.Equal(t, defaultTTFT, tg.TTFT)
	require.Equal(t, map[string]float64{"genai": 1}, tg.Shapes)
}

func TestParseScenarioRejects(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, yaml string
		want       []string // substrings of the error
	}{
		{"unknown key", strings.Replace(minimalYAML, "rate: 2", "rate: 2, rat: 3", 1), []string{"field rat not found"}},
		{"misspelt phase key", strings.Replace(minimalYAML, "duration: 10s", "durations: 10s", 1), []string{"field durations not found"}},
		{"duration without unit", strings.Replace(minimalYAML, "duration: 10s", "duration: 10", 1), []string{"decode", "10"}},
		{"no name", strings.Replace(minimalYAML, "name: tiny", "", 1), []string{"name: must not be empty"}},
		{"unknown provider", strings.Replace(minimalYAML, "provider: anthropic", "provider: acme", 1), []string{"traffic.targets[0].provider", "acme"}},
		{"zero rate", strings.Replace(minimalYAML, "rate: 2", "rate: 0", 1), []string{"traffic.targets[0].rate"}},
		{"stream share", strings.Replace(minimalYAML, "rate: 2", "rate: 2, stream: 1.5", 1), []string{"traffic.targets[0].stream"}},
		{"unknown shape", strings.Replace(minimalYAML, "rate: 2", "rate: 2, shapes: {langchain: 1}", 1), []string{"traffic.targets[0].shapes.langchain: unknown shape"}},
		{"errors over 1", strings.Replace(minimalYAML, "traffic:", "traffic:\n  errors: {overloaded: 0.7, timeout: 0.5}", 1), []string{"traffic.errors: probabilities add up to 1.2"}},
		{"no phases", strings.Replace(minimalYAML, "  - {name: only, duration: 10s}", "", 1), []string{"phases: at least one phase"}},
		{"zero duration", strings.Replace(minimalYAML, "duration: 10s", "duration: 0s", 1), []string{"phases[0].duration: must be positive"}},
		{"override selects nothing", strings.Replace(minimalYAML, "duration: 10s}", "duration: 10s, overrides: [{target: openai/gpt-4o, rate_factor: 2}]}", 1), []string{"phases[0].overrides[0].target", "openai/gpt-4o"}},
		{"negative factor", strings.Replace(minimalYAML, "duration: 10s}", "duration: 10s, overrides: [{target: anthropic, latency_factor: -1}]}", 1), []string{"phases[0].overrides[0].latency_factor"}},
		{"override error typo", strings.Replace(minimalYAML, "duration: 10s}", "duration: 10s, overrides: [{target: '*', errors: {overload: 1}}]}", 1), []string{"field overload not found"}},
		{"override service selects nothing", strings.Replace(minimalYAML, "duration: 10s}", "duration: 10s, overrides: [{service: nope, errors: {timeout: 1}}]}", 1), []string{"phases[0].overrides[0].target", `service "nope"`}},
		{"target retries", strings.Replace(minimalYAML, "rate: 2", "rate: 2, max_retries: 11", 1), []string{"traffic.targets[0].max_retries"}},
		{"same service twice", strings.Replace(minimalYAML, "    - {provider: anthropic, model: claude-sonnet-4-5, rate: 2}", "    - {service: a, provider: anthropic, model: claude-sonnet-4-5, rate: 2}\n    - {service: a, provider: anthropic, model: claude-sonnet-4-5, rate: 2}", 1), []string{"a:anthropic/claude-sonnet-4-5 is listed twice"}},
		{"two documents", minimalYAML + "---\n" + minimalYAML, []string{"more than one YAML document"}},
		{"empty", "", []string{"empty document"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := parseScenario([]byte(tc.yaml))
			require.Error(t, err)
			for _, w := range tc.want {
				require.Contains(t, err.Error(), w)
			}
		})
	}
}

func TestLoadScenario(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "mine.yaml")
	require.NoError(t, os.WriteFile(path, []byte(minimalYAML), 0o600))
	sc, err := loadScenario(path)
	require.NoError(t, err)
	require.Equal(t, "tiny", sc.Name)

	_, err = loadScenario("no-such-scenario")
	require.ErrorContains(t, err, `unknown scenario "no-such-scenario" (shipped: baseline, one-service-failing, outage`)

	_, err = loadScenario(filepath.Join(t.TempDir(), "missing.yaml"))
	require.ErrorIs(t, err, os.ErrNotExist)

	bad := filepath.Join(t.TempDir(), "bad.yaml")
	require.NoError(t, os.WriteFile(bad, []byte(strings.Replace(minimalYAML, "rate: 2", "rate: -2", 1)), 0o600))
	_, err = loadScenario(bad)
	require.ErrorContains(t, err, "bad.yaml: traffic.targets[0].rate")
}
