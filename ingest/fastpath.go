package ingest

import (
	"errors"
	"math"
	"strings"
	"sync"
	"time"
	"unsafe"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/protobuf/encoding/protowire"
)

// The protobuf fast path reads an ExportTraceServiceRequest straight from its wire bytes into
// records, without building pdata. pdata stays the reference: the fast path accepts exactly the
// inputs pdata's decoder accepts (it mirrors go.opentelemetry.io/collector/pdata/internal/proto,
// whose varint, tag and unknown-field rules differ in small ways from protowire's) and makes the
// same records (FuzzFastPathMatchesPdata checks both).
//
// Strings are read as views of the request bytes while a request is extracted; every string a
// record keeps is interned or copied before the record leaves (ownRecord), so the caller may
// reuse the bytes afterwards.

// errMalformed is the fast path's decode error.
var errMalformed = errors.New("proto: malformed export request")

// recursionLimit is pdata's bound on nested attribute values.
const recursionLimit = 100

const (
	wtVarint = int8(protowire.VarintType)
	wtI64    = int8(protowire.Fixed64Type)
	wtLen    = int8(protowire.BytesType)
	wtStart  = int8(protowire.StartGroupType)
	wtEnd    = int8(protowire.EndGroupType)
	wtI32    = int8(protowire.Fixed32Type)
)

// consumeVarint is pdata's ConsumeVarint: up to ten bytes, extra high bits dropped.
func consumeVarint(b []byte, pos int) (uint64, int, bool) {
	if pos < len(b) && b[pos] < 0x80 {
		return uint64(b[pos]), pos + 1, true
	}
	var num uint64
	for shift := uint(0); ; shift += 7 {
		if shift >= 64 || pos >= len(b) {
			return 0, 0, false
		}
		c := b[pos]
		pos++
		num |= uint64(c&0x7F) << shift
		if c < 0x80 {
			return num, pos, true
		}
	}
}

// consumeTag is pdata's ConsumeTag.
func consumeTag(b []byte, pos int) (int32, int8, int, bool) {
	tag, pos, ok := consumeVarint(b, pos)
	if !ok {
		return 0, 0, 0, false
	}
	num := int32(tag >> 3)
	if num <= 0 {
		return 0, 0, 0, false
	}
	return num, int8(tag & 7), pos, true
}

// consumeLen is pdata's ConsumeLen; it returns the payload.
func consumeLen(b []byte, pos int) ([]byte, int, bool) {
	n, pos, ok := consumeVarint(b, pos)
	if !ok {
		return nil, 0, false
	}
	length := int(n)
	if length < 0 {
		return nil, 0, false
	}
	end := pos + length
	if end < 0 || end > len(b) {
		return nil, 0, false
	}
	return b[pos:end], end, true
}

func consumeI64(b []byte, pos int) (uint64, int, bool) {
	if pos+8 < 0 || pos+8 > len(b) {
		return 0, 0, false
	}
	_ = b[pos+7]
	v := uint64(b[pos]) | uint64(b[pos+1])<<8 | uint64(b[pos+2])<<16 | uint64(b[pos+3])<<24 |
		uint64(b[pos+4])<<32 | uint64(b[pos+5])<<40 | uint64(b[pos+6])<<48 | uint64(b[pos+7])<<56
	return v, pos + 8, true
}

// consumeUnknown is pdata's ConsumeUnknown.
func consumeUnknown(b []byte, pos int, wt int8) (int, bool) {
	var ok bool
	depth := 0
	for pos < len(b) {
		switch wt {
		case wtVarint:
			_, pos, ok = consumeVarint(b, pos)
			return pos, ok
		case wtI64:
			_, pos, ok = consumeI64(b, pos)
			return pos, ok
		case wtLen:
			_, pos, ok = consumeLen(b, pos)
			return pos, ok
		case wtStart:
			depth++
		case wtEnd:
			if depth == 0 {
				return 0, false
			}
			depth--
		case wtI32:
			if pos+4 > len(b) {
				return 0, false
			}
			return pos + 4, true
		default:
			return 0, false
		}
		if depth == 0 {
			return pos, true
		}
		_, wt, pos, ok = consumeTag(b, pos)
		if !ok {
			return 0, false
		}
	}
	return 0, false
}

// field reads one field of a message: its number, wire type, and either its payload (LEN), or
// its value (VARINT, I64, I32). Unknown fields must be skipped by the caller with skip.
type field struct {
	num int32
	wt  int8
	p   []byte
	u   uint64
}

// next reads the field at pos, checking that a known field has the wire type want (0 for an
// unknown field, which is skipped). It mirrors pdata's per-field checks.
func next(b []byte, pos int, want *wireTypes) (field, int, bool) {
	var num int32
	var wt int8
	var ok bool
	if pos < len(b) && b[pos] < 0x80 && b[pos] >= 8 {
		num, wt, pos, ok = int32(b[pos]>>3), int8(b[pos]&7), pos+1, true
	} else if num, wt, pos, ok = consumeTag(b, pos); !ok {
		return field{}, 0, false
	}
	f := field{num: num, wt: wt}
	w := int8(-1)
	if num < int32(len(want)) {
		w = want[num]
	} else if num == 1000 && want == wtResourceSpans {
		w = wtLen
	}
	if w < 0 {
		pos, ok = consumeUnknown(b, pos, wt)
		f.num = 0
		return f, pos, ok
	}
	if wt != w {
		return field{}, 0, false
	}
	switch wt {
	case wtLen:
		if pos < len(b) && b[pos] < 0x80 {
			end := pos + 1 + int(b[pos])
			if end > len(b) {
				return field{}, 0, false
			}
			f.p, pos = b[pos+1:end], end
			return f, pos, true
		}
		f.p, pos, ok = consumeLen(b, pos)
	case wtVarint:
		f.u, pos, ok = consumeVarint(b, pos)
	case wtI64:
		f.u, pos, ok = consumeI64(b, pos)
	case wtI32:
		if pos+4 > len(b) {
			return field{}, 0, false
		}
		f.u = uint64(uint32(b[pos]) | uint32(b[pos+1])<<8 | uint32(b[pos+2])<<16 | uint32(b[pos+3])<<24)
		pos += 4
	}
	return f, pos, ok
}

// wireTypes lists the wire types of a message's known fields by field number; -1 (or a
// number past the table) marks an unknown field.
type wireTypes [17]int8

func table(known map[int32]int8) *wireTypes {
	var t wireTypes
	for i := range t {
		t[i] = -1
	}
	for n, wt := range known {
		t[n] = wt
	}
	return &t
}

var (
	wtRequest       = table(map[int32]int8{1: wtLen})
	wtResourceSpans = table(map[int32]int8{1: wtLen, 2: wtLen, 3: wtLen}) // and 1000, in next
	wtResource      = table(map[int32]int8{1: wtLen, 2: wtVarint, 3: wtLen})
	wtEntityRef     = table(map[int32]int8{1: wtLen, 2: wtLen, 3: wtLen, 4: wtLen})
	wtScopeSpans    = table(map[int32]int8{1: wtLen, 2: wtLen, 3: wtLen})
	wtScope         = table(map[int32]int8{1: wtLen, 2: wtLen, 3: wtLen, 4: wtVarint})
	wtSpan          = table(map[int32]int8{1: wtLen, 2: wtLen, 3: wtLen, 4: wtLen, 5: wtLen, 6: wtVarint,
		7: wtI64, 8: wtI64, 9: wtLen, 10: wtVarint, 11: wtLen, 12: wtVarint, 13: wtLen, 14: wtVarint,
		15: wtLen, 16: wtI32})
	wtEvent    = table(map[int32]int8{1: wtI64, 2: wtLen, 3: wtLen, 4: wtVarint})
	wtLink     = table(map[int32]int8{1: wtLen, 2: wtLen, 3: wtLen, 4: wtLen, 5: wtVarint, 6: wtI32})
	wtStatus   = table(map[int32]int8{2: wtLen, 3: wtVarint})
	wtKeyValue = table(map[int32]int8{1: wtLen, 2: wtLen, 3: wtVarint})
	wtAnyValue = table(map[int32]int8{1: wtLen, 2: wtVarint, 3: wtVarint, 4: wtI64, 5: wtLen,
		6: wtLen, 7: wtLen, 8: wtVarint})
	wtRepeated = table(map[int32]int8{1: wtLen})
)

// anyVal is the oneof field an AnyValue holds: the last one its bytes set (0: none).
type anyVal struct {
	num int32
	p   []byte
	u   uint64
}

// parseAnyValue validates an AnyValue as pdata does (depth included) and returns its value.
func parseAnyValue(b []byte, depth int) (anyVal, bool) {
	if depth >= recursionLimit {
		return anyVal{}, false
	}
	depth++
	var v anyVal
	for pos := 0; pos < len(b); {
		var ok bool
		switch b[pos] {
		case 0x0a: // string_value
			if v.p, pos, ok = lenAt(b, pos+1); !ok {
				return anyVal{}, false
			}
			v.num = 1
			continue
		case 0x10, 0x18: // bool_value, int_value
			num := int32(b[pos] >> 3)
			if v.u, pos, ok = consumeVarint(b, pos+1); !ok {
				return anyVal{}, false
			}
			v.num, v.p = num, nil
			continue
		}
		f, np, ok := next(b, pos, wtAnyValue)
		if !ok {
			return anyVal{}, false
		}
		pos = np
		switch f.num {
		case 0:
			continue
		case 5:
			if !validRepeated(f.p, depth, false) {
				return anyVal{}, false
			}
		case 6:
			if !validRepeated(f.p, depth, true) {
				return anyVal{}, false
			}
		}
		v = anyVal{num: f.num, p: f.p, u: f.u}
	}
	return v, true
}

// lenAt reads a length-delimited payload whose length varint is at pos.
func lenAt(b []byte, pos int) ([]byte, int, bool) {
	if pos < len(b) && b[pos] < 0x80 {
		end := pos + 1 + int(b[pos])
		if end > len(b) {
			return nil, 0, false
		}
		return b[pos+1 : end], end, true
	}
	return consumeLen(b, pos)
}

// validRepeated validates an ArrayValue (kv false) or a KeyValueList (kv true).
func validRepeated(b []byte, depth int, kv bool) bool {
	if depth >= recursionLimit {
		return false
	}
	depth++
	return fields(b, wtRepeated, func(f field) bool {
		if kv {
			_, _, ok := parseKV(f.p, depth)
			return ok
		}
		_, ok := parseAnyValue(f.p, depth)
		return ok
	})
}

// fields validates the message b, whose known fields have the wire types want, and calls fn
// with each known field (unknown ones are skipped); it reports whether b is valid and fn
// accepted every field.
func fields(b []byte, want *wireTypes, fn func(f field) bool) bool {
	for pos := 0; pos < len(b); {
		f, np, ok := next(b, pos, want)
		if !ok {
			return false
		}
		pos = np
		if f.num != 0 && !fn(f) {
			return false
		}
	}
	return true
}

// parseKV validates a KeyValue and returns its key (a view of b) and value.
func parseKV(b []byte, depth int) (string, anyVal, bool) {
	if depth >= recursionLimit {
		return "", anyVal{}, false
	}
	depth++
	var key string
	var v anyVal
	for pos := 0; pos < len(b); {
		var p []byte
		var ok bool
		switch b[pos] {
		case 0x0a:
			if p, pos, ok = lenAt(b, pos+1); !ok {
				return "", anyVal{}, false
			}
			key = view(p)
			continue
		case 0x12:
			if p, pos, ok = lenAt(b, pos+1); !ok {
				return "", anyVal{}, false
			}
		default:
			var f field
			if f, pos, ok = next(b, pos, wtKeyValue); !ok {
				return "", anyVal{}, false
			}
			switch f.num {
			case 1:
				key = view(f.p)
				continue
			case 2:
				p = f.p
			default:
				continue
			}
		}
		av, ok := parseAnyValue(p, depth)
		if !ok {
			return "", anyVal{}, false
		}
		if av.num != 0 {
			v = av
		}
	}
	return key, v, true
}

// parseKVFast is parseKV for the usual layouts of an attribute, key and value with one-byte
// lengths in either order (protobuf-go writes fields in ascending order, pdata in descending),
// and a scalar value; it falls back to parseKV for anything else.
func parseKVFast(b []byte) (string, anyVal, bool) {
	if len(b) >= 4 && b[1] < 0x80 {
		first := 2 + int(b[1])
		if first+2 <= len(b) && b[first+1] < 0x80 && first+2+int(b[first+1]) == len(b) {
			switch {
			case b[0] == 0x0a && b[first] == 0x12:
				if av, ok := scalarValue(b[first+2:]); ok {
					return view(b[2:first]), av, true
				}
			case b[0] == 0x12 && b[first] == 0x0a:
				if av, ok := scalarValue(b[2:first]); ok {
					return view(b[first+2:]), av, true
				}
			}
		}
	}
	return parseKV(b, 0)
}

// rawAttr validates an attribute (a KeyValue message) of a span and keeps its value when
// extraction reads its key. The usual layouts (see parseKVFast) are read in place.
func (a *spanAttrs) rawAttr(kv []byte) bool {
	if len(kv) >= 4 && kv[1] < 0x80 {
		first := 2 + int(kv[1])
		if first+2 <= len(kv) && kv[first+1] < 0x80 && first+2+int(kv[first+1]) == len(kv) {
			var key, val []byte
			switch {
			case kv[0] == 0x0a && kv[first] == 0x12:
				key, val = kv[2:first], kv[first+2:]
			case kv[0] == 0x12 && kv[first] == 0x0a:
				val, key = kv[2:first], kv[first+2:]
			default:
				goto slow
			}
			if typ := scalarType(val); typ >= 0 {
				if id := a.slot(view(key)); id >= 0 {
					a.vals[id].setScalar(typ, val)
				}
				return true
			}
			if scalarArray(val) {
				if id := a.slot(view(key)); id >= 0 {
					a.vals[id].setRaw(anyVal{num: 5, p: val[2:]}, kv)
				}
				return true
			}
		}
	}
slow:
	k, av, ok := parseKV(kv, 0)
	if ok {
		if id := a.slot(k); id >= 0 {
			a.vals[id].setRaw(av, kv)
		}
	}
	return ok
}

// scalarType returns the AnyValue field number (1: string, 2: bool, 3: int, 4: double) of an
// AnyValue that holds exactly one such value, with a one-byte string length; 0 for an empty
// AnyValue; -1 for any other AnyValue, valid or not.
func scalarType(v []byte) int {
	if len(v) == 0 {
		return 0
	}
	switch v[0] {
	case 0x0a:
		if len(v) >= 2 && v[1] < 0x80 && 2+int(v[1]) == len(v) {
			return 1
		}
	case 0x10, 0x18:
		if _, pos, ok := consumeVarint(v, 1); ok && pos == len(v) {
			return int(v[0] >> 3)
		}
	case 0x21:
		if len(v) == 9 {
			return 4
		}
	}
	return -1
}

// scalarArray reports whether v is an AnyValue holding exactly one array (with a one-byte
// length) whose values are all scalars as scalarType reads them (finish reasons, for one).
func scalarArray(v []byte) bool {
	if len(v) < 2 || v[0] != 0x2a || v[1] >= 0x80 || 2+int(v[1]) != len(v) {
		return false
	}
	for pos := 2; pos < len(v); {
		if v[pos] != 0x0a || pos+1 >= len(v) || v[pos+1] >= 0x80 {
			return false
		}
		end := pos + 2 + int(v[pos+1])
		if end > len(v) || scalarType(v[pos+2:end]) < 0 {
			return false
		}
		pos = end
	}
	return true
}

// setScalar is setRaw for an AnyValue v of scalarType typ.
func (v *attrValue) setScalar(typ int, b []byte) {
	*v = attrValue{}
	switch typ {
	case 1:
		v.typ, v.s = pcommon.ValueTypeStr, view(b[2:])
	case 2:
		u, _, _ := consumeVarint(b, 1)
		v.typ, v.b = pcommon.ValueTypeBool, u != 0
	case 3:
		u, _, _ := consumeVarint(b, 1)
		v.typ, v.i = pcommon.ValueTypeInt, int64(u)
	case 4:
		u, _, _ := consumeI64(b, 1)
		v.typ, v.f = pcommon.ValueTypeDouble, math.Float64frombits(u)
	default:
		v.typ = pcommon.ValueTypeEmpty
	}
}

// scalarValue reads an AnyValue that holds exactly one string (with a one-byte length), int,
// bool or double, or nothing; ok is false for any other AnyValue, valid or not.
func scalarValue(v []byte) (anyVal, bool) {
	if len(v) == 0 {
		return anyVal{}, true
	}
	switch v[0] {
	case 0x0a:
		if len(v) >= 2 && v[1] < 0x80 && 2+int(v[1]) == len(v) {
			return anyVal{num: 1, p: v[2:]}, true
		}
	case 0x10, 0x18:
		if u, pos, ok := consumeVarint(v, 1); ok && pos == len(v) {
			return anyVal{num: int32(v[0] >> 3), u: u}, true
		}
	case 0x21:
		if len(v) == 9 {
			u, _, _ := consumeI64(v, 1)
			return anyVal{num: 4, u: u}, true
		}
	}
	return anyVal{}, false
}

// view is a string that shares b's bytes: it must not outlive them.
func view(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// setRaw fills v from an AnyValue's value; kv is the KeyValue message holding it.
func (v *attrValue) setRaw(av anyVal, kv []byte) {
	*v = attrValue{}
	switch av.num {
	case 1:
		v.typ, v.s = pcommon.ValueTypeStr, view(av.p)
	case 2:
		v.typ, v.b = pcommon.ValueTypeBool, av.u != 0
	case 3:
		v.typ, v.i = pcommon.ValueTypeInt, int64(av.u)
	case 4:
		v.typ, v.f = pcommon.ValueTypeDouble, math.Float64frombits(av.u)
	case 5:
		v.typ, v.kv, v.arr = pcommon.ValueTypeSlice, kv, av.p
	case 6:
		v.typ, v.kv = pcommon.ValueTypeMap, kv
	case 7:
		v.typ, v.kv = pcommon.ValueTypeBytes, kv
	default: // none, or a string-table index pdata does not resolve
		v.typ = pcommon.ValueTypeEmpty
	}
}

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

// nextLen reads the field at pos of a valid message (of field types want) and returns the
// field's end, and its payload and true when it is the LEN field whose one-byte tag is tag.
func nextLen(b []byte, pos int, tag byte, want *wireTypes) ([]byte, int, bool) {
	if b[pos] == tag {
		p, end, _ := lenAt(b, pos+1)
		return p, end, true
	}
	f, end, _ := next(b, pos, want)
	return f.p, end, f.num == int32(tag>>3)
}

// rawSliceFirst is sliceFirst for a valid ArrayValue payload.
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
	var v attrValue
	var kv []byte
	if av.num >= 5 && av.num <= 7 {
		kv = protowire.AppendTag(nil, 2, protowire.BytesType)
		kv = protowire.AppendBytes(kv, first)
	}
	v.setRaw(av, kv)
	return v.asString(), n
}

// rawEvents is spanData.events for the bytes of a valid Span message (or a run of its fields).
func rawEvents(span []byte, start uint64) spanEvents {
	var out spanEvents
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
			out.exception = true
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
					var v attrValue
					v.setRaw(av, g.p)
					out.excType, haveType = v.asString(), true
				case k == "exception.message" && !haveMsg:
					var v attrValue
					v.setRaw(av, g.p)
					out.excMsg, haveMsg = v.asString(), true
				}
			}
		case "ai.stream.firstChunk", "First Token Stream Event":
			if !chunkSeen && t > start {
				out.firstChunk = time.Duration(t - start)
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

// fastState is the scratch space of one fast-path extraction.
type fastState struct {
	attrs spanAttrs
	sd    spanData
	body  []byte
	strs  internCache
	arena []byte
}

// internCache is a small direct-mapped cache in front of intern, private to one fastState:
// the same few services, models and finish reasons recur span after span.
type internCache [64]string

func (c *internCache) intern(s string) string {
	h := (uint(len(s)) ^ uint(s[0])<<3 ^ uint(s[len(s)-1])<<6 ^ uint(s[len(s)/2])<<1) % uint(len(c))
	if c[h] == s {
		return c[h]
	}
	v := intern(s)
	c[h] = v
	return v
}

var fastPool = sync.Pool{New: func() any { return new(fastState) }}

// fastExtract is extract for the protobuf bytes of an ExportTraceServiceRequest. It returns
// errMalformed, and res unchanged, exactly when pdata's decoder rejects body.
func (x *extractor) fastExtract(body []byte, res *batchResult) error {
	st := fastPool.Get().(*fastState)
	defer fastPool.Put(st)
	st.body = body
	out := batchResult{records: getRecords()}
	if !fields(body, wtRequest, func(f field) bool { return x.resourceSpans(st, f.p, &out) }) {
		putRecords(out.records)
		return errMalformed
	}
	st.body = nil
	*res = out
	return nil
}

func (x *extractor) resourceSpans(st *fastState, b []byte, out *batchResult) bool {
	service, haveService, haveScopes := "", false, false
	valid := fields(b, wtResourceSpans, func(f field) bool {
		switch f.num {
		case 1:
			return resource(f.p, &service, &haveService)
		case 2:
			haveScopes = true
		}
		return true
	})
	if !valid {
		return false
	}
	for pos := 0; pos < len(b); {
		f, np, _ := next(b, pos, wtResourceSpans)
		pos = np
		switch f.num {
		case 2:
			if !x.scopeSpans(st, f.p, service, true, out) {
				return false
			}
		case 1000:
			// pdata reads the deprecated field only when the current one is absent.
			if !x.scopeSpans(st, f.p, service, !haveScopes, out) {
				return false
			}
		}
	}
	return true
}

func resource(b []byte, service *string, have *bool) bool {
	return fields(b, wtResource, func(f field) bool {
		switch f.num {
		case 1:
			k, av, ok := parseKV(f.p, 0)
			if ok && !*have && k == "service.name" {
				var v attrValue
				v.setRaw(av, f.p)
				*service, *have = capString(v.asString(), 128), true
			}
			return ok
		case 3:
			return validFlat(f.p, wtEntityRef)
		}
		return true
	})
}

// validFlat validates a message whose fields are all scalars or strings.
func validFlat(b []byte, want *wireTypes) bool {
	return fields(b, want, func(field) bool { return true })
}

// validKV validates an attribute.
func validKV(b []byte) bool {
	_, _, ok := parseKVFast(b)
	return ok
}

func (x *extractor) scopeSpans(st *fastState, b []byte, service string, use bool, out *batchResult) bool {
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
		if !x.rawSpan(st, span, scope, service, use, out) {
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

func (x *extractor) rawSpan(st *fastState, b []byte, scope, service string, use bool, out *batchResult) bool {
	sd, a := &st.sd, &st.attrs
	*sd = spanData{fromRaw: true}
	a.reset()
	evFrom, evTo := -1, -1
	for pos := 0; pos < len(b); {
		// Attributes, most of a span's fields, first; then the other usual tags; anything else
		// goes through next.
		if b[pos] == 0x4a && pos+1 < len(b) && b[pos+1] < 0x80 {
			end := pos + 2 + int(b[pos+1])
			if end > len(b) || !a.rawAttr(b[pos+2:end]) {
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
			ok = readID(sd.traceID[:], f.p)
		case 2:
			ok = readID(sd.spanID[:], f.p)
		case 4:
			ok = readID(sd.parentID[:], f.p)
		case 5:
			sd.name = view(f.p)
		case 6:
			sd.kind = ptrace.SpanKind(int32(f.u))
		case 7:
			sd.start = f.u
		case 8:
			sd.end = f.u
		case 9:
			ok = a.rawAttr(f.p)
		case 11:
			ok = validEvent(f.p)
			if evFrom < 0 {
				evFrom = at
			}
			evTo = pos
		case 13:
			ok = validLink(f.p)
		case 15:
			ok = len(f.p) == 0 || sd.rawStatus(f.p)
		}
		if !ok {
			return false
		}
	}
	if !use {
		return true
	}
	if evFrom >= 0 {
		sd.rawEv = b[evFrom:evTo]
	}
	out.spans++
	if sd.traceID == (pcommon.TraceID{}) || sd.spanID == (pcommon.SpanID{}) {
		out.reject("span with an empty trace or span ID")
		return true
	}
	if sd.end < sd.start {
		out.reject("span ends before it starts")
		return true
	}
	n := len(out.records)
	if out.records = x.appendSpan(out.records, sd, a, scope, service); len(out.records) > n {
		st.ownRecord(&out.records[n])
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
func (sd *spanData) rawStatus(b []byte) bool {
	return fields(b, wtStatus, func(f field) bool {
		switch f.num {
		case 2:
			sd.statusMsg = view(f.p)
		case 3:
			sd.statusCode = ptrace.StatusCode(int32(f.u))
		}
		return true
	})
}

// inBody reports whether s shares the bytes of the request being extracted.
func (st *fastState) inBody(s string) bool {
	if len(s) == 0 || len(st.body) == 0 {
		return false
	}
	p := uintptr(unsafe.Pointer(unsafe.StringData(s)))
	lo := uintptr(unsafe.Pointer(&st.body[0]))
	return p >= lo && p < lo+uintptr(len(st.body))
}

// ownRecord makes every string of r independent of the request bytes: the low-cardinality ones
// are interned, error messages copied.
func (st *fastState) ownRecord(r *record) {
	c := &r.call
	for _, s := range [...]*string{&c.Provider, &c.Model, &c.Operation, &c.FinishReasonRaw, &c.Service, &c.Convention, &r.urlModel} {
		if st.inBody(*s) {
			*s = st.strs.intern(*s)
		}
	}
	if st.inBody(c.ErrorMessage) {
		c.ErrorMessage = st.clone(c.ErrorMessage)
	}
}

// clone copies s into the state's arena: error messages (at most 256 bytes each) share chunks of
// 4 KiB, rather than an allocation each. Bytes once handed out are never written again, so a
// chunk lives on, unchanged, as long as a record holds one of its messages.
func (st *fastState) clone(s string) string {
	if len(s) > cap(st.arena)-len(st.arena) {
		st.arena = make([]byte, 0, max(4096, len(s)))
	}
	start := len(st.arena)
	st.arena = append(st.arena, s...)
	return view(st.arena[start:])
}

// maxInterned bounds the intern table; past it strings are copied.
const maxInterned = 10_000

var interned = struct {
	sync.RWMutex
	m map[string]string
}{m: make(map[string]string)}

// intern returns a copy of s that does not share s's bytes, from a bounded table of the
// provider, model, service and similar strings seen.
func intern(s string) string {
	interned.RLock()
	v, ok := interned.m[s]
	interned.RUnlock()
	if ok {
		return v
	}
	v = strings.Clone(s)
	interned.Lock()
	if len(interned.m) < maxInterned {
		if w, ok := interned.m[v]; ok {
			v = w
		} else {
			interned.m[v] = v
		}
	}
	interned.Unlock()
	return v
}
