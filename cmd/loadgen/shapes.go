package main

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// shapeName names an instrumentation whose spans a call is shaped as.
type shapeName string

// The shapes, as the scenario's shapes weights name them.
const (
	shapeGenAI         shapeName = "genai"         // current GenAI semantic conventions
	shapeOpenLLMetry   shapeName = "openllmetry"   // OpenLLMetry ≥ 0.5
	shapeVercel        shapeName = "vercel"        // Vercel AI SDK (experimental_telemetry)
	shapeOpenInference shapeName = "openinference" // Arize OpenInference
	shapeLiteLLM       shapeName = "litellm"       // LiteLLM's OpenTelemetry callback
)

// shapeNames lists the shapes in a fixed order.
var shapeNames = []shapeName{shapeGenAI, shapeOpenLLMetry, shapeVercel, shapeOpenInference, shapeLiteLLM}

func joinShapes() string {
	s := make([]string, len(shapeNames))
	for i, n := range shapeNames {
		s[i] = string(n)
	}
	return strings.Join(s, ", ")
}

// shapes render a call as its instrumentation would: the root span, with the HTTP attempts
// beneath.
var shapes = map[shapeName]func(c *callPlan) *spanSpec{
	shapeGenAI:         genaiShape,
	shapeOpenLLMetry:   openLLMetryShape,
	shapeVercel:        vercelShape,
	shapeOpenInference: openInferenceShape,
	shapeLiteLLM:       litellmShape,
}

// render returns the span tree of c.
func render(c *callPlan) *spanSpec { return shapes[c.shape](c) }

// The texts a cut stream raises: undici's fetch in Node, httpx in Python.
const (
	undiciCut = "terminated"
	httpxCut  = "peer closed connection without sending complete message body (incomplete chunked read)"
)

// Finish reasons in each vocabulary, indexed by finish.
var (
	semconvFinish = [numFinishes]string{"stop", "tool_call", "length"}
	vercelFinish  = [numFinishes]string{"stop", "tool-calls", "length"}
	openaiFinish  = [numFinishes]string{"stop", "tool_calls", "length"}
)

// genaiShape is the current GenAI semantic conventions (opentelemetry-python-genai): "chat
// <model>", CLIENT, status unset on success, error.type and the exception text on failure, no
// finish reason and an error on a cut stream.
func genaiShape(c *callPlan) *spanSpec {
	p := c.provider
	s := &spanSpec{
		scope: p.genaiScope, name: p.operation + " " + c.model, kind: trace.SpanKindClient,
		start: c.start, end: c.end, children: attemptSpans(c, p.userAgent),
		attrs: []attribute.KeyValue{
			attribute.String("gen_ai.operation.name", p.operation),
			attribute.String("gen_ai.provider.name", p.name),
			attribute.String("gen_ai.request.model", c.model),
			attribute.Int64("gen_ai.request.max_tokens", c.maxTokens),
			attribute.Bool("gen_ai.request.stream", c.stream),
			attribute.String("server.address", p.host),
		},
	}
	if ttft := c.firstChunk(); ttft > 0 {
		s.attrs = append(s.attrs, attribute.Float64("gen_ai.response.time_to_first_chunk", ttft.Seconds()))
	}
	switch {
	case c.failed():
		f := c.failure()
		s.status, s.message = codes.Error, f.sdkMessage(c.requestID)
		s.attrs = append(s.attrs, attribute.String("error.type", f.sdkType))
	case c.truncated():
		s.status, s.message = codes.Error, httpxCut
		s.attrs = append(s.attrs, responseAttrs(c)...)
		s.attrs = append(s.attrs, attribute.String("error.type", "RemoteProtocolError"),
			attribute.Int64("gen_ai.usage.input_tokens", c.input))
	default:
		s.attrs = append(s.attrs, responseAttrs(c)...)
		s.attrs = append(s.attrs, attribute.StringSlice("gen_ai.response.finish_reasons", []string{semconvFinish[c.finish]}))
		s.attrs = append(s.attrs, usageAttrs(c)...)
	}
	return s
}

// openLLMetryShape is OpenLLMetry ≥ 0.5: "anthropic.chat", "openai.chat", CLIENT, status OK on
// success, gen_ai.is_streaming. On failure, the exception is recorded as well; a cut OpenAI
// stream ends OK with nothing to show for it (the instrumentation's bug: only its attempt tells).
func openLLMetryShape(c *callPlan) *spanSpec {
	p := c.provider
	s := &spanSpec{
		scope: p.openLLMetryScope, name: p.openLLMetryName, kind: trace.SpanKindClient,
		start: c.start, end: c.end, children: attemptSpans(c, p.userAgent),
		attrs: []attribute.KeyValue{
			attribute.String("gen_ai.provider.name", p.name),
			attribute.String("gen_ai.operation.name", p.operation),
			attribute.String("gen_ai.request.model", c.model),
			attribute.Int64("gen_ai.request.max_tokens", c.maxTokens),
			attribute.Bool("gen_ai.is_streaming", c.stream),
		},
	}
	switch {
	case c.failed():
		f := c.failure()
		msg := f.sdkMessage(c.requestID)
		s.status, s.message = codes.Error, msg
		s.attrs = append(s.attrs, attribute.String("error.type", f.sdkType))
		s.events = []eventSpec{exceptionEvent(c.end, f.sdkType, msg)}
	case c.truncated() && p == openai:
		s.status = codes.Ok
	case c.truncated():
		s.status, s.message = codes.Error, undiciCut
		s.events = []eventSpec{exceptionEvent(c.end, "TypeError", undiciCut)}
	default:
		s.status = codes.Ok
		s.attrs = append(s.attrs, responseAttrs(c)...)
		s.attrs = append(s.attrs, attribute.StringSlice("gen_ai.response.finish_reasons", []string{semconvFinish[c.finish]}))
		s.attrs = append(s.attrs, usageAttrs(c)...)
		s.attrs = append(s.attrs, attribute.Int64("gen_ai.usage.total_tokens", c.input+c.output))
	}
	return s
}

// vercelShape is the Vercel AI SDK: "ai.streamText" (or "ai.generateText"), whose
// ".doStream" (".doGenerate") children are the provider calls, one per attempt, each with its
// own HTTP attempt: the AI SDK retries itself. None of its spans carries an HTTP status.
func vercelShape(c *callPlan) *spanSpec {
	op := "ai.generateText"
	if c.stream {
		op = "ai.streamText"
	}
	root := &spanSpec{
		scope: "ai", name: op, kind: trace.SpanKindInternal, start: c.start, end: c.end,
		attrs: append(vercelAttrs(c, op), attribute.Int("ai.settings.maxRetries", len(c.attempts)-1)),
	}
	for i := range c.attempts {
		root.children = append(root.children, vercelCall(c, op, &c.attempts[i]))
	}
	switch {
	case c.failed():
		msg := c.failure().apiMessage
		if len(c.attempts) > 1 {
			msg = fmt.Sprintf("Failed after %d attempts. Last error: %s", len(c.attempts), msg)
			root.events = []eventSpec{exceptionEvent(c.end, "AI_RetryError", msg)}
		} else {
			root.events = []eventSpec{exceptionEvent(c.end, "AI_APICallError", msg)}
		}
		root.status, root.message = codes.Error, msg
	case c.truncated():
		root.status, root.message = codes.Error, undiciCut
		root.events = []eventSpec{exceptionEvent(c.end, "TypeError", undiciCut)}
	default:
		root.attrs = append(root.attrs, attribute.String("ai.response.finishReason", vercelFinish[c.finish]),
			attribute.Int64("ai.usage.inputTokens", c.input), attribute.Int64("ai.usage.outputTokens", c.output))
	}
	return root
}

// vercelCall is one ".doStream"/".doGenerate" span of the Vercel AI SDK and its attempt.
func vercelCall(c *callPlan, op string, a *attemptPlan) *spanSpec {
	inner := op + ".doGenerate"
	if c.stream {
		inner = op + ".doStream"
	}
	start, end := a.start.Add(-500*time.Microsecond), a.end.Add(500*time.Microsecond)
	s := &spanSpec{
		scope: "ai", name: inner, kind: trace.SpanKindInternal, start: start, end: end,
		attrs: append(vercelAttrs(c, inner),
			attribute.String("gen_ai.system", c.provider.vercelID),
			attribute.String("gen_ai.request.model", c.model),
			attribute.Int64("gen_ai.request.max_tokens", c.maxTokens)),
		children: []*spanSpec{attemptSpan(c, a, "ai/6.0.326 "+c.provider.userAgent)},
	}
	if c.stream && a.ttft > 0 {
		first := start.Add(a.ttft + 500*time.Microsecond)
		s.attrs = append(s.attrs, attribute.Float64("ai.response.msToFirstChunk", msSince(start, first)))
		s.events = append(s.events, eventSpec{name: "ai.stream.firstChunk", at: first, attrs: []attribute.KeyValue{
			attribute.Float64("ai.response.msToFirstChunk", msSince(start, first)),
		}})
	}
	switch {
	case a.result == resultTruncated:
		s.status, s.message = codes.Error, undiciCut
		s.events = append(s.events, exceptionEvent(end, "TypeError", undiciCut))
	case a.result != resultOK:
		msg := c.provider.failures[a.result].apiMessage
		s.status, s.message = codes.Error, msg
		s.events = append(s.events, exceptionEvent(end, "AI_APICallError", msg))
	default:
		s.attrs = append(s.attrs,
			attribute.String("ai.response.finishReason", vercelFinish[c.finish]),
			attribute.String("ai.response.id", c.respID),
			attribute.String("ai.response.model", c.respModel),
			attribute.Float64("ai.response.msToFinish", msSince(start, end)),
			attribute.Int64("ai.usage.inputTokens", c.input),
			attribute.Int64("ai.usage.outputTokens", c.output),
			attribute.StringSlice("gen_ai.response.finish_reasons", []string{vercelFinish[c.finish]}),
			attribute.String("gen_ai.response.id", c.respID),
			attribute.String("gen_ai.response.model", c.respModel),
			attribute.Int64("gen_ai.usage.input_tokens", c.input),
			attribute.Int64("gen_ai.usage.output_tokens", c.output))
	}
	return s
}

func vercelAttrs(c *callPlan, op string) []attribute.KeyValue {
	return []attribute.KeyValue{
		attribute.String("operation.name", op),
		attribute.String("ai.operationId", op),
		attribute.String("ai.model.provider", c.provider.vercelID),
		attribute.String("ai.model.id", c.model),
	}
}

// openInferenceShape is Arize OpenInference: "ChatCompletion" (OpenAI), "Messages"
// (Anthropic), INTERNAL, openinference.span.kind=LLM, status OK on success, the provider's own
// stop reason, the first token as an event, and an exception event on failure.
func openInferenceShape(c *callPlan) *spanSpec {
	p := c.provider
	params, _ := json.Marshal(map[string]any{"model": c.model, "max_tokens": c.maxTokens, "stream": c.stream})
	s := &spanSpec{
		scope: p.openInferenceScope, name: p.openInferenceName, kind: trace.SpanKindInternal,
		start: c.start, end: c.end, children: attemptSpans(c, p.userAgent),
		attrs: []attribute.KeyValue{
			attribute.String("openinference.span.kind", "LLM"),
			attribute.String("llm.provider", p.llmProvider),
			attribute.String("llm.system", p.llmProvider),
			attribute.String("llm.model_name", c.model),
			attribute.String("llm.invocation_parameters", string(params)),
		},
	}
	if ttft := c.firstChunk(); ttft > 0 {
		s.events = append(s.events, eventSpec{name: "First Token Stream Event", at: c.start.Add(ttft)})
	}
	switch {
	case c.failed():
		f := c.failure()
		msg := f.sdkMessage(c.requestID)
		s.status, s.message = codes.Error, msg
		s.events = append(s.events, exceptionEvent(c.end, f.sdkType, msg))
	case c.truncated():
		s.status, s.message = codes.Error, httpxCut
		s.events = append(s.events, exceptionEvent(c.end, "RemoteProtocolError", httpxCut))
	default:
		s.status = codes.Ok
		s.attrs = append(s.attrs,
			attribute.String("llm.finish_reason", p.native[c.finish]),
			attribute.Int64("llm.token_count.prompt", c.input),
			attribute.Int64("llm.token_count.completion", c.output),
			attribute.Int64("llm.token_count.total", c.input+c.output))
	}
	return s
}

// litellmShape is LiteLLM's OpenTelemetry callback: "litellm_request", INTERNAL, gen_ai.system,
// llm.is_streaming as the strings "True"/"False", the finish reasons as a JSON string, and on
// failure error.type, error.message, error.code and error.llm_provider with no status text.
func litellmShape(c *callPlan) *spanSpec {
	p := c.provider
	s := &spanSpec{
		scope: "litellm", name: "litellm_request", kind: trace.SpanKindInternal,
		start: c.start, end: c.end, children: attemptSpans(c, "litellm/1.79.0 "+p.userAgent),
		attrs: []attribute.KeyValue{
			attribute.String("gen_ai.system", p.system),
			attribute.String("gen_ai.request.model", c.model),
			attribute.String("gen_ai.operation.name", "acompletion"),
			attribute.String("llm.request.type", "acompletion"),
			attribute.String("llm.is_streaming", pythonBool(c.stream)),
			attribute.Int64("gen_ai.request.max_tokens", c.maxTokens),
		},
	}
	switch {
	case c.failed():
		f := c.failure()
		code := strconv.Itoa(f.status)
		if f.status == 0 {
			code = "408"
		}
		s.status = codes.Error
		s.attrs = append(s.attrs,
			attribute.String("error.type", f.litellmType),
			attribute.String("error.message", fmt.Sprintf("litellm.%s: %s - %s", f.litellmType, p.litellmPrefix, f.apiMessage)),
			attribute.String("error.code", code),
			attribute.String("error.llm_provider", p.system))
	case c.truncated():
		s.status = codes.Error
		s.attrs = append(s.attrs,
			attribute.String("error.type", "APIConnectionError"),
			attribute.String("error.message", fmt.Sprintf("litellm.APIConnectionError: %s - %s", p.litellmPrefix, httpxCut)),
			attribute.String("error.llm_provider", p.system))
	default:
		reasons, _ := json.Marshal([]string{openaiFinish[c.finish]})
		s.status = codes.Ok
		s.attrs = append(s.attrs,
			attribute.String("gen_ai.response.model", c.respModel),
			attribute.String("gen_ai.response.id", c.respID),
			attribute.String("gen_ai.response.finish_reasons", string(reasons)),
			attribute.Int64("gen_ai.usage.prompt_tokens", c.input),
			attribute.Int64("gen_ai.usage.completion_tokens", c.output))
	}
	return s
}

// attemptSpans are the HTTP client spans of c's attempts, as the undici instrumentation makes
// them under the LLM span.
func attemptSpans(c *callPlan, userAgent string) []*spanSpec {
	out := make([]*spanSpec, len(c.attempts))
	for i := range c.attempts {
		out[i] = attemptSpan(c, &c.attempts[i], userAgent)
	}
	return out
}

// attemptSpan is one HTTP attempt: "POST", CLIENT, with the HTTP status, and error.type set to
// the status on an HTTP error, to undici's error code when the socket failed.
func attemptSpan(c *callPlan, a *attemptPlan, userAgent string) *spanSpec {
	p := c.provider
	s := &spanSpec{
		scope: "@opentelemetry/instrumentation-undici", name: "POST", kind: trace.SpanKindClient,
		start: a.start, end: a.end,
		attrs: []attribute.KeyValue{
			attribute.String("http.request.method", "POST"),
			attribute.String("url.full", p.url(c.model, c.stream)),
			attribute.String("server.address", p.host),
			attribute.Int("server.port", 443),
			attribute.String("user_agent.original", userAgent),
		},
	}
	switch a.result {
	case resultOK:
		s.attrs = append(s.attrs, attribute.Int("http.response.status_code", 200))
	case resultTruncated:
		s.status, s.message = codes.Error, "other side closed"
		s.attrs = append(s.attrs, attribute.Int("http.response.status_code", 200), attribute.String("error.type", "UND_ERR_SOCKET"))
	case resultTimeout:
		s.status, s.message = codes.Error, "Headers Timeout Error"
		s.attrs = append(s.attrs, attribute.String("error.type", "UND_ERR_HEADERS_TIMEOUT"))
	default:
		st := p.failures[a.result].status
		s.status = codes.Error
		s.attrs = append(s.attrs, attribute.Int("http.response.status_code", st), attribute.String("error.type", strconv.Itoa(st)))
	}
	return s
}

// failure describes the last attempt of a failed call.
func (c *callPlan) failure() failure { return c.provider.failures[c.last().result] }

// responseAttrs are what the response's first event tells: its ID and model.
func responseAttrs(c *callPlan) []attribute.KeyValue {
	return []attribute.KeyValue{
		attribute.String("gen_ai.response.model", c.respModel),
		attribute.String("gen_ai.response.id", c.respID),
	}
}

func usageAttrs(c *callPlan) []attribute.KeyValue {
	return []attribute.KeyValue{
		attribute.Int64("gen_ai.usage.input_tokens", c.input),
		attribute.Int64("gen_ai.usage.output_tokens", c.output),
	}
}

func msSince(from, to time.Time) float64 { return float64(to.Sub(from)) / float64(time.Millisecond) }

func pythonBool(b bool) string {
	if b {
		return "True"
	}
	return "False"
}
