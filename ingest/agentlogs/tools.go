package agentlogs

import (
	"strings"

	"github.com/outagewatch/outagewatch/detectors"
	"github.com/outagewatch/outagewatch/ingest/normalize"
)

// classify returns the error class of a failure: from its HTTP status when it has one (≥ 400),
// else from its texts; the Anthropic SDK's "Connection error." (what Claude Code reports when
// no response came) is a network error.
func classify(status int, texts ...string) detectors.ErrorClass {
	if status >= 400 {
		return normalize.ClassFromStatus(status)
	}
	c := normalize.ClassFromText(texts...)
	if c == detectors.ClassOther {
		for _, t := range texts {
			if strings.Contains(strings.ToLower(t), "connection error") {
				return detectors.ClassNetwork
			}
		}
	}
	return c
}

// claudeCode maps Claude Code's events. One api_request is one successful call (after any
// retries: attempt says how many attempts it took); one api_error is one failed call, emitted
// once its retries are exhausted, with attempt the attempts made. api_retries_exhausted follows
// every such api_error and stands for the same call: it is not counted again.
func (r *record) claudeCode(event string) (detectors.Call, bool) {
	a := r.attrs
	c := detectors.Call{
		Model: str(a, "model"), Operation: "chat", Streaming: true,
		Convention: ConventionClaudeCode, Source: detectors.SourceLLM,
		Duration:  millis(a, "duration_ms"),
		RequestID: requestID(ConventionClaudeCode, str(a, "request_id")),
	}
	c.Provider = claudeProvider(str(a, "anthropic.provider"), c.Model)
	switch event {
	case "api_request":
		c.InputTokens, c.OutputTokens = tokens(a, "input_tokens"), tokens(a, "output_tokens")
		c.TTFT = millis(a, "ttft_ms")
		if n := positive(a, "attempt"); n > 0 {
			// The failed attempts' class is not told: they are recorded, not counted as errors.
			c.Attempts, c.FailedAttempts = n, n-1
		}
		return c, true
	case "api_error":
		msg := str(a, "error")
		c.Outcome = detectors.OutcomeError
		c.HTTPStatus = status(a, "status_code", "http.response.status_code")
		if c.HTTPStatus == 0 {
			c.HTTPStatus = normalize.StatusFromText(msg)
		}
		c.ErrorClass = classify(c.HTTPStatus, str(a, "error.type"), msg)
		c.Attempts = max(positive(a, "attempt"), 1)
		c.FailedAttempts, c.AttemptClass = c.Attempts, c.ErrorClass
		c.ErrorMessage = errorMessage(msg)
		return c, true
	}
	return c, false
}

// claudeProvider says who served a Claude Code call: its anthropic.provider attribute
// ("firstParty", "bedrock", "vertex", "foundry") when it names one, else the model id: Bedrock's
// ids name the vendor ("us.anthropic.claude-sonnet-4-…-v1:0", "anthropic.claude-…", an ARN),
// Vertex's carry the version after an @ ("claude-sonnet-4@20250514"); any other is Anthropic's API.
func claudeProvider(attr, model string) string {
	switch strings.ToLower(attr) {
	case "firstparty", "anthropic":
		return "anthropic"
	case "bedrock":
		return "aws.bedrock"
	case "vertex":
		return "gcp.vertex_ai"
	case "foundry":
		return "azure.ai.inference"
	}
	m := strings.ToLower(model)
	switch {
	case strings.HasPrefix(m, "arn:aws:bedrock") || strings.Contains(m, "anthropic.claude"):
		return "aws.bedrock"
	case strings.Contains(m, "@"):
		return "gcp.vertex_ai"
	}
	return "anthropic"
}

// geminiCLI maps Gemini CLI's events. api_response is one successful call; api_error is one
// failed attempt (the CLI retries, logging each): a call of its own, whose errors the detectors
// cap per prompt (RequestID is the prompt_id's hash). api_request is the start of either: not
// counted.
func (r *record) geminiCLI(event string) (detectors.Call, bool) {
	a := r.attrs
	c := detectors.Call{
		Model: str(a, "model"), Operation: "generate_content", Streaming: true,
		Convention: ConventionGeminiCLI, Source: detectors.SourceLLM,
		Duration:  millis(a, "duration_ms"),
		RequestID: requestID(ConventionGeminiCLI, str(a, "session.id"), str(a, "prompt_id")),
		Provider:  "gcp.gemini",
	}
	if strings.Contains(strings.ToLower(str(a, "auth_type")), "vertex") {
		c.Provider = "gcp.vertex_ai"
	}
	if c.Duration == 0 {
		c.Duration = millis(a, "duration")
	}
	c.HTTPStatus = status(a, "status_code", "http.status_code", "http.response.status_code")
	switch event {
	case "api_response":
		c.InputTokens = tokens(a, "input_token_count")
		c.OutputTokens = tokens(a, "output_token_count")
		if c.HTTPStatus >= 400 {
			c.Outcome, c.ErrorClass = detectors.OutcomeError, normalize.ClassFromStatus(c.HTTPStatus)
		}
		return c, true
	case "api_error":
		msg := str(a, "error")
		if msg == "" {
			msg = str(a, "error.message")
		}
		if c.HTTPStatus == 0 {
			c.HTTPStatus = normalize.StatusFromText(msg)
		}
		errType := str(a, "error.type")
		if errType == "" {
			errType = str(a, "error_type")
		}
		c.Outcome = detectors.OutcomeError
		c.ErrorClass = classify(c.HTTPStatus, errType, msg)
		c.Source = detectors.SourceAttempt
		c.Attempts, c.FailedAttempts, c.AttemptClass = 1, 1, c.ErrorClass
		c.ErrorMessage = errorMessage(msg)
		return c, true
	}
	return c, false
}

// codex maps Codex's events. Each api_request is one HTTP attempt to the OpenAI Responses API:
// ok when it got a 2xx and no error, else an error. An sse_event with an error is a stream that
// failed after its 200: truncated ("stream disconnected before completion": network; the idle
// timeout: timeout; response.failed: the class of the provider's error).
func (r *record) codex(event string) (detectors.Call, bool) {
	a := r.attrs
	c := detectors.Call{
		Model: str(a, "model"), Operation: "chat", Streaming: true, Provider: "openai",
		Convention: ConventionCodex, Source: detectors.SourceAttempt,
		Duration: millis(a, "duration_ms"),
	}
	switch event {
	case "api_request":
		msg := str(a, "error.message")
		c.HTTPStatus = status(a, "http.response.status_code", "http.status_code", "status")
		if c.HTTPStatus == 0 {
			c.HTTPStatus = normalize.StatusFromText(msg)
		}
		c.Attempts = 1
		if c.HTTPStatus >= 200 && c.HTTPStatus < 300 && msg == "" {
			return c, true
		}
		c.Outcome = detectors.OutcomeError
		c.ErrorClass = classify(c.HTTPStatus, msg)
		c.FailedAttempts, c.AttemptClass = 1, c.ErrorClass
		c.ErrorMessage = errorMessage(msg)
		return c, true
	case "sse_event":
		msg := str(a, "error.message")
		if msg == "" {
			return c, false // a stream event that went well
		}
		kind := str(a, "event.kind")
		if kind == "response.failed" {
			msg = responseFailed(msg)
		}
		c.Outcome, c.HTTPStatus = detectors.OutcomeTruncated, 200
		low := strings.ToLower(msg)
		switch {
		case strings.Contains(low, "stream disconnected"):
			c.ErrorClass = detectors.ClassNetwork
		case strings.Contains(low, "idle timeout"):
			c.ErrorClass = detectors.ClassTimeout
		default:
			c.ErrorClass = normalize.ClassFromText(kind, msg)
		}
		c.ErrorMessage = errorMessage(msg)
		return c, true
	}
	return c, false
}
