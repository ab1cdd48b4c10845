package main

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/outagewatch/outagewatch/ingest"
)

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
			require.NoError(t, decodeYAML("c.yaml", []byte(tt.yaml), &got))
			tt.want(&want)
			require.Equal(t, want, got)
		})
	}
}

func TestDecodeYAMLErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, yaml, want string
	}{
		{"alias key", "log:\n  format: &k level\n  *k : debug\n", ""},
		{"alias of the wrong shape", "log: &l {level: debug}\napi: {addr: *l}\n", `c.yaml:2: api.addr: want a string, got a mapping`},
		{"anchor on an unknown key", "x: &x [1]\n", `c.yaml:1: x: unknown field`},
		{"merge of a scalar alias", "api: {addr: &x ':1', <<: *x}\n", `c.yaml:1: api: merge (<<) wants a mapping or a list of mappings, got ":1"`},
		{"tagged scalar", "api: {shutdown_timeout: !!int 5}\n", `c.yaml:1: api.shutdown_timeout: want a duration`},
		{"overflow", "ingest: {queue_size: 99999999999999999999}\n", `c.yaml:1: ingest.queue_size: want an integer, got 99999999999999999999`},
		{"long value is cut", "api: {shutdown_timeout: " + strings.Repeat("x", 100) + "}\n", `"` + strings.Repeat("x", 40) + `..."`},
		{"second document error", "log: {}\n---\n[\n", "c.yaml: yaml:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := DefaultConfig()
			err := decodeYAML("c.yaml", []byte(tt.yaml), &cfg)
			if tt.want == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tt.want)
		})
	}
}

// TestDecodeYAMLAliasBomb checks that merges of merges of the same anchors, which expand
// exponentially, are checked in linear time.
func TestDecodeYAMLAliasBomb(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString("log:\n  <<: [&a0 {level: debug}]\n")
	for i := 1; i < 10; i++ {
		refs := strings.TrimSuffix(strings.Repeat(fmt.Sprintf("*a%d, ", i-1), 10), ", ")
		fmt.Fprintf(&b, "  <<: [&a%d {<<: [%s]}]\n", i, refs)
	}
	cfg := DefaultConfig()
	done := make(chan error, 1)
	go func() { done <- decodeYAML("c.yaml", []byte(b.String()), &cfg) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("decodeYAML did not finish")
	}
}

func TestYAMLFieldsHint(t *testing.T) {
	t.Parallel()
	fields := yamlFields(reflect.TypeFor[ingest.Config]())
	tests := []struct{ name, want string }{
		{"grpc_adr", "did you mean grpc_addr?"},
		{"GRPC_ADDR", "did you mean grpc_addr?"},
		{"queue", "valid: grpc_addr, http_addr, max_request_bytes, queue_size, attempt_wait, max_providers, max_models_per_provider, provider_hosts, fast_path"},
		{"max_provider", "did you mean max_providers?"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, fields.hint(tt.name))
		})
	}
}

func TestEditDistance(t *testing.T) {
	t.Parallel()
	tests := []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"addr", "addr", 0},
		{"adr", "addr", 1},
		{"shutdown_timout", "shutdown_timeout", 1},
		{"levle", "level", 2},
		{"log", "ingest", 3},
		{"a", strings.Repeat("a", 1000), 3},
	}
	for _, tt := range tests {
		t.Run(tt.a+"/"+tt.b, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, editDistance(tt.a, tt.b, 3))
		})
	}
}

func TestDecodeYAMLTooComplex(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString("ingest:\n  provider_hosts:\n")
	for i := range maxCheckSteps + 10 {
		fmt.Fprintf(&b, "    h%d: p\n", i)
	}
	cfg := DefaultConfig()
	err := decodeYAML("c.yaml", []byte(b.String()), &cfg)
	require.ErrorContains(t, err, "document too complex")
	require.Equal(t, 1, strings.Count(err.Error(), "\n")+1, "reported once")
}
