package spangen

import "fmt"

// convention is the instrumentation style an LLM span is rendered in.
type convention int

const (
	// conventionSemconv is the current OTel GenAI semantic conventions
	// (opentelemetry-python-genai, Anthropic/OpenAI/Gemini/Bedrock):
	// "chat claude-sonnet-4-5", CLIENT, status unset on success.
	conventionSemconv convention = iota
	// conventionOpenLLMetry is OpenLLMetry ≥ 0.5: "openai.chat",
	// "anthropic.chat", CLIENT, status OK on success, gen_ai.is_streaming.
	conventionOpenLLMetry
	// conventionVercel is the Vercel AI SDK call span:
	// "ai.streamText.doStream" or "ai.generateText.doGenerate", INTERNAL.
	conventionVercel
)

// model is a requested model and the versioned name the provider returns.
type model struct {
	request  string
	response string
}

// provider describes one LLM provider as instrumentations report it.
type provider struct {
	name      string // gen_ai.provider.name
	host      string // server.address
	operation string // gen_ai.operation.name
	models    []model
	// conventions weighs the instrumentation styles seen for this provider.
	conventions []weighted[convention]
	// vercelProvider is ai.model.provider; empty when unused with Vercel.
	vercelProvider string
	// openLLMetryName is the OpenLLMetry span name; empty means
	// "{operation} {model}", as for Bedrock.
	openLLMetryName string
	// responseID draws a provider response ID.
	responseID func(*rng) string
	// lengthReason is the finish reason for max-token truncation as the
	// semconv instrumentation of this provider reports it.
	lengthReason string
	errors       []weighted[providerError]
}

// providerError is one way a call to a provider fails.
type providerError struct {
	// errorType is error.type and exception.type on Python spans.
	errorType string
	// message renders the span status description (str(exception)).
	message func(g *rng, m model) string
	// vercelMessage is the AI_APICallError message the Vercel SDK reports.
	vercelMessage string
	// streamOnly marks failures that only happen mid-stream.
	streamOnly bool
}

// providers weighs the providers in a batch.
var providers = []weighted[*provider]{
	{40, &anthropic},
	{35, &openAI},
	{15, &gemini},
	{10, &bedrock},
}

var anthropic = provider{
	name:      "anthropic",
	host:      "api.anthropic.com",
	operation: "chat",
	models: []model{
		{"claude-sonnet-4-5", "claude-sonnet-4-5-20250929"},
		{"claude-haiku-4-5", "claude-haiku-4-5-20251001"},
		{"claude-opus-4-1", "claude-opus-4-1-20250805"},
	},
	conventions:     []weighted[convention]{{50, conventionSemconv}, {30, conventionOpenLLMetry}, {20, conventionVercel}},
	vercelProvider:  "anthropic.messages",
	openLLMetryName: "anthropic.chat",
	responseID:      func(g *rng) string { return g.token("msg_01", 22) },
	lengthReason:    "length",
	errors: []weighted[providerError]{
		{60, providerError{
			errorType: "OverloadedError",
			message: func(g *rng, _ model) string {
				return fmt.Sprintf("Error code: 529 - {'type': 'error', 'error': {'type': 'overloaded_error', 'message': 'Overloaded'}, 'request_id': '%s'}", g.token("req_011C", 16))
			},
			vercelMessage: "Overloaded",
		}},
		{20, providerError{
			errorType: "RateLimitError",
			message: func(g *rng, _ model) string {
				return fmt.Sprintf("Error code: 429 - {'type': 'error', 'error': {'type': 'rate_limit_error', 'message': 'This request would exceed the rate limit for your organization of 400,000 input tokens per minute. For details, refer to: https://docs.claude.com/en/api/rate-limits.'}, 'request_id': '%s'}", g.token("req_011C", 16))
			},
			vercelMessage: "This request would exceed the rate limit for your organization of 400,000 input tokens per minute.",
		}},
		{10, providerError{
			errorType: "InternalServerError",
			message: func(g *rng, _ model) string {
				return fmt.Sprintf("Error code: 500 - {'type': 'error', 'error': {'type': 'api_error', 'message': 'Internal server error'}, 'request_id': '%s'}", g.token("req_011C", 16))
			},
			vercelMessage: "Internal server error",
		}},
		{10, providerError{
			// An overload inside an HTTP 200 stream: the SDK raises a bare
			// APIStatusError, which ingest reads as truncated (docs/normalisation.md,
			// "Outcome").
			errorType: "APIStatusError",
			message: func(*rng, model) string {
				return "{'type': 'error', 'error': {'details': None, 'type': 'overloaded_error', 'message': 'Overloaded'}}"
			},
			vercelMessage: "Overloaded",
			streamOnly:    true,
		}},
	},
}

var openAI = provider{
	name:      "openai",
	host:      "api.openai.com",
	operation: "chat",
	models: []model{
		{"gpt-4o", "gpt-4o-2024-08-06"},
		{"gpt-4o-mini", "gpt-4o-mini-2024-07-18"},
		{"gpt-4.1", "gpt-4.1-2025-04-14"},
	},
	conventions:     []weighted[convention]{{40, conventionSemconv}, {40, conventionOpenLLMetry}, {20, conventionVercel}},
	vercelProvider:  "openai.chat",
	openLLMetryName: "openai.chat",
	responseID:      func(g *rng) string { return g.token("chatcmpl-", 29) },
	lengthReason:    "length",
	errors: []weighted[providerError]{
		{70, providerError{
			errorType: "RateLimitError",
			message: func(g *rng, m model) string {
				return fmt.Sprintf("Error code: 429 - {'error': {'message': 'Rate limit reached for %s in organization %s on tokens per min (TPM): Limit 30000, Used 29548, Requested 1203. Please try again in 1.502s. Visit https://platform.openai.com/account/rate-limits to learn more.', 'type': 'tokens', 'param': None, 'code': 'rate_limit_exceeded'}}", m.request, g.token("org-", 24))
			},
			vercelMessage: "Rate limit reached for requests",
		}},
		{20, providerError{
			errorType: "InternalServerError",
			message: func(*rng, model) string {
				return "Error code: 503 - {'error': {'message': 'The server is overloaded or not ready yet.', 'type': 'server_error', 'param': None, 'code': None}}"
			},
			vercelMessage: "The server is overloaded or not ready yet.",
		}},
		{10, providerError{
			errorType:     "APITimeoutError",
			message:       func(*rng, model) string { return "Request timed out." },
			vercelMessage: "Cannot connect to API: The operation was aborted due to timeout",
		}},
	},
}

var gemini = provider{
	name:      "gcp.gemini",
	host:      "generativelanguage.googleapis.com",
	operation: "generate_content",
	models: []model{
		{"gemini-2.5-flash", "gemini-2.5-flash"},
		{"gemini-2.5-pro", "gemini-2.5-pro"},
	},
	conventions:    []weighted[convention]{{75, conventionSemconv}, {25, conventionVercel}},
	vercelProvider: "google.generative-ai",
	responseID:     func(g *rng) string { return g.token("", 22) },
	lengthReason:   "max_tokens", // OTel google-genai lowercases the native MAX_TOKENS
	errors: []weighted[providerError]{
		{60, providerError{
			errorType: "ServerError",
			message: func(*rng, model) string {
				return "503 UNAVAILABLE. {'error': {'code': 503, 'message': 'The model is overloaded. Please try again later.', 'status': 'UNAVAILABLE'}}"
			},
			vercelMessage: "The model is overloaded. Please try again later.",
		}},
		{40, providerError{
			errorType: "ClientError",
			message: func(*rng, model) string {
				return "429 RESOURCE_EXHAUSTED. {'error': {'code': 429, 'message': 'You exceeded your current quota, please check your plan and billing details.', 'status': 'RESOURCE_EXHAUSTED'}}"
			},
			vercelMessage: "You exceeded your current quota, please check your plan and billing details.",
		}},
	},
}

// bedrock is reported by OpenLLMetry ≥ 0.5 in semconv shape ("chat <model>"
// with the vendor prefix stripped), so it uses the semconv renderer only.
var bedrock = provider{
	name:      "aws.bedrock",
	host:      "bedrock-runtime.us-east-1.amazonaws.com",
	operation: "chat",
	models: []model{
		{"claude-3-5-sonnet-20240620-v1:0", "claude-3-5-sonnet-20240620-v1:0"},
		{"claude-3-7-sonnet-20250219-v1:0", "claude-3-7-sonnet-20250219-v1:0"},
	},
	conventions:  []weighted[convention]{{100, conventionSemconv}},
	responseID:   func(g *rng) string { return g.token("msg_bdrk_01", 22) },
	lengthReason: "length",
	errors: []weighted[providerError]{
		{80, providerError{
			errorType: "ThrottlingException",
			message: func(*rng, model) string {
				return "An error occurred (ThrottlingException) when calling the InvokeModel operation (reached max retries: 4): Too many requests, please wait before trying again."
			},
		}},
		{20, providerError{
			errorType: "ServiceUnavailableException",
			message: func(*rng, model) string {
				return "An error occurred (ServiceUnavailableException) when calling the InvokeModel operation: Bedrock is unable to process your request."
			},
		}},
	},
}
