package wire

import (
	"math"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/outagewatch/outagewatch/ingest/normalize"
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

// validKV validates an attribute.
func validKV(b []byte) bool {
	_, _, ok := parseKVFast(b)
	return ok
}

// rawAttr validates an attribute (a KeyValue message) of a span and keeps its value when
// extraction reads its key. The usual layouts (see parseKVFast) are read in place.
func rawAttr(a *normalize.Attrs, kv []byte) bool {
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
				if v := a.Slot(view(key)); v != nil {
					setScalar(v, typ, val)
				}
				return true
			}
			if scalarArray(val) {
				if v := a.Slot(view(key)); v != nil {
					setRaw(v, anyVal{num: 5, p: val[2:]}, kv)
				}
				return true
			}
		}
	}
slow:
	k, av, ok := parseKV(kv, 0)
	if ok {
		if v := a.Slot(k); v != nil {
			setRaw(v, av, kv)
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

// setScalar is setRaw for an AnyValue v of scalarType typ.
func setScalar(v *normalize.Value, typ int, b []byte) {
	switch typ {
	case 1:
		v.SetStr(view(b[2:]))
	case 2:
		u, _, _ := consumeVarint(b, 1)
		v.SetBool(u != 0)
	case 3:
		u, _, _ := consumeVarint(b, 1)
		v.SetInt(int64(u))
	case 4:
		u, _, _ := consumeI64(b, 1)
		v.SetDouble(math.Float64frombits(u))
	default:
		v.SetEmpty()
	}
}

// setRaw fills v from an AnyValue's value; kv is the KeyValue message holding it.
func setRaw(v *normalize.Value, av anyVal, kv []byte) {
	switch av.num {
	case 1:
		v.SetStr(view(av.p))
	case 2:
		v.SetBool(av.u != 0)
	case 3:
		v.SetInt(int64(av.u))
	case 4:
		v.SetDouble(math.Float64frombits(av.u))
	case 5:
		v.SetRaw(pcommon.ValueTypeSlice, kv, av.p, raw{})
	case 6:
		v.SetRaw(pcommon.ValueTypeMap, kv, nil, raw{})
	case 7:
		v.SetRaw(pcommon.ValueTypeBytes, kv, nil, raw{})
	default: // none, or a string-table index pdata does not resolve
		v.SetEmpty()
	}
}
