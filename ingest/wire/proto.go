package wire

import (
	"errors"
	"unsafe"

	"google.golang.org/protobuf/encoding/protowire"
)

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

// validFlat validates a message whose fields are all scalars or strings.
func validFlat(b []byte, want *wireTypes) bool {
	return fields(b, want, func(field) bool { return true })
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

// view is a string that shares b's bytes: it must not outlive them.
func view(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}
