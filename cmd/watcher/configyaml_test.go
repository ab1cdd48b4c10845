package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/outagewatch/outagewatch/internal/strictyaml"
)

// The decoder itself (error texts, aliases, merges, limits) is tested in internal/strictyaml;
// these tests check that the daemon's Config decodes as the README documents it.

func TestDecodeYAML(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		yaml string
		want func(*Config)
	}{
		{"empty", "", func(*Config) {}},
		{"null", "null\n", func(*Config) {}},
		{"null field keeps the default", "api:\n  addr: ~\n", func(*Config) {}},
		{"durations", "api: {shutdown_timeout: 1m30s}\ningest: {attempt_wait: 250ms}\n", func(c *Config) {
			c.API.ShutdownTimeout, c.Ingest.AttemptWait = 90*time.Second, 250*time.Millisecond
		}},
		{"quoted duration", `api: {shutdown_timeout: "2s"}`, func(c *Config) { c.API.ShutdownTimeout = 2 * time.Second }},
		{"merge keeps explicit keys", "log: &l {level: debug, format: json}\napi: {addr: ':1'}\ningest:\n  <<: {queue_size: 1}\n  queue_size: 2\n",
			func(c *Config) {
				c.Log = LogConfig{Level: "debug", Format: "json"}
				c.API.Addr = ":1"
				c.Ingest.QueueSize = 2
			}},
		{"alias of a section", "log: &l {level: warn}\n", func(c *Config) { c.Log.Level = "warn" }},
		{"map keys of any shape", "ingest:\n  provider_hosts: {\"gw:8080\": openai, 10.0.0.1: anthropic}\n", func(c *Config) {
			c.Ingest.ProviderHosts = map[string]string{"gw:8080": "openai", "10.0.0.1": "anthropic"}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, want := DefaultConfig(), DefaultConfig()
			require.NoError(t, strictyaml.Decode("c.yaml", []byte(tt.yaml), &got))
			tt.want(&want)
			require.Equal(t, want, got)
		})
	}
}

// TestDecodeYAMLIngestHints checks the suggestions for the real ingest section: its keys are the
// daemon's, so they are checked here (internal/strictyaml checks the same cases on a copy).
func TestDecodeYAMLIngestHints(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, want string }{
		{"grpc_adr", "c.yaml:2: ingest.grpc_adr: unknown field (did you mean grpc_addr?)"},
		{"GRPC_ADDR", "c.yaml:2: ingest.GRPC_ADDR: unknown field (did you mean grpc_addr?)"},
		{"queue", "c.yaml:2: ingest.queue: unknown field (valid: grpc_addr, http_addr, max_request_bytes, queue_size, attempt_wait, max_providers, max_models_per_provider, provider_hosts, fast_path, admission, grpc, tls, auth)"},
		{"max_provider", "c.yaml:2: ingest.max_provider: unknown field (did you mean max_providers?)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := DefaultConfig()
			err := strictyaml.Decode("c.yaml", []byte("ingest:\n  "+tt.name+": 1\n"), &cfg)
			require.EqualError(t, err, tt.want)
		})
	}
}
