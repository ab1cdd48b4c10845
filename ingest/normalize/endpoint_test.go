package normalize

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestURLEndpoint(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, url, want string }{
		{"plain", "https://api.openai.com/v1/chat/completions", "api.openai.com"},
		{"lower case", "https://EU.Api.Example.COM/v1/messages", "eu.api.example.com"},
		{"https default port dropped", "https://api.anthropic.com:443/v1/messages", "api.anthropic.com"},
		{"http default port dropped", "http://gateway.internal:80/v1/chat/completions", "gateway.internal"},
		{"scheme in upper case", "HTTPS://api.anthropic.com:443/v1/messages", "api.anthropic.com"},
		{"any port dropped", "http://127.0.0.1:8080/v1/chat/completions", "127.0.0.1"},
		{"ipv6 default port", "https://[2001:db8::1]:443/v1", "[2001:db8::1]"},
		{"ipv6 other port", "http://[::1]:4000/v1", "[::1]"},
		{"userinfo left out", "https://user:secret@api.openai.com/v1/responses", "api.openai.com"},
		{"query only", "https://api.openai.com?x=1", "api.openai.com"},
		{"authority url.Parse rejects", "https://api%2eopenai.com/v1", ""},
		{"no scheme", "api.openai.com/v1/chat/completions", ""},
		{"empty", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, urlEndpoint(tc.url))
		})
	}
}

func TestEndpointOfServerAddress(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, host, want string }{
		{"host", "eu.api.example.com", "eu.api.example.com"},
		{"lower case", "EU.api.example.com", "eu.api.example.com"},
		{"443 dropped", "api.openai.com:443", "api.openai.com"},
		{"80 dropped", "gateway:80", "gateway"},
		{"other port dropped: the LLM span names none", "127.0.0.1:8080", "127.0.0.1"},
		{"bare ipv6 not split", "2001:db8::443", "2001:db8::443"},
		{"not a port", "host:abc", "host:abc"},
		{"capped", strings.Repeat("a", 200), strings.Repeat("a", 128)},
		{"empty", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, endpoint(tc.host))
		})
	}
}

// TestEndpointAllocations: the endpoint of a lower-case URL or server.address costs nothing.
func TestEndpointAllocations(t *testing.T) {
	n := testing.AllocsPerRun(100, func() {
		_ = urlEndpoint("https://api.anthropic.com:443/v1/messages")
		_ = endpoint("eu.api.example.com")
	})
	require.Zero(t, n)
}
