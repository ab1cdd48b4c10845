package wire

import (
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/outagewatch/outagewatch/ingest/normalize"
)

// DecodeProto is DecodeTraces for the protobuf bytes of an ExportTraceServiceRequest, read in a
// single pass without building pdata (the fast path). It returns an error, and res unchanged,
// exactly when pdata's decoder rejects body, and otherwise the records DecodeTraces makes. The
// records do not share body's bytes: the caller may reuse them.
func (d *Decoder) DecodeProto(body []byte, res *Batch) error {
	st := d.states.Get().(*fastState)
	defer d.states.Put(st)
	st.body = body
	out := Batch{Records: d.getRecords()}
	if !fields(body, wtRequest, func(f field) bool { return d.resourceSpans(st, f.p, &out) }) {
		d.Release(out.Records)
		return errMalformed
	}
	st.body = nil
	*res = out
	return nil
}

func (d *Decoder) resourceSpans(st *fastState, b []byte, out *Batch) bool {
	var rr resourceReader
	haveScopes := false
	valid := fields(b, wtResourceSpans, func(f field) bool {
		switch f.num {
		case 1:
			return readResource(f.p, &rr)
		case 2:
			haveScopes = true
		}
		return true
	})
	if !valid {
		return false
	}
	res := rr.resource()
	for pos := 0; pos < len(b); {
		f, np, _ := next(b, pos, wtResourceSpans)
		pos = np
		switch f.num {
		case 2:
			if !d.scopeSpans(st, f.p, &res, true, out) {
				return false
			}
		case 1000:
			// pdata reads the deprecated field only when the current one is absent.
			if !d.scopeSpans(st, f.p, &res, !haveScopes, out) {
				return false
			}
		}
	}
	return true
}

// readResource validates a Resource message and reads the attributes calls keep into rr.
func readResource(b []byte, rr *resourceReader) bool {
	return fields(b, wtResource, func(f field) bool {
		switch f.num {
		case 1:
			k, av, ok := parseKV(f.p, 0)
			if i := rr.slot(k); ok && i >= 0 {
				var v normalize.Value
				setRaw(&v, av, f.p)
				rr.set(i, v.AsString())
			}
			return ok
		case 3:
			return validFlat(f.p, wtEntityRef)
		}
		return true
	})
}

func (d *Decoder) scopeSpans(st *fastState, b []byte, res *normalize.Resource, use bool, out *Batch) bool {
	scope := ""
	valid := fields(b, wtScopeSpans, func(f field) bool {
		if f.num != 1 {
			return true
		}
		return fields(f.p, wtScope, func(g field) bool {
			switch g.num {
			case 1:
				scope = view(g.p)
			case 3:
				return validKV(g.p)
			}
			return true
		})
	})
	if !valid {
		return false
	}
	for pos := 0; pos < len(b); {
		var span []byte
		var ok bool
		if span, pos, ok = nextLen(b, pos, 0x12, wtScopeSpans); !ok {
			continue
		}
		if !d.rawSpan(st, span, scope, res, use, out) {
			return false
		}
	}
	return true
}

func readID(dst []byte, p []byte) bool {
	switch len(p) {
	case 0:
		clear(dst)
	case len(dst):
		copy(dst, p)
	default:
		return false
	}
	return true
}

func (d *Decoder) rawSpan(st *fastState, b []byte, scope string, res *normalize.Resource, use bool, out *Batch) bool {
	sd, a := &st.sd, &st.attrs
	*sd = normalize.Span{}
	a.Reset()
	evFrom, evTo := -1, -1
	for pos := 0; pos < len(b); {
		// Attributes, most of a span's fields, first; then the other usual tags; anything else
		// goes through next.
		if b[pos] == 0x4a && pos+1 < len(b) && b[pos+1] < 0x80 {
			end := pos + 2 + int(b[pos+1])
			if end > len(b) || !rawAttr(a, b[pos+2:end]) {
				return false
			}
			pos = end
			continue
		}
		var f field
		var ok bool
		at := pos
		switch t := b[pos]; t {
		case 0x0a, 0x12, 0x1a, 0x22, 0x2a, 0x4a, 0x5a, 0x6a, 0x7a:
			f.num = int32(t >> 3)
			if pos+1 < len(b) && b[pos+1] < 0x80 {
				end := pos + 2 + int(b[pos+1])
				if end > len(b) {
					return false
				}
				f.p, pos, ok = b[pos+2:end], end, true
			} else {
				f.p, pos, ok = consumeLen(b, pos+1)
			}
		case 0x39, 0x41:
			f.num = int32(t >> 3)
			f.u, pos, ok = consumeI64(b, pos+1)
		case 0x30, 0x50, 0x60, 0x70:
			f.num = int32(t >> 3)
			f.u, pos, ok = consumeVarint(b, pos+1)
		case 0x85: // flags (16, I32), if the tag's second byte is 0x01
			if pos+1 < len(b) && b[pos+1] == 0x01 {
				if ok = pos+6 <= len(b); ok {
					f.num, pos = 16, pos+6
				}
				break
			}
			f, pos, ok = next(b, pos, wtSpan)
		default:
			f, pos, ok = next(b, pos, wtSpan)
		}
		if !ok {
			return false
		}
		switch f.num {
		case 1:
			ok = readID(sd.TraceID[:], f.p)
		case 2:
			ok = readID(sd.SpanID[:], f.p)
		case 3:
			sd.TraceState = view(f.p)
		case 4:
			ok = readID(sd.ParentID[:], f.p)
		case 5:
			sd.Name = view(f.p)
		case 6:
			sd.Kind = ptrace.SpanKind(int32(f.u))
		case 7:
			sd.Start = f.u
		case 8:
			sd.End = f.u
		case 9:
			ok = rawAttr(a, f.p)
		case 11:
			ok = validEvent(f.p)
			if evFrom < 0 {
				evFrom = at
			}
			evTo = pos
		case 13:
			ok = validLink(f.p)
		case 15:
			ok = len(f.p) == 0 || rawStatus(sd, f.p)
		}
		if !ok {
			return false
		}
	}
	if !use {
		return true
	}
	var events []byte
	if evFrom >= 0 {
		events = b[evFrom:evTo]
	}
	sd.SetRawEvents(events, raw{})
	out.Spans++
	if sd.TraceID == (pcommon.TraceID{}) || sd.SpanID == (pcommon.SpanID{}) {
		out.reject("span with an empty trace or span ID")
		return true
	}
	if sd.End < sd.Start {
		out.reject("span ends before it starts")
		return true
	}
	n := len(out.Records)
	if out.Records = d.norm.AppendSpan(out.Records, sd, a, scope, res); len(out.Records) > n {
		st.ownRecord(&out.Records[n])
	}
	return true
}

func validEvent(b []byte) bool {
	return fields(b, wtEvent, func(f field) bool { return f.num != 3 || validKV(f.p) })
}

func validLink(b []byte) bool {
	var tid pcommon.TraceID
	var sid pcommon.SpanID
	return fields(b, wtLink, func(f field) bool {
		switch f.num {
		case 1:
			return readID(tid[:], f.p)
		case 2:
			return readID(sid[:], f.p)
		case 4:
			return validKV(f.p)
		}
		return true
	})
}

// rawStatus merges a Status message into sd, as pdata merges repeated message fields.
func rawStatus(sd *normalize.Span, b []byte) bool {
	return fields(b, wtStatus, func(f field) bool {
		switch f.num {
		case 2:
			sd.StatusMsg = view(f.p)
		case 3:
			sd.StatusCode = ptrace.StatusCode(int32(f.u))
		}
		return true
	})
}
