package normalize

import "testing"

// FuzzProviderOfURL checks the shortcut of providerOfURL against url.Parse.
func FuzzProviderOfURL(f *testing.F) {
	for _, u := range []string{
		"https://api.openai.com/v1/chat/completions", "https://API.OpenAI.com:443/v1", "http://user@api.anthropic.com/x",
		"https://a@b@api.anthropic.com/", "https://api%2eopenai.com/", "//api.openai.com/v1", "api.openai.com/v1",
		"https://x.openai.azure.com/openai", "https://api.openai.com:abc/", "https://api.openai.com#frag", "https://[::1]:80/",
		"https://bedrock-runtime.us-east-1.amazonaws.com/model/x/invoke", "HTTPS://api.openai.com?x=1", "1http://api.openai.com/",
		"https://api.openai.com /v1", "https://api.openai.com\x7f/", "https://example.com/v1",
	} {
		f.Add(u)
	}
	x := newHostIndex(map[string]string{"llm.internal:8080": "openai"})
	f.Fuzz(func(t *testing.T, u string) {
		if got, want := x.providerOfURL(u), x.provider(hostOf(u)); got != want {
			t.Fatalf("providerOfURL(%q) = %q, url.Parse gives %q", u, got, want)
		}
	})
}
