package main

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
)

// provider is what the shapes need to know of an LLM provider: its names in each
// instrumentation's vocabulary, its endpoint, and how its SDK reports each failure.
type provider struct {
	// name is the normalised provider name (gen_ai.provider.name), the first half of the
	// daemon's series key.
	name string
	// system is the name LiteLLM writes (gen_ai.system); llmProvider OpenInference's
	// llm.provider.
	system, llmProvider string
	// scopes are the instrumentation scopes of the semconv, OpenLLMetry and OpenInference
	// instrumentations of the provider's SDK.
	genaiScope, openLLMetryScope, openInferenceScope string
	// host is the API host (server.address of the HTTP attempts).
	host string
	// userAgent is the SDK's User-Agent on the attempts.
	userAgent string
	// vercelID is the Vercel AI SDK's ai.model.provider.
	vercelID string
	// operation is gen_ai.operation.name; the semconv span is named "<operation> <model>".
	operation string
	// openLLMetryName and openInferenceName are those instrumentations' span names.
	openLLMetryName, openInferenceName string
	// litellmPrefix prefixes LiteLLM's error messages ("AnthropicException").
	litellmPrefix string
	// url is the attempt's url.full.
	url func(model string, stream bool) string
	// responseID draws gen_ai.response.id.
	responseID func(r *rand.Rand) string
	// native maps a finish to the provider's own stop reason (what OpenInference records).
	native [numFinishes]string
	// failures describes each failing attempt result.
	failures map[result]failure
}

// failure is how one kind of failed attempt looks to the SDK and the instrumentations.
type failure struct {
	// status is the attempt's HTTP status; 0 when no answer came (a timeout).
	status int
	// sdkType is the SDK's exception class (error.type, exception.type).
	sdkType string
	// sdkMessage renders str(exception), the span status description, given a request ID.
	sdkMessage func(requestID string) string
	// apiMessage is the provider's own message, which the Vercel AI SDK reports.
	apiMessage string
	// litellmType is LiteLLM's exception class.
	litellmType string
}

// providers are the providers a target may name, by normalised name.
var providers = map[string]*provider{
	"anthropic":  anthropic,
	"openai":     openai,
	"gcp.gemini": gemini,
}

func providerNames() []string {
	names := make([]string, 0, len(providers))
	for n := range providers {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

var anthropic = &provider{
	name:               "anthropic",
	system:             "anthropic",
	llmProvider:        "anthropic",
	host:               "api.anthropic.com",
	userAgent:          "Anthropic/JS 0.137.0",
	vercelID:           "anthropic.messages",
	operation:          "chat",
	genaiScope:         "opentelemetry.instrumentation.anthropic",
	openLLMetryScope:   "opentelemetry.instrumentation.anthropic",
	openInferenceScope: "openinference.instrumentation.anthropic",
	openLLMetryName:    "anthropic.chat",
	openInferenceName:  "Messages",
	litellmPrefix:      "AnthropicException",
	url:                func(string, bool) string { return "https://api.anthropic.com/v1/messages" },
	responseID:         func(r *rand.Rand) string { return "msg_01" + randomID(r, 22) },
	native:             [numFinishes]string{"end_turn", "tool_use", "max_tokens"},
	failures: map[result]failure{
		resultOverloaded: {
			status: 529, sdkType: "OverloadedError", apiMessage: "Overloaded", litellmType: "InternalServerError",
			sdkMessage: anthropicError(529, "overloaded_error", "Overloaded"),
		},
		resultRateLimited: {
			status: 429, sdkType: "RateLimitError", litellmType: "RateLimitError",
			apiMessage: "This request would exceed the rate limit for your organization of 2,000,000 input tokens per minute.",
			sdkMessage: anthropicError(429, "rate_limit_error", "This request would exceed the rate limit for your organization of 2,000,000 input tokens per minute."),
		},
		resultServerError: {
			status: 500, sdkType: "InternalServerError", apiMessage: "Internal server error", litellmType: "InternalServerError",
			sdkMessage: anthropicError(500, "api_error", "Internal server error"),
		},
		resultTimeout: timeoutFailure("APITimeoutError", "Request timed out."),
	},
}

var openai = &provider{
	name:               "openai",
	system:             "openai",
	llmProvider:        "openai",
	host:               "api.openai.com",
	userAgent:          "OpenAI/JS 6.49.0",
	vercelID:           "openai.chat",
	operation:          "chat",
	genaiScope:         "opentelemetry.instrumentation.openai_v2",
	openLLMetryScope:   "opentelemetry.instrumentation.openai",
	openInferenceScope: "openinference.instrumentation.openai",
	openLLMetryName:    "openai.chat",
	openInferenceName:  "ChatCompletion",
	litellmPrefix:      "OpenAIException",
	url:                func(string, bool) string { return "https://api.openai.com/v1/chat/completions" },
	responseID:         func(r *rand.Rand) string { return "chatcmpl-" + randomID(r, 29) },
	native:             [numFinishes]string{"stop", "tool_calls", "length"},
	failures: map[result]failure{
		resultOverloaded: {
			status: 503, sdkType: "InternalServerError", litellmType: "ServiceUnavailableError",
			apiMessage: "The engine is currently overloaded, please try again later.",
			sdkMessage: openaiError(503, "The engine is currently overloaded, please try again later.", "server_error", "None"),
		},
		resultRateLimited: {
			status: 429, sdkType: "RateLimitError", litellmType: "RateLimitError",
			apiMessage: "Rate limit reached for requests per min (RPM): Limit 10000. Please try again in 6ms.",
			sdkMessage: openaiError(429, "Rate limit reached for requests per min (RPM): Limit 10000. Please try again in 6ms.", "requests", "'rate_limit_exceeded'"),
		},
		resultServerError: {
			status: 500, sdkType: "InternalServerError", litellmType: "InternalServerError",
			apiMessage: "The server had an error while processing your request. Sorry about that!",
			sdkMessage: openaiError(500, "The server had an error while processing your request. Sorry about that!", "server_error", "None"),
		},
		resultTimeout: timeoutFailure("APITimeoutError", "Request timed out."),
	},
}

var gemini = &provider{
	name:               "gcp.gemini",
	system:             "gemini",
	llmProvider:        "google",
	host:               "generativelanguage.googleapis.com",
	userAgent:          "google-genai-sdk/1.30.0 gl-node/v22.19.0",
	vercelID:           "google.generative-ai",
	operation:          "generate_content",
	genaiScope:         "opentelemetry.instrumentation.google_genai",
	openLLMetryScope:   "opentelemetry.instrumentation.google_generativeai",
	openInferenceScope: "openinference.instrumentation.google_genai",
	openLLMetryName:    "gemini.generate_content",
	openInferenceName:  "GenerateContent",
	litellmPrefix:      "GeminiException",
	url: func(model string, stream bool) string {
		if stream {
			return "https://generativelanguage.googleapis.com/v1beta/models/" + model + ":streamGenerateContent?alt=sse"
		}
		return "https://generativelanguage.googleapis.com/v1beta/models/" + model + ":generateContent"
	},
	responseID: func(r *rand.Rand) string { return randomID(r, 22) },
	native:     [numFinishes]string{"STOP", "STOP", "MAX_TOKENS"},
	failures: map[result]failure{
		resultOverloaded: {
			status: 503, sdkType: "ServerError", litellmType: "ServiceUnavailableError",
			apiMessage: "The model is overloaded. Please try again later.",
			sdkMessage: geminiError(503, "UNAVAILABLE", "The model is overloaded. Please try again later."),
		},
		resultRateLimited: {
			status: 429, sdkType: "ClientError", litellmType: "RateLimitError",
			apiMessage: "Resource has been exhausted (e.g. check quota).",
			sdkMessage: geminiError(429, "RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota)."),
		},
		resultServerError: {
			status: 500, sdkType: "ServerError", litellmType: "InternalServerError",
			apiMessage: "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting",
			sdkMessage: geminiError(500, "INTERNAL", "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting"),
		},
		resultTimeout: timeoutFailure("ReadTimeout", "The read operation timed out"),
	},
}

// anthropicError renders the Python SDK's str(exception) of an API error.
func anthropicError(status int, typ, msg string) func(string) string {
	return func(id string) string {
		return fmt.Sprintf("Error code: %d - {'type': 'error', 'error': {'type': '%s', 'message': '%s'}, 'request_id': '%s'}",
			status, typ, msg, id)
	}
}

// openaiError renders the Python SDK's str(exception) of an API error.
func openaiError(status int, msg, typ, code string) func(string) string {
	return func(string) string {
		return fmt.Sprintf("Error code: %d - {'error': {'message': '%s', 'type': '%s', 'param': None, 'code': %s}}",
			status, msg, typ, code)
	}
}

// geminiError renders the google-genai SDK's str(exception) of an API error.
func geminiError(status int, code, msg string) func(string) string {
	return func(string) string {
		return fmt.Sprintf("%d %s. {'error': {'code': %d, 'message': '%s', 'status': '%s'}}", status, code, status, msg, code)
	}
}

func timeoutFailure(sdkType, msg string) failure {
	return failure{
		sdkType: sdkType, litellmType: "Timeout",
		apiMessage: "Cannot connect to API: Headers Timeout Error",
		sdkMessage: func(string) string { return msg },
	}
}

const idAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// randomID draws n characters of base62.
func randomID(r *rand.Rand, n int) string {
	var b strings.Builder
	b.Grow(n)
	for range n {
		b.WriteByte(idAlphabet[r.IntN(len(idAlphabet))])
	}
	return b.String()
}
