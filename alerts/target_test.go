package alerts_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/outagewatch/outagewatch/alerts"
	"github.com/outagewatch/outagewatch/incidents"
)

func TestMatchSelects(t *testing.T) {
	t.Parallel()
	provider := incidents.Incident{Provider: "anthropic", Models: []string{"claude-haiku-4-5", "claude-sonnet-4-5"}}
	local := incidents.Incident{Provider: "openai", Caller: "service:batch-jobs", Models: []string{"gpt-4o"}}
	for _, tc := range []struct {
		name  string
		m     alerts.Match
		inc   incidents.Incident
		wants bool
	}{
		{"empty selects all", alerts.Match{}, provider, true},
		{"empty selects local", alerts.Match{}, local, true},
		{"provider", alerts.Match{Providers: []string{"openai", "anthropic"}}, provider, true},
		{"other provider", alerts.Match{Providers: []string{"openai"}}, provider, false},
		{"model pattern", alerts.Match{Models: []string{"claude-sonnet-*"}}, provider, true},
		{"model pattern misses", alerts.Match{Models: []string{"gpt-*"}}, provider, false},
		{"model exact", alerts.Match{Models: []string{"gpt-4o"}}, local, true},
		{"kind provider", alerts.Match{Kinds: []string{alerts.KindProvider}}, provider, true},
		{"kind provider not local", alerts.Match{Kinds: []string{alerts.KindProvider}}, local, false},
		{"kind local", alerts.Match{Kinds: []string{alerts.KindLocal}}, local, true},
		{"every field must match", alerts.Match{Providers: []string{"openai"}, Kinds: []string{alerts.KindProvider}}, local, false},
	} {
		require.Equal(t, tc.wants, tc.m.Selects(tc.inc), tc.name)
	}
}

func TestMatchReaches(t *testing.T) {
	t.Parallel()
	events := []incidents.Event{
		{ID: 1, Severity: incidents.SeverityWarning},
		{ID: 2, Severity: incidents.SeverityCritical},
		{ID: 3, Severity: incidents.SeverityWarning},
	}
	warn, crit := alerts.Match{}, alerts.Match{MinSeverity: incidents.SeverityCritical}
	require.True(t, warn.Reaches(events, 1), "warning is the default")
	require.False(t, crit.Reaches(events, 1), "not critical yet at the first event")
	require.True(t, crit.Reaches(events, 2))
	require.True(t, crit.Reaches(events, 3), "once reached, every later event")

	inc := incidents.Incident{Provider: "openai"}
	require.True(t, crit.Holds(inc, events), "reached by the latest event")
	require.False(t, crit.Holds(inc, events[:1]), "a warning only")
	require.False(t, crit.Holds(inc, nil), "no timeline")
	require.False(t, alerts.Match{Providers: []string{"anthropic"}}.Holds(inc, events), "not selected")
}

func TestTargetsValidate(t *testing.T) {
	t.Parallel()
	am := alerts.TargetConfig{Name: "oncall", Type: alerts.TypeAlertmanager, URLs: []string{"http://am-1:9093", "http://am-2:9093/prefix/"}}
	hook := alerts.TargetConfig{Name: "tooling", Type: alerts.TypeWebhook, URLs: []string{"https://hooks.example.com/ow"}, SecretFile: "/run/secret"}
	with := func(f func(*alerts.Config)) alerts.Config {
		cfg := alerts.DefaultConfig()
		cfg.Targets = []alerts.TargetConfig{am, hook}
		f(&cfg)
		return cfg
	}
	for _, tc := range []struct {
		name string
		cfg  alerts.Config
		want string
	}{
		{"valid", with(func(*alerts.Config) {}), ""},
		{"match", with(func(c *alerts.Config) {
			c.Targets[0].Match = alerts.Match{Providers: []string{"anthropic"}, Models: []string{"claude-*"}, Kinds: []string{"local"}, MinSeverity: "critical"}
		}), ""},
		{"name", with(func(c *alerts.Config) { c.Targets[0].Name = "On Call" }), "alerts.targets[0].name"},
		{"slack name", with(func(c *alerts.Config) { c.Targets[0].Name = "slack" }), `alerts.targets[0].name: "slack"`},
		{"twice", with(func(c *alerts.Config) { c.Targets[1].Name = "oncall" }), `alerts.targets[1].name: "oncall" is used twice`},
		{"type", with(func(c *alerts.Config) { c.Targets[0].Type = "pagerduty" }), "alerts.targets[0].type"},
		{"no url", with(func(c *alerts.Config) { c.Targets[0].URLs = nil }), "alerts.targets[0].urls"},
		{"bad url", with(func(c *alerts.Config) { c.Targets[0].URLs = []string{"am:9093"} }), "alerts.targets[0].urls"},
		{"same url", with(func(c *alerts.Config) { c.Targets[0].URLs = []string{"http://a:1", "http://a:1/"} }), "listed twice"},
		{"webhook two urls", with(func(c *alerts.Config) { c.Targets[1].URLs = append(c.Targets[1].URLs, "https://b") }), "alerts.targets[1].urls"},
		{"webhook secret", with(func(c *alerts.Config) { c.Targets[1].SecretFile = "" }), "alerts.targets[1].secret_file"},
		{"resend", with(func(c *alerts.Config) { c.Targets[0].ResendInterval = time.Millisecond }), "alerts.targets[0].resend_interval"},
		{"severity", with(func(c *alerts.Config) { c.Targets[0].Match.MinSeverity = "info" }), "alerts.targets[0].match.min_severity"},
		{"kind", with(func(c *alerts.Config) { c.Targets[0].Match.Kinds = []string{"global"} }), "alerts.targets[0].match.kinds"},
		{"pattern", with(func(c *alerts.Config) { c.Targets[0].Match.Models = []string{"[x"} }), "alerts.targets[0].match.models"},
		{"slack severity in match", with(func(c *alerts.Config) { c.Match.MinSeverity = "critical" }), "alerts.match.min_severity"},
	} {
		err := tc.cfg.Validate()
		if tc.want == "" {
			require.NoError(t, err, tc.name)
			continue
		}
		require.ErrorContains(t, err, tc.want, tc.name)
	}
	require.Equal(t, []string{"oncall@am-1:9093", "oncall@am-2:9093/prefix"}, am.Destinations())
	require.Equal(t, []string{"tooling"}, hook.Destinations())
}
