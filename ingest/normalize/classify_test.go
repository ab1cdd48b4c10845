package normalize

import (
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/outagewatch/outagewatch/detectors"
)

func TestClassFromText(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		texts []string
		want  detectors.ErrorClass
	}{
		{"anthropic 529 with an old sdk", []string{"InternalServerError", "Error code: 529 - {'type': 'error', 'error': {'type': 'overloaded_error'}}"}, detectors.ClassOverloaded},
		{"overload inside a 200 stream", []string{"APIStatusError", "{'type': 'error', 'error': {'details': None, 'type': 'overloaded_error', 'message': 'Overloaded'}}"}, detectors.ClassOverloaded},
		{"openai rate limit", []string{"RateLimitError", "Error code: 429 - {'error': {'code': 'rate_limit_exceeded'}}"}, detectors.ClassRateLimited},
		{"bedrock throttling", []string{"ThrottlingException"}, detectors.ClassRateLimited},
		{"gemini quota", []string{"RESOURCE_EXHAUSTED"}, detectors.ClassRateLimited},
		{"client timeout", []string{"APITimeoutError", "Request timed out."}, detectors.ClassTimeout},
		{"litellm timeout", []string{"Timeout", "", "408"}, detectors.ClassTimeout},
		{"cut socket", []string{"UND_ERR_SOCKET", "other side closed"}, detectors.ClassNetwork},
		{"connection error", []string{"APIConnectionError", "Connection error."}, detectors.ClassNetwork},
		{"server error", []string{"InternalServerError", "Error code: 500 - api_error"}, detectors.ClassServerError},
		{"auth", []string{"AuthenticationError", "Error code: 401"}, detectors.ClassAuth},
		{"bad request", []string{"BadRequestError", "Error code: 400 - invalid_request_error"}, detectors.ClassClientError},
		{"gemini prompt blocked", []string{"BLOCKED_SAFETY"}, detectors.ClassClientError},
		{"cancelled", []string{"asyncio.exceptions.CancelledError"}, detectors.ClassCancelled},
		{"number inside an id is not a status", []string{"SomeError", "req_0529xyz"}, detectors.ClassOther},
		{"nothing", []string{"", ""}, detectors.ClassOther},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, classFromText(tt.texts...))
		})
	}
}

func TestClassFromStatus(t *testing.T) {
	t.Parallel()
	for status, want := range map[int]detectors.ErrorClass{
		200: detectors.ClassNone, 0: detectors.ClassNone, 429: detectors.ClassRateLimited,
		529: detectors.ClassOverloaded, 503: detectors.ClassOverloaded, 504: detectors.ClassTimeout,
		408: detectors.ClassTimeout, 401: detectors.ClassAuth, 403: detectors.ClassAuth,
		400: detectors.ClassClientError, 413: detectors.ClassClientError, 500: detectors.ClassServerError,
		502: detectors.ClassServerError,
	} {
		require.Equal(t, want, ClassFromStatus(status), "status %d", status)
	}
}

func TestStatusFromText(t *testing.T) {
	t.Parallel()
	require.Equal(t, 529, statusFromText("Error code: 529 - {'type': 'error'}"))
	require.Equal(t, 529, statusFromText(`529 {"type":"error","error":{"type":"overloaded_error"}}`))
	require.Equal(t, 429, statusFromText("429 Too Many Requests"))
	require.Equal(t, 0, statusFromText("5290 things"))
	require.Equal(t, 0, statusFromText("Overloaded"))
	require.Equal(t, 0, statusFromText("12"))
}

func TestNormalizeFinish(t *testing.T) {
	t.Parallel()
	for raw, want := range map[string]detectors.FinishReason{
		"":                          detectors.FinishNone,
		"stop":                      detectors.FinishStop,
		"end_turn":                  detectors.FinishStop,
		"STOP":                      detectors.FinishStop,
		"length":                    detectors.FinishLength,
		"max_tokens":                detectors.FinishLength,
		"MAX_TOKENS":                detectors.FinishLength,
		"tool_use":                  detectors.FinishTool,
		"tool-calls":                detectors.FinishTool,
		"SAFETY":                    detectors.FinishFiltered,
		"guardrail_intervened":      detectors.FinishFiltered,
		"pause_turn":                detectors.FinishPaused,
		"error":                     detectors.FinishAbnormal,
		"FINISH_REASON_UNSPECIFIED": detectors.FinishAbnormal,
		"something_new":             detectors.FinishOther,
	} {
		require.Equal(t, want, normalizeFinish(raw), "raw %q", raw)
	}
}

func TestNormalizeProvider(t *testing.T) {
	t.Parallel()
	for raw, want := range map[string]string{
		"anthropic": "anthropic", "Anthropic": "anthropic", "az.ai.openai": "azure.ai.openai",
		"Azure": "azure.ai.openai", "AWS": "aws.bedrock", "bedrock_converse": "aws.bedrock",
		"gemini": "gcp.gemini", "Google": "gcp.gemini", "google.generative-ai": "gcp.gemini",
		"vertex_ai": "gcp.vertex_ai", "google.vertex.chat": "gcp.vertex_ai", "openai.chat": "openai",
		"anthropic.messages": "anthropic", "MistralAI": "mistral_ai", "xai": "x_ai",
		"Langchain": "", "spring_ai": "", "": "", "cohere": "cohere", "deepseek": "deepseek",
	} {
		require.Equal(t, want, normalizeProvider(raw), "raw %q", raw)
	}
}

func TestHostIndex(t *testing.T) {
	t.Parallel()
	x := newHostIndex(map[string]string{"127.0.0.1:8081": "Anthropic", "llm-gateway.internal": "openai"})
	for host, want := range map[string]string{
		"api.anthropic.com":                       "anthropic",
		"api.anthropic.com:443":                   "anthropic",
		"API.OPENAI.COM":                          "openai",
		"us-central1-aiplatform.googleapis.com":   "gcp.vertex_ai",
		"bedrock-runtime.us-east-1.amazonaws.com": "aws.bedrock",
		"myres.openai.azure.com":                  "azure.ai.openai",
		"127.0.0.1:8081":                          "anthropic",
		"llm-gateway.internal:8443":               "openai",
		"example.com":                             "",
		"s3.amazonaws.com":                        "",
	} {
		require.Equal(t, want, x.provider(host), "host %q", host)
	}
}

func TestModelFromURL(t *testing.T) {
	t.Parallel()
	require.Equal(t, "gemini-2.5-flash", modelFromURL("https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"))
	require.Equal(t, "gemini-2.0-pro", modelFromURL("https://us-central1-aiplatform.googleapis.com/v1/projects/p/locations/us-central1/publishers/google/models/gemini-2.0-pro:generateContent"))
	require.Equal(t, "anthropic.claude-3-5-sonnet-20240620-v1:0", modelFromURL("https://bedrock-runtime.us-east-1.amazonaws.com/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/invoke"))
	require.Equal(t, "", modelFromURL("https://api.anthropic.com/v1/messages"))
	require.Equal(t, "", modelFromURL("::not a url"))
}

func TestAtoiAndAppendLowerMatchTheStandardLibrary(t *testing.T) {
	for _, s := range []string{"", "0", "404", "+404", "-1", "0529", "12a", "+", "-", " 404", "999999999999999999", "4O4"} {
		want, err := strconv.Atoi(s)
		got, ok := atoi(s)
		if err == nil {
			require.True(t, ok, s)
			require.Equal(t, want, got, s)
		} else if ok {
			require.True(t, got < 100 || got > 599, "%q parsed as %d, Atoi refuses it", s, got)
		}
	}
	for _, s := range []string{"", "Error Code: 529", "OVERLOADED_error", "Ünïcödé Overloaded", "\u212Aelvin"} {
		require.Equal(t, strings.ToLower(s), string(appendLower(nil, s)), s)
	}
}
