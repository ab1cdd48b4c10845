package hosts

import "strings"

// llmEndpoints are the path endings of the LLM APIs (OpenAI and its compatibles, Anthropic,
// Gemini and Vertex, Bedrock, Cohere, Ollama), lowercased.
var llmEndpoints = [...]string{
	"/chat/completions", "/completions", "/responses", "/messages", "/embeddings",
	":generatecontent", ":streamgeneratecontent", ":embedcontent", ":predict", ":rawpredict", ":streamrawpredict",
	"/invoke", "/invoke-with-response-stream", "/converse", "/converse-stream",
	"/v1/chat", "/v2/chat", "/api/chat", "/api/generate", "/api/embed",
}

// IsLLMPath reports whether path (a URL path, no query) is an LLM API endpoint: only HTTP
// attempts to such paths are candidates for learned attribution, so that the calls an
// application makes to its other services never are.
func IsLLMPath(path string) bool {
	path = strings.TrimRight(path, "/")
	if len(path) > 512 {
		return false
	}
	for _, e := range llmEndpoints {
		if len(path) >= len(e) && strings.EqualFold(path[len(path)-len(e):], e) {
			return true
		}
	}
	return false
}

// maxRouteSegments bounds the segments of a route; longer paths keep their last ones.
const maxRouteSegments = 8

// Route returns the route of an LLM API path: the path with the segments that name a
// deployment, a model, a project, a location or an identifier blanked to "*" ("/openai/
// deployments/*/chat/completions", "/v1beta/models/*:generateContent"), so that the calls of
// one endpoint share a route whatever their model. A route tells a gateway's providers apart
// when it routes by path ("/openai/v1/chat/completions", "/anthropic/v1/messages").
func Route(path string) string {
	path = strings.Trim(path, "/")
	if path == "" {
		return "/"
	}
	segs := strings.FieldsFunc(path, func(r rune) bool { return r == '/' }) // "a//b" is a/b
	if len(segs) == 0 {
		return "/"
	}
	if len(segs) > maxRouteSegments {
		segs = segs[len(segs)-maxRouteSegments:]
	}
	for i, s := range segs {
		if i > 0 && namesResource(segs[i-1]) || looksLikeID(s) {
			action := ""
			if j := strings.LastIndexByte(s, ':'); j >= 0 {
				action = s[j:]
			}
			segs[i] = "*" + action
		}
	}
	return "/" + strings.Join(segs, "/")
}

// namesResource reports the segments after which a path names one resource of many.
func namesResource(seg string) bool {
	switch strings.ToLower(seg) {
	case "deployments", "models", "model", "engines", "projects", "locations", "endpoints", "inference-profiles", "accounts":
		return true
	}
	return false
}

// looksLikeID reports segments that are identifiers: long, with digits, of hex, digits and
// dashes only (an account or gateway ID).
func looksLikeID(seg string) bool {
	if len(seg) < 16 {
		return false
	}
	digits := false
	for i := 0; i < len(seg); i++ {
		c := seg[i]
		switch {
		case '0' <= c && c <= '9':
			digits = true
		case 'a' <= c && c <= 'f', 'A' <= c && c <= 'F', c == '-', c == '_':
		default:
			return false
		}
	}
	return digits
}
