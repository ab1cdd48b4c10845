package strictyaml

import (
	"fmt"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// config is a small nested configuration shaped like the daemon's (its keys are the daemon's), so
// that the expected errors read as an operator would see them, without importing the daemon.
type config struct {
	Log    logConfig    `yaml:"log"`
	API    apiConfig    `yaml:"api"`
	Ingest ingestConfig `yaml:"ingest"`
}

type logConfig struct {
	Level  string `yaml:"level"`
	Format string `yaml:"format"`
}

type apiConfig struct {
	Addr            string        `yaml:"addr"`
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
}

type ingestConfig struct {
	GRPCAddr             string            `yaml:"grpc_addr"`
	HTTPAddr             string            `yaml:"http_addr"`
	MaxRequestBytes      int64             `yaml:"max_request_bytes"`
	QueueSize            int               `yaml:"queue_size"`
	AttemptWait          time.Duration     `yaml:"attempt_wait"`
	MaxProviders         int               `yaml:"max_providers"`
	MaxModelsPerProvider int               `yaml:"max_models_per_provider"`
	ProviderHosts        map[string]string `yaml:"provider_hosts"`
	FastPath             bool              `yaml:"fast_path"`
}

// defaultConfig has a value in every field that the tests decode over, so that a decode that
// wrongly zeroes one shows.
func defaultConfig() config {
	return config{
		Log:    logConfig{Level: "info", Format: "text"},
		API:    apiConfig{Addr: ":9317", ShutdownTimeout: 15 * time.Second},
		Ingest: ingestConfig{GRPCAddr: ":4317", QueueSize: 1024, AttemptWait: time.Second},
	}
}

func TestDecode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		yaml string
		want func(*config)
	}{
		{"empty", "", func(*config) {}},
		{"null", "null\n", func(*config) {}},
		{"null field keeps the default", "api:\n  addr: ~\n", func(*config) {}},
		{"durations", "api: {shutdown_timeout: 1m30s}\ningest: {attempt_wait: 250ms}\n", func(c *config) {
			c.API.ShutdownTimeout, c.Ingest.AttemptWait = 90*time.Second, 250*time.Millisecond
		}},
		{"quoted duration", `api: {shutdown_timeout: "2s"}`, func(c *config) { c.API.ShutdownTimeout = 2 * time.Second }},
		{"merge keeps explicit keys", "log: &l {level: debug, format: json}\napi: {addr: ':1'}\ningest:\n  <<: {queue_size: 1}\n  queue_size: 2\n",
			func(c *config) {
				c.Log = logConfig{Level: "debug", Format: "json"}
				c.API.Addr = ":1"
				c.Ingest.QueueSize = 2
			}},
		{"alias of a section", "log: &l {level: warn}\n", func(c *config) { c.Log.Level = "warn" }},
		{"map keys of any shape", "ingest:\n  provider_hosts: {\"gw:8080\": openai, 10.0.0.1: anthropic}\n", func(c *config) {
			c.Ingest.ProviderHosts = map[string]string{"gw:8080": "openai", "10.0.0.1": "anthropic"}
		}},
		{"merge of a list of mappings", "ingest:\n  <<: [{queue_size: 3}, {grpc_addr: ':5', queue_size: 4}]\n", func(c *config) {
			c.Ingest.QueueSize, c.Ingest.GRPCAddr = 3, ":5"
		}},
		{"hexadecimal integer", "ingest: {max_request_bytes: 0x10}\n", func(c *config) { c.Ingest.MaxRequestBytes = 16 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, want := defaultConfig(), defaultConfig()
			err := Decode("c.yaml", []byte(tt.yaml), &got)
			require.NoError(t, err)
			tt.want(&want)
			require.Equal(t, want, got)
		})
	}
}

func TestDecodeErrors(t *testing.T) {
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
		{"second document", "log: {}\n---\napi: {}\n", "c.yaml:2: want one YAML document, found another"},
		{"syntax", "log: [\n", "c.yaml: yaml:"},
		{"not a mapping", "- log\n- api\n", "c.yaml:1: want a mapping, got a list"},
		{"unknown key with a suggestion", "log:\n  formt: json\n", "c.yaml:2: log.formt: unknown field (did you mean format?)"},
		{"unknown key in another case", "Log: {}\n", "c.yaml:1: Log: unknown field (did you mean log?)"},
		{"unknown key, valid keys listed", "api: {level: debug}\n", "c.yaml:1: api.level: unknown field (valid: addr, shutdown_timeout)"},
		{"duplicate key", "log:\n  level: debug\n  level: info\n", `c.yaml:3: log: key "level" appears twice (first on line 2)`},
		{"complex key", "api:\n  ? [addr]\n  : x\n", "c.yaml:2: api: want a scalar key, got a list"},
		{"alias cycle", "log: &log\n  level: *log\n", "c.yaml:2: log.level: alias refers to a node that contains it"},
		{"merge cycle", "log: &log\n  <<: *log\n", "c.yaml:2: log: merge (<<) of a mapping that contains it"},
		{"float for an integer", "ingest: {queue_size: 1.5}\n", "c.yaml:1: ingest.queue_size: want an integer, got 1.5"},
		{"string for an integer", "ingest: {queue_size: many}\n", `c.yaml:1: ingest.queue_size: want an integer, got "many"`},
		{"integer for a duration", "api: {shutdown_timeout: 15}\n", "c.yaml:1: api.shutdown_timeout: want a duration such as 15s or 1m30s, got 15"},
		{"string for a bool", "ingest: {fast_path: maybe}\n", `c.yaml:1: ingest.fast_path: want true or false, got "maybe"`},
		{"list for a map", "ingest: {provider_hosts: [gw]}\n", "c.yaml:1: ingest.provider_hosts: want a mapping, got a list"},
		{"mapping for a map value", "ingest:\n  provider_hosts:\n    gw:\n      name: openai\n", `c.yaml:4: ingest.provider_hosts["gw"]: want a string, got a mapping`},
		{"scalar for a section", "log: debug\n", `c.yaml:1: log: want a mapping, got "debug"`},
		{"every problem reported", "log: {formt: json}\napi: {shutdown_timeout: 15}\n",
			"c.yaml:1: log.formt: unknown field (did you mean format?)\nc.yaml:2: api.shutdown_timeout: want a duration such as 15s or 1m30s, got 15"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := defaultConfig()
			err := Decode("c.yaml", []byte(tt.yaml), &cfg)
			if tt.want == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tt.want)
		})
	}
}

// TestDecodeTypes checks the walk against the kinds of field the daemon's config does not use.
func TestDecodeTypes(t *testing.T) {
	t.Parallel()
	type inner struct {
		N int `yaml:"n"`
	}
	type shapes struct {
		Unsigned uint           `yaml:"unsigned"`
		Ratio    float64        `yaml:"ratio"`
		List     []inner        `yaml:"list"`
		Pair     [2]string      `yaml:"pair"`
		ByNumber map[int]string `yaml:"by_number"`
		Ptr      *inner         `yaml:"ptr"`
		Any      any            `yaml:"any"`
		IP       netip.Addr     `yaml:"ip"`
	}
	tests := []struct {
		name, yaml, want string
	}{
		{"all good", "unsigned: 1\nratio: 0.5\nlist: [{n: 1}]\npair: [a, b]\nby_number: {1: a}\nptr: {n: 2}\nany: [x, {y: 1}]\nip: 10.0.0.1\n", ""},
		{"negative unsigned", "unsigned: -1\n", "c.yaml:1: unsigned: want a non-negative integer, got -1"},
		{"string for a number", "ratio: half\n", `c.yaml:1: ratio: want a number, got "half"`},
		{"unknown key in a list item", "list: [{n: 1}, {m: 2}]\n", "c.yaml:1: list[1].m: unknown field (did you mean n?)"},
		{"mapping for a list", "list: {n: 1}\n", "c.yaml:1: list: want a list, got a mapping"},
		{"array of the wrong length", "pair: [a, b, c]\n", "c.yaml: yaml:"},
		{"bad map key", "by_number: {one: a}\n", `c.yaml:1: by_number["one"]: want an integer, got "one"`},
		{"text unmarshaler refuses", "ip: nope\n", `c.yaml:1: ip: ParseAddr("nope")`},
		// The walk's scratch decode accepts a mapping into a struct leaf such as netip.Addr; the
		// strict decode then refuses it, without the path.
		{"mapping for a struct leaf", "ip: {a: 1}\n", "c.yaml: yaml: unmarshal errors:\n  line 1: field a not found in type netip.Addr"},
		{"unknown key behind a pointer", "ptr: {m: 1}\n", "c.yaml:1: ptr.m: unknown field (did you mean n?)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got shapes
			err := Decode("c.yaml", []byte(tt.yaml), &got)
			if tt.want == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tt.want)
		})
	}
}

func TestDecodeWantsPointerToStruct(t *testing.T) {
	t.Parallel()
	var n int
	var nilConfig *config
	cfg := defaultConfig()
	cfgPtr := &cfg
	tests := []struct {
		name string
		dst  any
		want string
	}{
		{"nil", nil, "strictyaml: decode into <nil>: want a non-nil pointer to a struct"},
		{"struct", cfg, "strictyaml: decode into strictyaml.config: want a non-nil pointer to a struct"},
		{"pointer to int", &n, "strictyaml: decode into *int: want a non-nil pointer to a struct"},
		{"nil pointer", nilConfig, "strictyaml: decode into *strictyaml.config: want a non-nil pointer to a struct"},
		{"pointer to pointer", &cfgPtr, "strictyaml: decode into **strictyaml.config: want a non-nil pointer to a struct"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// Even an empty document is refused: the mistake is the caller's, whatever the file.
			require.EqualError(t, Decode("c.yaml", nil, tt.dst), tt.want)
			require.EqualError(t, Decode("c.yaml", []byte("log: {}\n"), tt.dst), tt.want)
		})
	}
}

// TestDecodeAliasBomb checks that merges of merges of the same anchors, which expand
// exponentially, are checked in linear time.
func TestDecodeAliasBomb(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString("log:\n  <<: [&a0 {level: debug}]\n")
	for i := 1; i < 10; i++ {
		refs := strings.TrimSuffix(strings.Repeat(fmt.Sprintf("*a%d, ", i-1), 10), ", ")
		fmt.Fprintf(&b, "  <<: [&a%d {<<: [%s]}]\n", i, refs)
	}
	cfg := defaultConfig()
	done := make(chan error, 1)
	go func() { done <- Decode("c.yaml", []byte(b.String()), &cfg) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Decode did not finish")
	}
}

func TestDecodeTooComplex(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString("ingest:\n  provider_hosts:\n")
	for i := range maxCheckSteps + 10 {
		fmt.Fprintf(&b, "    h%d: p\n", i)
	}
	cfg := defaultConfig()
	err := Decode("c.yaml", []byte(b.String()), &cfg)
	require.ErrorContains(t, err, "document too complex")
	require.Equal(t, 1, strings.Count(err.Error(), "\n")+1, "reported once")
}

func TestYAMLFields(t *testing.T) {
	t.Parallel()
	type Embedded struct {
		A int `yaml:"a"`
	}
	type Pointed struct {
		B int `yaml:"b"`
	}
	type fields struct {
		Embedded `yaml:",inline"`
		*Pointed `yaml:",inline"`

		Tagged   string `yaml:"tagged,omitempty"`
		Untagged string
		Skipped  string `yaml:"-"`
		private  string //nolint:unused // yamlFields must skip it
	}
	var names []string
	for _, f := range yamlFields(reflect.TypeFor[fields]()) {
		names = append(names, f.name)
	}
	require.Equal(t, []string{"a", "b", "tagged", "untagged"}, names)
}

func TestYAMLFieldsHint(t *testing.T) {
	t.Parallel()
	fields := yamlFields(reflect.TypeFor[ingestConfig]())
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
