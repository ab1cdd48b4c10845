package normalize

import (
	"net"
	"net/url"
	"strings"
)

// providerAliases maps the lowercased provider and system names that instrumentations use to the
// names of the current GenAI semantic conventions.
var providerAliases = map[string]string{
	"anthropic":            "anthropic",
	"openai":               "openai",
	"azure":                "azure.ai.openai",
	"az.ai.openai":         "azure.ai.openai",
	"azure-openai":         "azure.ai.openai",
	"azure_openai":         "azure.ai.openai",
	"azure.ai.openai":      "azure.ai.openai",
	"az.ai.inference":      "azure.ai.inference",
	"azure.ai.inference":   "azure.ai.inference",
	"aws":                  "aws.bedrock",
	"bedrock":              "aws.bedrock",
	"bedrock_converse":     "aws.bedrock",
	"amazon-bedrock":       "aws.bedrock",
	"amazon_bedrock":       "aws.bedrock",
	"aws.bedrock":          "aws.bedrock",
	"google":               "gcp.gemini",
	"gemini":               "gcp.gemini",
	"google_genai":         "gcp.gemini",
	"google.generative-ai": "gcp.gemini",
	"gcp.gemini":           "gcp.gemini",
	"vertex_ai":            "gcp.vertex_ai",
	"vertexai":             "gcp.vertex_ai",
	"google.vertex":        "gcp.vertex_ai",
	"gcp.vertex_ai":        "gcp.vertex_ai",
	"gcp.gen_ai":           "gcp.gen_ai",
	"mistralai":            "mistral_ai",
	"mistral":              "mistral_ai",
	"mistral_ai":           "mistral_ai",
	"xai":                  "x_ai",
	"x_ai":                 "x_ai",
	"watsonx":              "ibm.watsonx.ai",
	"ibm.watson.ai":        "ibm.watsonx.ai",
	"ibm.watsonx.ai":       "ibm.watsonx.ai",
	"huggingface":          "hugging_face",
	"hugging_face":         "hugging_face",
	"togetherai":           "together_ai",
	"together_ai":          "together_ai",
}

// frameworks are names that instrumentations put where the provider belongs, but that name a
// framework: they say nothing about which provider served the call.
var frameworks = map[string]bool{
	"langchain": true, "spring_ai": true, "litellm": true, "llamaindex": true, "llama_index": true,
	"crewai": true, "haystack": true, "dspy": true,
}

// normalizeProvider returns the canonical provider name, or "" when raw names a framework or
// is empty. Unknown names are lowercased and kept.
func normalizeProvider(raw string) string {
	if raw == "" {
		return ""
	}
	p := strings.ToLower(strings.TrimSpace(raw))
	if frameworks[p] {
		return ""
	}
	if canon, ok := providerAliases[p]; ok {
		return canon
	}
	// Vercel AI SDK provider ids: "openai.chat", "anthropic.messages", "google.vertex.chat".
	if i := strings.LastIndexByte(p, '.'); i > 0 {
		if canon, ok := providerAliases[p[:i]]; ok {
			return canon
		}
	}
	if head, _, ok := strings.Cut(p, "."); ok {
		switch head {
		case "gcp", "aws", "azure", "ibm":
		default:
			if canon, ok := providerAliases[head]; ok {
				return canon
			}
		}
	}
	if len(p) > 64 {
		p = p[:64]
	}
	return p
}

// hostProviders maps provider API hosts to providers; suffixes match a host's end.
var hostProviders = map[string]string{
	"api.anthropic.com":                 "anthropic",
	"api.openai.com":                    "openai",
	"generativelanguage.googleapis.com": "gcp.gemini",
	"api.mistral.ai":                    "mistral_ai",
	"api.cohere.com":                    "cohere",
	"api.cohere.ai":                     "cohere",
	"api.groq.com":                      "groq",
	"api.deepseek.com":                  "deepseek",
	"api.x.ai":                          "x_ai",
	"api.perplexity.ai":                 "perplexity",
	"openrouter.ai":                     "openrouter",
	"api.together.xyz":                  "together_ai",
	"api.fireworks.ai":                  "fireworks",
}

var hostSuffixProviders = []struct{ suffix, provider string }{
	{"aiplatform.googleapis.com", "gcp.vertex_ai"},
	{".openai.azure.com", "azure.ai.openai"},
	{".services.ai.azure.com", "azure.ai.inference"},
}

// hostIndex answers which provider an HTTP attempt went to.
type hostIndex struct {
	extra map[string]string // from configuration: host or host:port → provider
}

func newHostIndex(extra map[string]string) hostIndex {
	m := make(map[string]string, len(extra))
	for h, p := range extra {
		m[strings.ToLower(h)] = normalizeProvider(p)
	}
	return hostIndex{extra: m}
}

// provider returns the provider of host (a host name, or host:port), or "".
func (x hostIndex) provider(host string) string {
	if host == "" {
		return ""
	}
	host = strings.ToLower(host)
	if p, ok := x.extra[host]; ok {
		return p
	}
	name := host
	if !strings.Contains(host, ":") {
		// No port: SplitHostPort would fail (and allocate its error).
	} else if h, _, err := net.SplitHostPort(host); err == nil {
		name = h
		if p, ok := x.extra[name]; ok {
			return p
		}
	}
	if p, ok := hostProviders[name]; ok {
		return p
	}
	if strings.HasPrefix(name, "bedrock-runtime.") && strings.HasSuffix(name, ".amazonaws.com") {
		return "aws.bedrock"
	}
	for _, hs := range hostSuffixProviders {
		if strings.HasSuffix(name, hs.suffix) {
			return hs.provider
		}
	}
	return ""
}

// providerOfURL is x.provider(hostOf(rawURL)), without parsing the URLs of hosts that cannot
// be a provider's.
func (x hostIndex) providerOfURL(rawURL string) string {
	if host, plain := plainURLHost(rawURL); plain && x.provider(host) == "" {
		return ""
	}
	return x.provider(hostOf(rawURL))
}

// plainURLHost returns the authority of a URL of the form scheme://[userinfo@]host[:port]/...,
// after any userinfo, and whether the URL has that form with nothing in its authority that
// url.Parse would rewrite. For such URLs it is the Host url.Parse gives, or url.Parse fails.
func plainURLHost(rawURL string) (string, bool) {
	i := strings.Index(rawURL, "://")
	if i <= 0 {
		return "", false
	}
	for j := 0; j < i; j++ {
		c := rawURL[j]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || j > 0 && ('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.')) {
			return "", false
		}
	}
	auth := rawURL[i+3:]
	if j := strings.IndexAny(auth, "/?#"); j >= 0 {
		auth = auth[:j]
	}
	if j := strings.LastIndexByte(auth, '@'); j >= 0 {
		auth = auth[j+1:]
	}
	if strings.IndexByte(auth, '%') >= 0 {
		return "", false
	}
	return auth, true
}

// hostOf returns the host[:port] of a URL, or "".
func hostOf(rawURL string) string {
	if rawURL == "" {
		return ""
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return ""
	}
	return u.Host
}

// modelFromURL reads the model out of the URL paths that carry it: Gemini and Vertex
// (".../models/gemini-2.5-flash:generateContent") and Bedrock ("/model/<id>/invoke").
func modelFromURL(rawURL string) string {
	if rawURL == "" {
		return ""
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return ""
	}
	path := u.Path
	if i := strings.Index(path, "/models/"); i >= 0 {
		m := path[i+len("/models/"):]
		if j := strings.IndexAny(m, ":/"); j >= 0 {
			m = m[:j]
		}
		return m
	}
	if i := strings.Index(path, "/model/"); i >= 0 {
		m := path[i+len("/model/"):]
		if j := strings.IndexByte(m, '/'); j >= 0 {
			m = m[:j]
		}
		if un, err := url.PathUnescape(m); err == nil {
			m = un
		}
		return m
	}
	return ""
}
