package spangen

import (
	"math"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Config selects what Generate produces. The zero value of a field means its
// default, so Config{Spans: 100, Seed: 7} is a valid configuration.
type Config struct {
	// Spans is the number of spans in the batch; zero or less gives an empty
	// batch (one resource and scope, no spans).
	Spans int
	// LLMFraction is the share of spans that are LLM calls, clamped to
	// [0, 1]; NaN counts as 0. Exactly round(Spans*LLMFraction) spans are LLM
	// calls, at positions drawn from the seed.
	LLMFraction float64
	// Seed drives every random choice: equal configs give equal batches.
	Seed int64
	// Start is the start time of the first span. Zero means
	// 2026-01-01T00:00:00Z, which keeps batches byte-identical across runs;
	// pass a recent time for a daemon that windows by timestamp.
	Start time.Time
}

// defaultStart is the start time used when Config.Start is zero.
var defaultStart = time.Date(2026, time.January, 1, 0, 0, 0, 0, time.UTC)

// spanGap is the mean gap between consecutive span starts in a batch.
const spanGap = 10 * time.Millisecond

// GenAIBatch returns n LLM-call spans generated from seed, under one resource
// and one scope. It is Generate with LLMFraction 1.
func GenAIBatch(n int, seed int64) ptrace.Traces {
	return Generate(Config{Spans: n, LLMFraction: 1, Seed: seed})
}

// MixedBatch returns n spans generated from seed of which round(n*llmFraction)
// are LLM calls and the rest ordinary HTTP server, database and HTTP client
// spans.
func MixedBatch(n int, llmFraction float64, seed int64) ptrace.Traces {
	return Generate(Config{Spans: n, LLMFraction: llmFraction, Seed: seed})
}

// Generate builds one batch as described by cfg. It never fails: out-of-range
// fields are clamped as documented on Config.
func Generate(cfg Config) ptrace.Traces {
	g := newGenerator(cfg)
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	g.resource(rs.Resource().Attributes())
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName("outagewatch/spangen")
	ss.Scope().SetVersion("0.1.0")
	spans := ss.Spans()
	spans.EnsureCapacity(len(g.plan))
	for _, llm := range g.plan {
		g.span(spans.AppendEmpty(), llm)
	}
	return td
}

// generator holds the state of one Generate call: the random source, the
// time cursor and the trace being filled.
type generator struct {
	rnd  *rng
	plan []bool // plan[i] reports whether span i is an LLM call
	now  time.Time

	// Spans are grouped into traces of 1-4 spans. Every span of a trace has
	// parent; when the trace's first span is an HTTP server span, parent is
	// that span's ID and the server span itself is the root, otherwise parent
	// is an application span that is not in the batch (as when a batch is
	// cut mid-trace).
	traceID   pcommon.TraceID
	parent    pcommon.SpanID
	left      int
	hasParent bool
}

func newGenerator(cfg Config) *generator {
	g := &generator{rnd: newRNG(cfg.Seed), now: cfg.Start}
	if g.now.IsZero() {
		g.now = defaultStart
	}
	n := max(cfg.Spans, 0)
	nLLM := int(math.Round(float64(n) * clampFraction(cfg.LLMFraction)))
	g.plan = make([]bool, n)
	for i := range nLLM {
		g.plan[i] = true
	}
	if nLLM > 0 && nLLM < n {
		g.rnd.r.Shuffle(n, func(i, j int) { g.plan[i], g.plan[j] = g.plan[j], g.plan[i] })
	}
	return g
}

func clampFraction(f float64) float64 {
	if !(f > 0) { // also catches NaN
		return 0
	}
	return min(f, 1)
}

// resource fills the single resource of a batch.
func (g *generator) resource(attrs pcommon.Map) {
	attrs.EnsureCapacity(8)
	attrs.PutStr("service.name", pick(g.rnd, []string{"chat-api", "support-agent", "search-assistant", "doc-summarizer"}))
	attrs.PutStr("service.version", pick(g.rnd, []string{"1.14.2", "2.3.0", "0.9.7", "3.1.1"}))
	attrs.PutStr("service.instance.id", g.rnd.token("", 12))
	attrs.PutStr("host.name", pick(g.rnd, []string{"ip-10-0-3-17", "ip-10-0-7-201", "web-6f9c7d5b8-x2kqp", "worker-2"}))
	attrs.PutStr("deployment.environment.name", "production")
	attrs.PutStr("telemetry.sdk.name", "opentelemetry")
	attrs.PutStr("telemetry.sdk.language", pick(g.rnd, []string{"python", "nodejs"}))
	attrs.PutStr("telemetry.sdk.version", pick(g.rnd, []string{"1.38.0", "2.2.0"}))
}

// span fills s as an LLM call or an ordinary span and advances the cursor.
func (g *generator) span(s ptrace.Span, llm bool) {
	var kind ordinaryKind
	if !llm {
		kind = pickWeighted(g.rnd, ordinaryKinds)
	}
	g.nextTrace(kind == kindHTTPServer && !llm)
	s.SetTraceID(g.traceID)
	id := g.rnd.spanID()
	s.SetSpanID(id)
	if g.hasParent {
		s.SetParentSpanID(g.parent)
	} else {
		g.parent, g.hasParent = id, true
	}
	var d time.Duration
	if llm {
		d = g.llmSpan(s)
	} else {
		d = g.ordinarySpan(s, kind)
	}
	s.SetStartTimestamp(pcommon.NewTimestampFromTime(g.now))
	s.SetEndTimestamp(pcommon.NewTimestampFromTime(g.now.Add(d)))
	g.now = g.now.Add(g.rnd.exp(spanGap))
}

// nextTrace starts a new trace when the current one is full. root reports
// whether the next span may be the root of a new trace.
func (g *generator) nextTrace(root bool) {
	if g.left > 0 {
		g.left--
		return
	}
	g.traceID = g.rnd.traceID()
	g.left = g.rnd.between(0, 3)
	g.hasParent = !root
	if !root {
		g.parent = g.rnd.spanID()
	}
}
