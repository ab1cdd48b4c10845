package ingest

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/outagewatch/outagewatch/detectors"
	"github.com/outagewatch/outagewatch/ingest/assemble"
	"github.com/outagewatch/outagewatch/ingest/hosts"
)

// gatewayTraffic builds requests of calls through endpoints that are no known provider's.
type gatewayTraffic struct {
	td  ptrace.Traces
	ss  ptrace.SpanSlice
	rnd *rand.Rand // IDs are random, as W3C trace context's are
	now time.Time
}

func newGatewayTraffic() *gatewayTraffic {
	g := &gatewayTraffic{now: time.Unix(1_782_000_000, 0), rnd: rand.New(rand.NewPCG(1, 2))}
	g.reset()
	return g
}

func (g *gatewayTraffic) reset() {
	g.td = ptrace.NewTraces()
	rs := g.td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "checkout")
	g.ss = rs.ScopeSpans().AppendEmpty().Spans()
}

func (g *gatewayTraffic) ids() (pcommon.TraceID, pcommon.SpanID) {
	var tid pcommon.TraceID
	var sid pcommon.SpanID
	binary.LittleEndian.PutUint64(tid[:8], g.rnd.Uint64())
	binary.LittleEndian.PutUint64(tid[8:], g.rnd.Uint64())
	binary.LittleEndian.PutUint64(sid[:], g.rnd.Uint64())
	return tid, sid
}

// call adds an LLM call of provider through url; withLLM false leaves its LLM span out, as
// the OpenAI instrumentations do when the HTTP call fails.
func (g *gatewayTraffic) call(provider, model, url string, status int, withLLM bool) {
	tid, llmID := g.ids()
	_, httpID := g.ids()
	start := pcommon.NewTimestampFromTime(g.now)
	end := pcommon.NewTimestampFromTime(g.now.Add(800 * time.Millisecond))
	h := g.ss.AppendEmpty()
	h.SetTraceID(tid)
	h.SetSpanID(httpID)
	h.SetParentSpanID(llmID)
	h.SetName("POST")
	h.SetKind(ptrace.SpanKindClient)
	h.SetStartTimestamp(start)
	h.SetEndTimestamp(end)
	h.Attributes().PutStr("http.request.method", "POST")
	h.Attributes().PutStr("url.full", url)
	h.Attributes().PutInt("http.response.status_code", int64(status))
	if status >= 400 {
		h.Status().SetCode(ptrace.StatusCodeError)
	}
	if withLLM {
		l := g.ss.AppendEmpty()
		l.SetTraceID(tid)
		l.SetSpanID(llmID)
		l.SetName("chat " + model)
		l.SetKind(ptrace.SpanKindClient)
		l.SetStartTimestamp(start)
		l.SetEndTimestamp(end)
		l.Attributes().PutStr("gen_ai.operation.name", "chat")
		l.Attributes().PutStr("gen_ai.provider.name", provider)
		l.Attributes().PutStr("gen_ai.request.model", model)
		l.Attributes().PutStr("gen_ai.response.finish_reasons", "stop")
	}
	g.now = g.now.Add(time.Second)
}

// flush decodes and assembles what was added, then ends every wait: the calls made.
func (g *gatewayTraffic) flush(a *assemble.Assembler) []detectors.Call {
	recs := newDecoder().DecodeTraces(g.td).Records
	out := a.Add(g.now, recs, nil)
	out = a.Tick(g.now.Add(time.Hour), out)
	g.reset()
	return out
}

// count tallies calls by provider and outcome.
func count(calls []detectors.Call) map[[2]string]int {
	m := map[[2]string]int{}
	for _, c := range calls {
		m[[2]string{c.Provider, c.Outcome.String()}]++
	}
	return m
}

func TestAttemptsToAnUnknownHostAreAttributedFromWhatWasLearned(t *testing.T) {
	learned := hosts.New()
	a := assemble.New(assembleConfig(DefaultConfig(), learned))
	g := newGatewayTraffic()

	// Failures before anything is learned are not counted: no provider is known for the host.
	for range 5 {
		g.call("openai", "gpt-4o", "http://llm-proxy.corp:8080/v1/chat/completions", 503, false)
	}
	require.Empty(t, g.flush(a))
	require.Equal(t, uint64(5), a.Stats().Unattributed)

	// Good calls of both providers through the same host, on their own routes.
	for range 10 {
		g.call("openai", "gpt-4o", "http://llm-proxy.corp:8080/v1/chat/completions", 200, true)
		g.call("anthropic", "claude-sonnet-4-5", "http://llm-proxy.corp:8080/v1/messages?beta=true", 200, true)
	}
	require.Equal(t, map[[2]string]int{{"openai", "ok"}: 10, {"anthropic", "ok"}: 10}, count(g.flush(a)))

	// Then the LLM spans stop coming: the attempts alone, each to its provider.
	for range 7 {
		g.call("openai", "gpt-4o", "http://llm-proxy.corp:8080/v1/chat/completions", 500, false)
	}
	for range 4 {
		g.call("anthropic", "claude-sonnet-4-5", "http://LLM-Proxy.corp:8080/v1/messages", 529, false)
	}
	g.call("openai", "gpt-4o", "http://llm-proxy.corp:8080/v1/embeddings", 500, false)
	calls := g.flush(a)
	require.Equal(t, map[[2]string]int{
		{"openai", "error"}: 7, {"anthropic", "error"}: 4,
		{"gateway:llm-proxy.corp:8080", "error"}: 1, // a route of neither provider: never a guess
	}, count(calls))
	for _, c := range calls {
		if c.Provider == "anthropic" {
			require.Equal(t, detectors.ClassOverloaded, c.ErrorClass)
		}
	}
	require.Equal(t, uint64(12), a.Stats().Attributed)
	require.Equal(t, uint64(20), a.Stats().Learned)

	// A known provider's host is never learned or attributed from the map.
	g.call("anthropic", "claude-sonnet-4-5", "https://api.anthropic.com/v1/messages", 529, false)
	require.Equal(t, map[[2]string]int{{"anthropic", "error"}: 1}, count(g.flush(a)))
	require.Equal(t, uint64(12), a.Stats().Attributed)

	// Requests to an application's other services are never candidates.
	g.call("openai", "gpt-4o", "http://inventory.corp/v1/items", 500, false)
	require.Empty(t, g.flush(a))
	require.Equal(t, uint64(5), a.Stats().Unattributed)
}

func TestConfiguredHostsOverrideWhatIsLearned(t *testing.T) {
	cfg := DefaultConfig()
	cfg.ProviderHosts = map[string]string{"llm-proxy.corp:8080": "anthropic"}
	learned := hosts.New()
	a := assemble.New(assembleConfig(cfg, learned))
	g := newGatewayTraffic()
	for range 5 {
		g.call("openai", "gpt-4o", "http://llm-proxy.corp:8080/v1/chat/completions", 200, true)
	}
	g.call("openai", "gpt-4o", "http://llm-proxy.corp:8080/v1/chat/completions", 500, false)
	recs := wireDecoder(cfg).DecodeTraces(g.td).Records
	calls := a.Tick(g.now.Add(time.Hour), a.Add(g.now, recs, nil))
	require.Equal(t, map[[2]string]int{{"openai", "ok"}: 5, {"anthropic", "error"}: 1}, count(calls))
	require.Zero(t, learned.Len(), "a configured host is not learned")
}
