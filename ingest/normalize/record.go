package normalize

import (
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/outagewatch/outagewatch/detectors"
)

// SpanKey identifies a span across requests: its trace ID and span ID.
type SpanKey [24]byte

func makeKey(t pcommon.TraceID, s pcommon.SpanID) SpanKey {
	var k SpanKey
	copy(k[:16], t[:])
	copy(k[16:], s[:])
	return k
}

// Record is what the normaliser keeps of one interesting span: an LLM-call span or a provider HTTP
// attempt. The assembler turns records into calls.
type Record struct {
	Attempt bool
	// Wrapper marks an LLM span that is never the provider call itself (Vercel's outer spans).
	Wrapper bool
	// Retry marks an LLM span that is one attempt of its parent's call: the Vercel AI SDK's
	// doGenerate/doStream spans, one per attempt under the ai.generateText (streamText, ...)
	// span, which is the call.
	Retry  bool
	Self   SpanKey
	Parent SpanKey
	// HasParent is false for root spans.
	HasParent bool
	Start     int64 // unix nanoseconds
	End       int64

	// Failed: the span's status is ERROR, it has error.type or an exception event; for an
	// attempt, also a status >= 400.
	Failed bool
	// OwnStatus is the HTTP status the span itself carries; TextStatus one parsed from its error
	// texts or error.code.
	OwnStatus  int
	TextStatus int
	// TextClass is the error class read from the span's error texts (ClassNone when it did not
	// fail).
	TextClass detectors.ErrorClass

	// URLModel is the model an attempt's URL names (Gemini, Vertex, Bedrock).
	URLModel string
	// Host and Route are set on an attempt to a host that is no known provider's (its Call's
	// Provider is ""): where it went, for the assembler to learn or attribute (ingest/hosts).
	Host, Route string

	// Call is the call as far as the span alone tells it; the assembler completes it.
	Call detectors.Call
}

// Resource is what a call keeps of its span's resource: the calling service's service.name,
// service.namespace and deployment.environment(.name), each capped at 128 bytes, "" when absent.
type Resource struct {
	Service, Namespace, Environment string
}

func baseRecord(span *Span, res *Resource, r *Record) {
	*r = Record{
		Self:  makeKey(span.TraceID, span.SpanID),
		Start: int64(span.Start),
		End:   int64(span.End),
	}
	if p := span.ParentID; !p.IsEmpty() {
		r.Parent = makeKey(span.TraceID, p)
		r.HasParent = true
	}
	r.Call.Time = time.Unix(0, r.End).UTC()
	r.Call.Duration = time.Duration(r.End - r.Start)
	r.Call.Service = res.Service
	r.Call.ServiceNamespace = res.Namespace
	r.Call.Environment = res.Environment
	r.Call.Weight = AdjustedCount(span.TraceState)
	r.Call.RequestID = requestID(span.TraceID, span.ParentID, span.SpanID)
}

// requestID hashes the logical request a span belongs to: its trace and parent span, or the
// span itself when it is a root.
func requestID(t pcommon.TraceID, parent, self pcommon.SpanID) uint64 {
	// FNV-1a, 64 bits.
	h := uint64(14695981039346656037)
	for _, c := range t {
		h = (h ^ uint64(c)) * 1099511628211
	}
	s := parent
	if s.IsEmpty() {
		s = self
	}
	for _, c := range s {
		h = (h ^ uint64(c)) * 1099511628211
	}
	return h
}
