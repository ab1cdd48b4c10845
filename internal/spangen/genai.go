package spangen

import (
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// errorRate is the share of LLM calls that fail.
const errorRate = 0.02

// call is one LLM call drawn from the seed, before it is rendered in a
// convention.
type call struct {
	p           *provider
	m           model
	conv        convention
	stream      bool
	maxTokens   int
	temperature float64
	duration    time.Duration
	ttft        time.Duration // streams only

	// Success fields.
	responseID   string
	finish       string // "stop", "length" or "tool_call" (normalised)
	inputTokens  int
	outputTokens int
	cacheRead    int // Anthropic prompt caching; included in inputTokens

	// err is nil on success; errMsg is its rendered status description.
	err    *providerError
	errMsg string
}

// drawCall draws the provider, convention, parameters and outcome of a call.
func (g *generator) drawCall() call {
	r := g.rnd
	p := pickWeighted(r, providers)
	c := call{
		p:           p,
		m:           pick(r, p.models),
		conv:        pickWeighted(r, p.conventions),
		stream:      r.chance(0.5),
		maxTokens:   pick(r, []int{1024, 2048, 4096, 8192}),
		temperature: pick(r, []float64{0, 0.2, 0.7, 1}),
	}
	if r.chance(errorRate) {
		g.drawFailure(&c)
		return c
	}
	c.duration = r.duration(2200*time.Millisecond, 0.65, 500*time.Millisecond, 10*time.Second)
	if c.stream {
		c.ttft = time.Duration(float64(c.duration) * r.uniform(0.08, 0.35))
	}
	c.responseID = p.responseID(r)
	c.inputTokens = int(r.lognormal(1500, 1.0, 12, 180_000))
	c.outputTokens = int(r.lognormal(280, 0.8, 1, float64(c.maxTokens-1)))
	c.finish = pickWeighted(r, []weighted[string]{{93, "stop"}, {5, "length"}, {2, "tool_call"}})
	if c.finish == "length" {
		c.outputTokens = c.maxTokens
	}
	if p == &anthropic && r.chance(0.4) {
		c.cacheRead = int(float64(c.inputTokens) * r.uniform(0.5, 0.95))
	}
	return c
}

// drawFailure turns c into a failed call. Failures return sooner than
// successes; mid-stream failures happen only on streams, and OpenLLMetry
// exports failed calls only when not streaming (its streaming spans are
// never ended when a stream fails: docs/normalisation.md, "Outcome").
func (g *generator) drawFailure(c *call) {
	r := g.rnd
	for {
		e := pickWeighted(r, c.p.errors)
		if !e.streamOnly || c.stream {
			c.err = &e
			break
		}
	}
	if c.conv == conventionOpenLLMetry && !c.err.streamOnly {
		c.stream = false
	}
	c.errMsg = c.err.message(r, c.m)
	c.duration = r.duration(900*time.Millisecond, 0.6, 500*time.Millisecond, 10*time.Second)
	if c.err.streamOnly {
		c.ttft = time.Duration(float64(c.duration) * r.uniform(0.1, 0.5))
	}
}

// llmSpan renders one LLM call into s and returns its duration.
func (g *generator) llmSpan(s ptrace.Span) time.Duration {
	c := g.drawCall()
	switch c.conv {
	case conventionOpenLLMetry:
		g.openLLMetrySpan(s, &c)
	case conventionVercel:
		g.vercelSpan(s, &c)
	default:
		semconvSpan(s, &c)
	}
	return c.duration
}

// semconvSpan renders c as the current GenAI semantic conventions do.
func semconvSpan(s ptrace.Span, c *call) {
	s.SetName(c.p.operation + " " + c.m.request)
	s.SetKind(ptrace.SpanKindClient)
	a := s.Attributes()
	a.EnsureCapacity(16)
	a.PutStr("gen_ai.operation.name", c.p.operation)
	a.PutStr("gen_ai.provider.name", c.p.name)
	a.PutStr("gen_ai.request.model", c.m.request)
	a.PutInt("gen_ai.request.max_tokens", int64(c.maxTokens))
	a.PutDouble("gen_ai.request.temperature", c.temperature)
	a.PutStr("server.address", c.p.host)
	a.PutInt("server.port", 443)
	if c.stream {
		a.PutBool("gen_ai.request.stream", true)
		if c.ttft > 0 {
			a.PutDouble("gen_ai.response.time_to_first_chunk", c.ttft.Seconds())
		}
	}
	if c.err != nil {
		a.PutStr("error.type", c.err.errorType)
		s.Status().SetCode(ptrace.StatusCodeError)
		s.Status().SetMessage(c.errMsg)
		return
	}
	a.PutStr("gen_ai.output.type", "text")
	a.PutStr("gen_ai.response.model", c.m.response)
	a.PutStr("gen_ai.response.id", c.responseID)
	finish := c.finish
	if finish == "length" {
		finish = c.p.lengthReason
	}
	putStrings(a, "gen_ai.response.finish_reasons", finish)
	a.PutInt("gen_ai.usage.input_tokens", int64(c.inputTokens))
	a.PutInt("gen_ai.usage.output_tokens", int64(c.outputTokens))
	if c.cacheRead > 0 {
		a.PutInt("gen_ai.usage.cache_read.input_tokens", int64(c.cacheRead))
	}
}

// openLLMetrySpan renders c as OpenLLMetry ≥ 0.5 does.
func (g *generator) openLLMetrySpan(s ptrace.Span, c *call) {
	name := c.p.openLLMetryName
	if name == "" {
		name = c.p.operation + " " + c.m.request
	}
	s.SetName(name)
	s.SetKind(ptrace.SpanKindClient)
	a := s.Attributes()
	a.EnsureCapacity(16)
	a.PutStr("gen_ai.provider.name", c.p.name)
	a.PutStr("gen_ai.operation.name", c.p.operation)
	a.PutStr("gen_ai.request.model", c.m.request)
	a.PutInt("gen_ai.request.max_tokens", int64(c.maxTokens))
	a.PutDouble("gen_ai.request.temperature", c.temperature)
	a.PutBool("gen_ai.is_streaming", c.stream)
	if c.p == &openAI {
		a.PutStr("gen_ai.openai.api_base", "https://api.openai.com/v1/")
	}
	if c.err != nil {
		a.PutStr("error.type", c.err.errorType)
		s.Status().SetCode(ptrace.StatusCodeError)
		s.Status().SetMessage(c.errMsg)
		g.exceptionEvent(s, c, c.err.errorType, c.errMsg, pythonStack)
		return
	}
	s.Status().SetCode(ptrace.StatusCodeOk)
	a.PutStr("gen_ai.response.model", c.m.response)
	a.PutStr("gen_ai.response.id", c.responseID)
	putStrings(a, "gen_ai.response.finish_reasons", c.finish)
	if c.stream && c.p == &openAI {
		return // OpenAI streams carry no usage unless include_usage is set
	}
	a.PutInt("gen_ai.usage.input_tokens", int64(c.inputTokens))
	a.PutInt("gen_ai.usage.output_tokens", int64(c.outputTokens))
	a.PutInt("gen_ai.usage.total_tokens", int64(c.inputTokens+c.outputTokens))
	if c.p == &anthropic {
		a.PutInt("gen_ai.usage.cache_read.input_tokens", int64(c.cacheRead))
		a.PutInt("gen_ai.usage.cache_creation.input_tokens", 0)
	}
}

// vercelFinish maps normalised finish reasons to the Vercel unified values.
var vercelFinish = map[string]string{"stop": "stop", "length": "length", "tool_call": "tool-calls"}

// vercelSpan renders c as the Vercel AI SDK call span (doStream/doGenerate).
func (g *generator) vercelSpan(s ptrace.Span, c *call) {
	op := "ai.generateText.doGenerate"
	if c.stream {
		op = "ai.streamText.doStream"
	}
	fn := pick(g.rnd, []string{"chat-reply", "summarize-thread", "classify-ticket"})
	s.SetName(op)
	s.SetKind(ptrace.SpanKindInternal)
	a := s.Attributes()
	a.EnsureCapacity(18)
	a.PutStr("operation.name", op+" "+fn)
	a.PutStr("ai.operationId", op)
	a.PutStr("ai.telemetry.functionId", fn)
	a.PutStr("ai.model.provider", c.p.vercelProvider)
	a.PutStr("ai.model.id", c.m.request)
	a.PutInt("ai.settings.maxRetries", 2)
	a.PutStr("gen_ai.system", c.p.vercelProvider)
	a.PutStr("gen_ai.request.model", c.m.request)
	if c.ttft > 0 {
		ms := float64(c.ttft.Milliseconds())
		a.PutDouble("ai.response.msToFirstChunk", ms)
		ev := s.Events().AppendEmpty()
		ev.SetName("ai.stream.firstChunk")
		ev.SetTimestamp(pcommon.NewTimestampFromTime(g.now.Add(c.ttft)))
		ev.Attributes().PutDouble("ai.response.msToFirstChunk", ms)
	}
	if c.err != nil {
		s.Status().SetCode(ptrace.StatusCodeError)
		s.Status().SetMessage(c.err.vercelMessage)
		g.exceptionEvent(s, c, "AI_APICallError", c.err.vercelMessage, jsStack)
		return
	}
	finish := vercelFinish[c.finish]
	a.PutStr("ai.response.finishReason", finish)
	a.PutStr("ai.response.id", c.responseID)
	a.PutStr("ai.response.model", c.m.response)
	a.PutInt("ai.usage.inputTokens", int64(c.inputTokens))
	a.PutInt("ai.usage.outputTokens", int64(c.outputTokens))
	putStrings(a, "gen_ai.response.finish_reasons", finish)
	a.PutInt("gen_ai.usage.input_tokens", int64(c.inputTokens))
	a.PutInt("gen_ai.usage.output_tokens", int64(c.outputTokens))
}

const (
	pythonStack = "Traceback (most recent call last):\n  File \"/app/.venv/lib/python3.12/site-packages/opentelemetry/instrumentation/utils.py\", line 142, in wrapper\n    return wrapped(*args, **kwargs)\n  File \"/app/.venv/lib/python3.12/site-packages/httpx_client/_base_client.py\", line 1047, in request\n    raise self._make_status_error_from_response(err.response) from None\n"
	jsStack     = "AI_APICallError: provider call failed\n    at postToApi (/app/node_modules/@ai-sdk/provider-utils/dist/index.mjs:612:15)\n    at async doStream (/app/node_modules/ai/dist/index.mjs:4892:24)"
)

// exceptionEvent records the exception event that record_exception (Python)
// or recordException (JS) adds at the end of a failed span.
func (g *generator) exceptionEvent(s ptrace.Span, c *call, typ, msg, stack string) {
	ev := s.Events().AppendEmpty()
	ev.SetName("exception")
	ev.SetTimestamp(pcommon.NewTimestampFromTime(g.now.Add(c.duration)))
	ea := ev.Attributes()
	ea.EnsureCapacity(3)
	ea.PutStr("exception.type", typ)
	ea.PutStr("exception.message", msg)
	ea.PutStr("exception.stacktrace", stack)
}

// putStrings stores a string-array attribute.
func putStrings(a pcommon.Map, key string, vals ...string) {
	sl := a.PutEmptySlice(key)
	sl.EnsureCapacity(len(vals))
	for _, v := range vals {
		sl.AppendEmpty().SetStr(v)
	}
}
