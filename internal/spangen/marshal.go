package spangen

import (
	"fmt"

	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
)

// Split cuts td into batches of at most spansPerRequest spans each, in order,
// as an exporter's batcher would. Every batch keeps copies of the resource
// and scope of the spans it holds. td is left unchanged. A spansPerRequest of
// zero or less puts all spans in one batch; an empty td gives no batches.
func Split(td ptrace.Traces, spansPerRequest int) []ptrace.Traces {
	total := td.SpanCount()
	if total == 0 {
		return nil
	}
	if spansPerRequest <= 0 {
		spansPerRequest = total
	}
	out := make([]ptrace.Traces, 0, (total+spansPerRequest-1)/spansPerRequest)
	var (
		cur   ptrace.Traces
		dst   ptrace.SpanSlice
		room  int
		fresh bool // dst does not yet belong to the current scope and batch
	)
	for _, rs := range td.ResourceSpans().All() {
		for _, ss := range rs.ScopeSpans().All() {
			fresh = true
			for _, sp := range ss.Spans().All() {
				if room == 0 {
					cur = ptrace.NewTraces()
					out = append(out, cur)
					room, fresh = spansPerRequest, true
				}
				if fresh {
					dst, fresh = appendScope(cur, rs, ss), false
				}
				sp.CopyTo(dst.AppendEmpty())
				room--
			}
		}
	}
	return out
}

// appendScope adds rs's resource and ss's scope to td and returns the span
// slice to fill.
func appendScope(td ptrace.Traces, rs ptrace.ResourceSpans, ss ptrace.ScopeSpans) ptrace.SpanSlice {
	nrs := td.ResourceSpans().AppendEmpty()
	rs.Resource().CopyTo(nrs.Resource())
	nrs.SetSchemaUrl(rs.SchemaUrl())
	nss := nrs.ScopeSpans().AppendEmpty()
	ss.Scope().CopyTo(nss.Scope())
	nss.SetSchemaUrl(ss.SchemaUrl())
	return nss.Spans()
}

// MarshalProto returns td as the protobuf body of an OTLP ExportTraceServiceRequest,
// the payload of both the gRPC Export call and an HTTP application/x-protobuf POST.
func MarshalProto(td ptrace.Traces) []byte {
	b, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	if err != nil {
		// pdata v1.71 never returns an error here; a future version that
		// does would break an invariant, not reject input.
		panic(fmt.Sprintf("spangen: marshal proto: %v", err))
	}
	return b
}

// MarshalJSON returns td as the OTLP/JSON body of an HTTP application/json POST.
func MarshalJSON(td ptrace.Traces) []byte {
	b, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalJSON()
	if err != nil {
		// pdata's JSON stream writes to memory and reports no errors for
		// values built through its API; see MarshalProto.
		panic(fmt.Sprintf("spangen: marshal json: %v", err))
	}
	return b
}
