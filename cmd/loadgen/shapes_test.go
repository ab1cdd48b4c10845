package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// testCall builds a call of the given shape whose attempts end with results, in order.
func testCall(shape shapeName, p *provider, model string, stream bool, results ...result) *callPlan {
	start := time.Now().Add(-time.Minute)
	c := &callPlan{
		provider: p, model: model, respModel: model + "-20250929", shape: shape, stream: stream,
		start: start, input: 1200, output: 240, maxTokens: 4096, respID: "msg_01test", requestID: "req_011Ctest",
	}
	at := start.Add(time.Millisecond)
	for _, r := range results {
		a := attemptPlan{start: at, result: r, end: at.Add(200 * time.Millisecond)}
		if r == resultOK || r == resultTruncated {
			a.ttft, a.received, a.end = 400*time.Millisecond, 1, at.Add(3*time.Second)
		}
		c.attempts = append(c.attempts, a)
		at = a.end.Add(500 * time.Millisecond)
	}
	c.end = c.last().end.Add(time.Millisecond)
	return c
}

// captured is one emitted call's spans.
type captured struct {
	spans tracetest.SpanStubs
}

func capture(tb testing.TB, c *callPlan) captured {
	tb.Helper()
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	newEmitter(tp).emitNow(render(c))
	return captured{spans: exp.GetSpans()}
}

func (c captured) named(name string) []tracetest.SpanStub {
	var out []tracetest.SpanStub
	for _, s := range c.spans {
		if s.Name == name {
			out = append(out, s)
		}
	}
	return out
}

func (c captured) one(tb testing.TB, name string) tracetest.SpanStub {
	tb.Helper()
	s := c.named(name)
	require.Len(tb, s, 1, "spans named %q", name)
	return s[0]
}

// childrenOf returns the spans whose parent is s.
func (c captured) childrenOf(s tracetest.SpanStub) []tracetest.SpanStub {
	var out []tracetest.SpanStub
	for _, x := range c.spans {
		if x.Parent.SpanID() == s.SpanContext.SpanID() && x.SpanContext.TraceID() == s.SpanContext.TraceID() {
			out = append(out, x)
		}
	}
	return out
}

func attrs(s tracetest.SpanStub) map[attribute.Key]attribute.Value {
	m := map[attribute.Key]attribute.Value{}
	for _, kv := range s.Attributes {
		m[kv.Key] = kv.Value
	}
	return m
}

// requireAttrs checks that s carries every attribute of want, with its value.
func requireAttrs(tb testing.TB, s tracetest.SpanStub, want ...attribute.KeyValue) {
	tb.Helper()
	got := attrs(s)
	for _, kv := range want {
		v, ok := got[kv.Key]
		require.True(tb, ok, "%s: no attribute %s", s.Name, kv.Key)
		require.Equal(tb, kv.Value, v, "%s: attribute %s", s.Name, kv.Key)
	}
}

func requireNoAttrs(tb testing.TB, s tracetest.SpanStub, keys ...attribute.Key) {
	tb.Helper()
	got := attrs(s)
	for _, k := range keys {
		require.NotContains(tb, got, k, "%s", s.Name)
	}
}

// requireAttempts checks that llm has one POST child per result, each with the status the
// undici instrumentation gives it, in time order.
func requireAttempts(tb testing.TB, c captured, llm tracetest.SpanStub, host string, results ...result) {
	tb.Helper()
	posts := c.childrenOf(llm)
	require.Len(tb, posts, len(results))
	for i, p := range posts {
		require.Equal(tb, "POST", p.Name)
		require.Equal(tb, trace.SpanKindClient, p.SpanKind)
		requireAttrs(tb, p, attribute.String("http.request.method", "POST"), attribute.String("server.address", host))
		require.Contains(tb, attrs(p)["url.full"].AsString(), "https://"+host+"/")
		require.False(tb, p.StartTime.Before(llm.StartTime))
		require.False(tb, p.EndTime.After(llm.EndTime))
		if i > 0 {
			require.True(tb, p.StartTime.After(posts[i-1].EndTime), "retry %d starts after the attempt before", i)
		}
		switch results[i] {
		case resultOK:
			requireAttrs(tb, p, attribute.Int("http.response.status_code", 200))
			require.Equal(tb, codes.Unset, p.Status.Code)
		case resultTruncated:
			requireAttrs(tb, p, attribute.Int("http.response.status_code", 200), attribute.String("error.type", "UND_ERR_SOCKET"))
			require.Equal(tb, sdktrace.Status{Code: codes.Error, Description: "other side closed"}, p.Status)
		case resultTimeout:
			requireAttrs(tb, p, attribute.String("error.type", "UND_ERR_HEADERS_TIMEOUT"))
			requireNoAttrs(tb, p, "http.response.status_code")
			require.Equal(tb, codes.Error, p.Status.Code)
		default:
			status := int64(attrs(p)["http.response.status_code"].AsInt64())
			require.Contains(tb, []int64{429, 500, 503, 529}, status)
			requireAttrs(tb, p, attribute.String("error.type", attrs(p)["http.response.status_code"].Emit()))
			require.Equal(tb, codes.Error, p.Status.Code)
		}
	}
}

func TestGenAIShape(t *testing.T) {
	t.Parallel()
	t.Run("stream ok", func(t *testing.T) {
		t.Parallel()
		c := capture(t, testCall(shapeGenAI, anthropic, "claude-sonnet-4-5", true, resultOK))
		llm := c.one(t, "chat claude-sonnet-4-5")
		require.Equal(t, trace.SpanKindClient, llm.SpanKind)
		require.False(t, llm.Parent.IsValid(), "the LLM span is the root")
		require.Equal(t, "opentelemetry.instrumentation.anthropic", llm.InstrumentationScope.Name)
		requireAttrs(t, llm,
			attribute.String("gen_ai.operation.name", "chat"),
			attribute.String("gen_ai.provider.name", "anthropic"),
			attribute.String("gen_ai.request.model", "claude-sonnet-4-5"),
			attribute.String("gen_ai.response.model", "claude-sonnet-4-5-20250929"),
			attribute.StringSlice("gen_ai.response.finish_reasons", []string{"stop"}),
			attribute.Int64("gen_ai.usage.input_tokens", 1200),
			attribute.Int64("gen_ai.usage.output_tokens", 240),
			attribute.Bool("gen_ai.request.stream", true),
			attribute.String("server.address", "api.anthropic.com"))
		require.InDelta(t, 0.401, attrs(llm)["gen_ai.response.time_to_first_chunk"].AsFloat64(), 0.0001)
		require.Equal(t, codes.Unset, llm.Status.Code)
		requireAttempts(t, c, llm, "api.anthropic.com", resultOK)
	})
	t.Run("overloaded after retries", func(t *testing.T) {
		t.Parallel()
		c := capture(t, testCall(shapeGenAI, anthropic, "claude-sonnet-4-5", false, resultOverloaded, resultOverloaded, resultOverloaded))
		llm := c.one(t, "chat claude-sonnet-4-5")
		require.Equal(t, codes.Error, llm.Status.Code)
		require.Contains(t, llm.Status.Description, "Error code: 529 - {'type': 'error', 'error': {'type': 'overloaded_error'")
		requireAttrs(t, llm, attribute.String("error.type", "OverloadedError"), attribute.Bool("gen_ai.request.stream", false))
		requireNoAttrs(t, llm, "gen_ai.response.finish_reasons", "gen_ai.response.time_to_first_chunk", "http.response.status_code")
		requireAttempts(t, c, llm, "api.anthropic.com", resultOverloaded, resultOverloaded, resultOverloaded)
		requireAttrs(t, c.childrenOf(llm)[0], attribute.Int("http.response.status_code", 529), attribute.String("error.type", "529"))
	})
	t.Run("truncated stream", func(t *testing.T) {
		t.Parallel()
		c := capture(t, testCall(shapeGenAI, anthropic, "claude-sonnet-4-5", true, resultTruncated))
		llm := c.one(t, "chat claude-sonnet-4-5")
		requireAttrs(t, llm, attribute.Bool("gen_ai.request.stream", true))
		require.Positive(t, attrs(llm)["gen_ai.response.time_to_first_chunk"].AsFloat64())
		requireNoAttrs(t, llm, "gen_ai.response.finish_reasons")
		requireAttempts(t, c, llm, "api.anthropic.com", resultTruncated)
	})
	t.Run("gemini", func(t *testing.T) {
		t.Parallel()
		c := capture(t, testCall(shapeGenAI, gemini, "gemini-2.5-flash", false, resultRateLimited, resultOK))
		llm := c.one(t, "generate_content gemini-2.5-flash")
		requireAttrs(t, llm, attribute.String("gen_ai.provider.name", "gcp.gemini"), attribute.String("gen_ai.operation.name", "generate_content"))
		requireAttempts(t, c, llm, "generativelanguage.googleapis.com", resultRateLimited, resultOK)
		require.Contains(t, attrs(c.childrenOf(llm)[0])["url.full"].AsString(), "models/gemini-2.5-flash:generateContent")
	})
}

func TestOpenLLMetryShape(t *testing.T) {
	t.Parallel()
	t.Run("anthropic ok", func(t *testing.T) {
		t.Parallel()
		c := capture(t, testCall(shapeOpenLLMetry, anthropic, "claude-haiku-4-5", false, resultOK))
		llm := c.one(t, "anthropic.chat")
		require.Equal(t, trace.SpanKindClient, llm.SpanKind)
		require.Equal(t, codes.Ok, llm.Status.Code)
		requireAttrs(t, llm,
			attribute.String("gen_ai.provider.name", "anthropic"),
			attribute.String("gen_ai.request.model", "claude-haiku-4-5"),
			attribute.Bool("gen_ai.is_streaming", false),
			attribute.StringSlice("gen_ai.response.finish_reasons", []string{"stop"}))
		requireAttempts(t, c, llm, "api.anthropic.com", resultOK)
	})
	t.Run("openai rate limited", func(t *testing.T) {
		t.Parallel()
		c := capture(t, testCall(shapeOpenLLMetry, openai, "gpt-4o", true, resultRateLimited, resultRateLimited, resultRateLimited))
		llm := c.one(t, "openai.chat")
		requireAttrs(t, llm, attribute.String("error.type", "RateLimitError"), attribute.Bool("gen_ai.is_streaming", true))
		require.Contains(t, llm.Status.Description, "Error code: 429")
		require.Len(t, llm.Events, 1)
		require.Equal(t, "exception", llm.Events[0].Name)
		requireAttempts(t, c, llm, "api.openai.com", resultRateLimited, resultRateLimited, resultRateLimited)
	})
	t.Run("openai cut stream ends OK", func(t *testing.T) {
		t.Parallel()
		c := capture(t, testCall(shapeOpenLLMetry, openai, "gpt-4o", true, resultTruncated))
		llm := c.one(t, "openai.chat")
		require.Equal(t, codes.Ok, llm.Status.Code)
		requireNoAttrs(t, llm, "gen_ai.response.finish_reasons", "error.type")
		requireAttempts(t, c, llm, "api.openai.com", resultTruncated)
	})
}

func TestVercelShape(t *testing.T) {
	t.Parallel()
	t.Run("stream ok", func(t *testing.T) {
		t.Parallel()
		c := capture(t, testCall(shapeVercel, anthropic, "claude-sonnet-4-5", true, resultOK))
		root := c.one(t, "ai.streamText")
		require.False(t, root.Parent.IsValid())
		do := c.one(t, "ai.streamText.doStream")
		require.Equal(t, root.SpanContext.SpanID(), do.Parent.SpanID())
		for _, s := range []tracetest.SpanStub{root, do} {
			requireAttrs(t, s,
				attribute.String("ai.model.provider", "anthropic.messages"),
				attribute.String("ai.model.id", "claude-sonnet-4-5"),
				attribute.String("ai.response.finishReason", "stop"))
			require.Equal(t, codes.Unset, s.Status.Code)
		}
		require.InDelta(t, 400.5, attrs(do)["ai.response.msToFirstChunk"].AsFloat64(), 0.01)
		require.Equal(t, "ai.stream.firstChunk", do.Events[0].Name)
		requireAttempts(t, c, do, "api.anthropic.com", resultOK)
		require.Len(t, c.childrenOf(root), 1, "the root's only child is the doStream span")
	})
	t.Run("each retry is its own doGenerate", func(t *testing.T) {
		t.Parallel()
		c := capture(t, testCall(shapeVercel, openai, "gpt-4o", false, resultServerError, resultServerError, resultServerError))
		root := c.one(t, "ai.generateText")
		require.Equal(t, codes.Error, root.Status.Code)
		require.Contains(t, root.Status.Description, "Failed after 3 attempts. Last error: The server had an error")
		dos := c.childrenOf(root)
		require.Len(t, dos, 3)
		for _, do := range dos {
			require.Equal(t, "ai.generateText.doGenerate", do.Name)
			require.Equal(t, codes.Error, do.Status.Code)
			requireAttrs(t, do, attribute.String("ai.model.provider", "openai.chat"))
			requireNoAttrs(t, do, "http.response.status_code", "ai.response.finishReason")
			require.Equal(t, "AI_APICallError", attrs(tracetest.SpanStub{Attributes: do.Events[0].Attributes})["exception.type"].AsString())
			requireAttempts(t, c, do, "api.openai.com", resultServerError)
		}
	})
}

func TestOpenInferenceShape(t *testing.T) {
	t.Parallel()
	c := capture(t, testCall(shapeOpenInference, openai, "gpt-4o", true, resultOK))
	llm := c.one(t, "ChatCompletion")
	require.Equal(t, trace.SpanKindInternal, llm.SpanKind)
	require.Equal(t, codes.Ok, llm.Status.Code)
	requireAttrs(t, llm,
		attribute.String("openinference.span.kind", "LLM"),
		attribute.String("llm.provider", "openai"),
		attribute.String("llm.model_name", "gpt-4o"),
		attribute.String("llm.finish_reason", "stop"),
		attribute.Int64("llm.token_count.prompt", 1200),
		attribute.Int64("llm.token_count.completion", 240),
		attribute.Int64("llm.token_count.total", 1440))
	require.JSONEq(t, `{"model":"gpt-4o","max_tokens":4096,"stream":true}`, attrs(llm)["llm.invocation_parameters"].AsString())
	require.Equal(t, "First Token Stream Event", llm.Events[0].Name)
	require.Equal(t, 401*time.Millisecond, llm.Events[0].Time.Sub(llm.StartTime))
	requireAttempts(t, c, llm, "api.openai.com", resultOK)

	c = capture(t, testCall(shapeOpenInference, anthropic, "claude-sonnet-4-5", false, resultOverloaded, resultOverloaded, resultOverloaded))
	llm = c.one(t, "Messages")
	require.Equal(t, codes.Error, llm.Status.Code)
	require.Equal(t, "exception", llm.Events[0].Name)
	requireAttempts(t, c, llm, "api.anthropic.com", resultOverloaded, resultOverloaded, resultOverloaded)
}

func TestLiteLLMShape(t *testing.T) {
	t.Parallel()
	c := capture(t, testCall(shapeLiteLLM, gemini, "gemini-2.5-flash", false, resultOK))
	llm := c.one(t, "litellm_request")
	require.Equal(t, trace.SpanKindInternal, llm.SpanKind)
	requireAttrs(t, llm,
		attribute.String("gen_ai.system", "gemini"),
		attribute.String("gen_ai.request.model", "gemini-2.5-flash"),
		attribute.String("llm.is_streaming", "False"),
		attribute.String("gen_ai.response.finish_reasons", `["stop"]`))
	requireAttempts(t, c, llm, "generativelanguage.googleapis.com", resultOK)

	c = capture(t, testCall(shapeLiteLLM, anthropic, "claude-sonnet-4-5", true, resultTimeout, resultTimeout, resultTimeout))
	llm = c.one(t, "litellm_request")
	require.Equal(t, sdktrace.Status{Code: codes.Error}, llm.Status)
	requireAttrs(t, llm,
		attribute.String("llm.is_streaming", "True"),
		attribute.String("error.type", "Timeout"),
		attribute.String("error.code", "408"),
		attribute.String("error.llm_provider", "anthropic"))
	requireAttempts(t, c, llm, "api.anthropic.com", resultTimeout, resultTimeout, resultTimeout)
}
