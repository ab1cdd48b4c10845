package wire

import (
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/outagewatch/outagewatch/ingest/normalize"
)

// raw is the normaliser's reader of what the fast path leaves in wire form (normalize.Raw). It
// is empty: a raw value in an interface allocates nothing.
type raw struct{}

var _ normalize.Raw = raw{}

// Value decodes a (valid) KeyValue message with pdata and returns its value.
func (raw) Value(kv []byte) pcommon.Value { return decodeKVValue(kv) }

// SliceFirst is rawSliceFirst.
func (raw) SliceFirst(arr []byte) (string, int) { return rawSliceFirst(arr) }

// Events is rawEvents.
func (raw) Events(fields []byte, start uint64) normalize.Events { return rawEvents(fields, start) }

// decodeKVValue decodes a (valid) KeyValue message with pdata and returns its value. It serves
// the rare maps, byte strings and arrays whose string form is needed.
func decodeKVValue(kv []byte) pcommon.Value {
	// ExportTraceServiceRequest{resource_spans: {resource: {attributes: kv}}}
	res := protowire.AppendTag(nil, 1, protowire.BytesType)
	res = protowire.AppendBytes(res, kv)
	rs := protowire.AppendTag(nil, 1, protowire.BytesType)
	rs = protowire.AppendBytes(rs, res)
	req := protowire.AppendTag(nil, 1, protowire.BytesType)
	req = protowire.AppendBytes(req, rs)
	er := ptraceotlp.NewExportRequest()
	if er.UnmarshalProto(req) != nil || er.Traces().ResourceSpans().Len() != 1 {
		return pcommon.NewValueEmpty()
	}
	attrs := er.Traces().ResourceSpans().At(0).Resource().Attributes()
	for _, v := range attrs.All() {
		return v
	}
	return pcommon.NewValueEmpty()
}

// rawSliceFirst returns the AsString of the first element of a valid ArrayValue payload, and
// the number of elements.
func rawSliceFirst(arr []byte) (string, int) {
	n := 0
	var first []byte
	for pos := 0; pos < len(arr); {
		var p []byte
		var ok bool
		if p, pos, ok = nextLen(arr, pos, 0x0a, wtRepeated); !ok {
			continue
		}
		if n == 0 {
			first = p
		}
		n++
	}
	if n == 0 {
		return "", 0
	}
	if scalarType(first) == 1 {
		return view(first[2:]), n
	}
	av, _ := parseAnyValue(first, 0)
	var v normalize.Value
	var kv []byte
	if av.num >= 5 && av.num <= 7 {
		kv = protowire.AppendTag(nil, 2, protowire.BytesType)
		kv = protowire.AppendBytes(kv, first)
	}
	setRaw(&v, av, kv)
	return v.AsString(), n
}

// rawEvents reads the events of the bytes of a valid Span message (or a run of its fields), as
// the normaliser reads a pdata span's.
func rawEvents(span []byte, start uint64) normalize.Events {
	var out normalize.Events
	chunkSeen := false
	for pos := 0; pos < len(span); {
		var ev []byte
		var ok bool
		if ev, pos, ok = nextLen(span, pos, 0x5a, wtSpan); !ok {
			continue
		}
		var name string
		var t uint64
		for ep := 0; ep < len(ev); {
			g, nep := eventField(ev, ep)
			ep = nep
			switch g.num {
			case 1:
				t = g.u
			case 2:
				name = view(g.p)
			}
		}
		switch name {
		case "exception":
			out.Exception = true
			var haveType, haveMsg bool
			for ep := 0; ep < len(ev); {
				g, nep := eventField(ev, ep)
				ep = nep
				if g.num != 3 {
					continue
				}
				k, av, _ := parseKVFast(g.p)
				switch {
				case k == "exception.type" && !haveType:
					var v normalize.Value
					setRaw(&v, av, g.p)
					out.ExcType, haveType = v.AsString(), true
				case k == "exception.message" && !haveMsg:
					var v normalize.Value
					setRaw(&v, av, g.p)
					out.ExcMsg, haveMsg = v.AsString(), true
				}
			}
		case "ai.stream.firstChunk", "First Token Stream Event":
			if !chunkSeen && t > start {
				out.FirstChunk = time.Duration(t - start)
				chunkSeen = true
			}
		}
	}
	return out
}

// eventField reads a field of a valid Event message.
func eventField(ev []byte, pos int) (field, int) {
	var f field
	switch t := ev[pos]; t {
	case 0x09:
		f.num = 1
		f.u, pos, _ = consumeI64(ev, pos+1)
	case 0x12, 0x1a:
		f.num = int32(t >> 3)
		f.p, pos, _ = lenAt(ev, pos+1)
	default:
		f, pos, _ = next(ev, pos, wtEvent)
	}
	return f, pos
}
