package strictyaml

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// FuzzDecode decodes arbitrary documents into config: Decode must never panic, and must give
// exactly one of a value or an error. An error names the file; a value survives a round trip
// (marshalled and decoded again over the defaults, it marshals the same; compared as YAML since
// a nil map comes back empty).
func FuzzDecode(f *testing.F) {
	for _, seed := range []string{
		"",
		"null\n",
		"api:\n  addr: ~\n",
		"api: {shutdown_timeout: 1m30s}\ningest: {attempt_wait: 250ms}\n",
		`api: {shutdown_timeout: "2s"}`,
		"log: &l {level: debug, format: json}\napi: {addr: ':1'}\ningest:\n  <<: {queue_size: 1}\n  queue_size: 2\n",
		"log: &l {level: warn}\n",
		"ingest:\n  provider_hosts: {\"gw:8080\": openai, 10.0.0.1: anthropic}\n",
		"ingest:\n  <<: [{queue_size: 3}, {grpc_addr: ':5', queue_size: 4}]\n",
		"log:\n  format: &k level\n  *k : debug\n",
		"log: &l {level: debug}\napi: {addr: *l}\n",
		"x: &x [1]\n",
		"api: {addr: &x ':1', <<: *x}\n",
		"api: {shutdown_timeout: !!int 5}\n",
		"ingest: {queue_size: 99999999999999999999}\n",
		"log: {}\n---\n[\n",
		"log: {}\n---\napi: {}\n",
		"log:\n  level: debug\n  level: info\n",
		"api:\n  ? [addr]\n  : x\n",
		"log: &log\n  level: *log\n",
		"log: &log\n  <<: *log\n",
		"ingest: {queue_size: 1.5, fast_path: maybe, provider_hosts: [gw]}\n",
		"log:\n  <<: [&a0 {level: debug}]\n  <<: [&a1 {<<: [*a0, *a0]}]\n  <<: [&a2 {<<: [*a1, *a1]}]\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got := defaultConfig()
		err := Decode("f.yaml", data, &got)
		if err != nil {
			require.True(t, strings.HasPrefix(err.Error(), "f.yaml"), "error does not name the file: %v", err)
			return
		}
		out, err := yaml.Marshal(got)
		require.NoError(t, err)
		again := defaultConfig()
		require.NoError(t, Decode("f.yaml", out, &again), "re-decoding %q", out)
		outAgain, err := yaml.Marshal(again)
		require.NoError(t, err)
		require.Equal(t, string(out), string(outAgain))
	})
}
