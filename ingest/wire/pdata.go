package wire

import (
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/outagewatch/outagewatch/ingest/normalize"
)

// DecodeTraces reads every span of td: the pdata path, the reference the fast path must agree
// with. Spans with invalid IDs or an end before their start are rejected (counted, and reported
// through OTLP partial success); other spans that are neither LLM calls nor provider attempts
// are skipped after a look at their name and attribute keys. The records share td's strings.
func (d *Decoder) DecodeTraces(td ptrace.Traces) Batch {
	res := Batch{Records: d.getRecords()}
	var attrs normalize.Attrs
	var sd normalize.Span
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		rs := rss.At(i)
		var rr resourceReader
		for i, k := range resourceKeys {
			if v, ok := rs.Resource().Attributes().Get(k); ok {
				rr.set(i, v.AsString())
			}
		}
		resource := rr.resource()
		sss := rs.ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			ss := sss.At(j)
			scope := ss.Scope().Name()
			spans := ss.Spans()
			for k := 0; k < spans.Len(); k++ {
				res.Spans++
				span := spans.At(k)
				if span.TraceID().IsEmpty() || span.SpanID().IsEmpty() {
					res.reject("span with an empty trace or span ID")
					continue
				}
				if span.EndTimestamp() < span.StartTimestamp() {
					res.reject("span ends before it starts")
					continue
				}
				attrs.Read(span.Attributes())
				sd.SetPdata(span)
				res.Records = d.norm.AppendSpan(res.Records, &sd, &attrs, scope, &resource)
			}
		}
	}
	return res
}
