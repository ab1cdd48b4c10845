package vendorstatus

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/outagewatch/outagewatch/internal/strictyaml"
)

func TestDefaultConfigIsValid(t *testing.T) {
	t.Parallel()
	cfg := DefaultConfig()
	require.True(t, cfg.Enabled)
	require.NoError(t, cfg.Validate(), "DefaultSources included")
	require.Len(t, cfg.sources(), 3)
	providers := []string{}
	for _, s := range DefaultSources() {
		providers = append(providers, s.Provider)
	}
	require.Equal(t, []string{"anthropic", "openai", "gcp.vertex_ai"}, providers)
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	good := Source{Provider: "p", Format: FormatStatuspage, URL: "https://status.example.com"}
	for _, tc := range []struct {
		name   string
		mutate func(*Config)
		want   []string
	}{
		{"interval", func(c *Config) { c.Interval = 0 }, []string{"provider_status.interval: must be at least 1s"}},
		{"timeout", func(c *Config) { c.Timeout = -time.Second }, []string{"provider_status.timeout: must be > 0"}},
		{"body", func(c *Config) { c.MaxBodyBytes = 10 }, []string{"provider_status.max_body_bytes: must be at least 1024"}},
		{"format", func(c *Config) {
			bad := good
			bad.Provider, bad.Format = "q", "rss"
			c.Sources = []Source{good, bad}
		}, []string{`provider_status.sources[1].format: "rss": must be one of statuspage, incidentio, gcloud`}},
		{"url", func(c *Config) {
			bad := good
			bad.URL = "status.example.com"
			c.Sources = []Source{bad}
		}, []string{"provider_status.sources[0].url: \"status.example.com\": must be an absolute http or https URL"}},
		{"provider", func(c *Config) { c.Sources = []Source{good, good, {Format: FormatGoogle, URL: "https://x"}} }, []string{
			`provider_status.sources[1].provider: "p" is already sources[0]'s`,
			"provider_status.sources[2].provider: must not be empty",
		}},
		{"pattern", func(c *Config) {
			bad := good
			bad.Components = []Mapping{{Component: "[x"}, {Component: "ok", Models: []string{""}}}
			c.Sources = []Source{bad}
		}, []string{
			`provider_status.sources[0].components[0].component: "[x" is not a valid pattern`,
			`provider_status.sources[0].components[1].models[0]: "" is not a valid model name or pattern`,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := DefaultConfig()
			tc.mutate(&cfg)
			err := cfg.Validate()
			require.Error(t, err)
			require.Equal(t, strings.Join(tc.want, "\n"), err.Error())
		})
	}
}

// TestConfigYAML decodes the section as the daemon's file would give it (strictly).
func TestConfigYAML(t *testing.T) {
	t.Parallel()
	doc := `
enabled: true
interval: 2m
timeout: 5s
max_body_bytes: 1048576
sources:
  - provider: anthropic
    format: statuspage
    url: https://status.claude.com
    page: https://status.claude.com
    components:
      - component: "Claude API*"
      - component: "*Opus*"
        models: [claude-opus-*]
`
	cfg := DefaultConfig()
	require.NoError(t, strictyaml.Decode("watcher.yaml", []byte(doc), &cfg))
	require.NoError(t, cfg.Validate())
	require.Equal(t, 2*time.Minute, cfg.Interval)
	require.Equal(t, []string{"claude-opus-*"}, cfg.Sources[0].Components[1].Models)

	off := DefaultConfig()
	require.NoError(t, strictyaml.Decode("watcher.yaml", []byte("enabled: false\n"), &off))
	require.False(t, off.Enabled)
	require.Error(t, strictyaml.Decode("watcher.yaml", []byte("enabeld: false\n"), &off), "a typo is an error")
}
