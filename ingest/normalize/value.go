package normalize

import (
	"math"
	"strconv"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Raw reads what a decoder keeps in its wire form until the normaliser asks for it: the rare
// map, byte-string and array values, and the events of LLM spans. ingest/wire's fast path
// implements it; the pdata path needs none. Implementations must be safe for concurrent use
// and must not retain the bytes they are given.
type Raw interface {
	// Value returns the value of a valid KeyValue message.
	Value(kv []byte) pcommon.Value
	// SliceFirst returns the AsString of the first element of a valid ArrayValue payload, and
	// the number of elements.
	SliceFirst(arr []byte) (string, int)
	// Events reads the events of a span from the bytes of its event fields, start being the
	// span's start time.
	Events(fields []byte, start uint64) Events
}

// Value is an attribute value as the normaliser needs it, filled either from a pcommon.Value
// (the pdata path) or from the raw protobuf bytes of a KeyValue (the fast path). Scalars are
// held directly; the rare maps, byte strings and arrays keep their source, and are rendered
// with pdata's own AsString when asked for, so both paths agree.
type Value struct {
	typ pcommon.ValueType
	b   bool
	s   string
	// i is an int, or the bits of a double (f): a Value is copied and cleared per attribute, so
	// it is kept small.
	i int64
	// pv is the pdata path's value of a map, slice or bytes.
	pv pcommon.Value
	// kv is the fast path's KeyValue message of a map, slice or bytes value, arr the payload of
	// its ArrayValue for slices, raw the reader of both.
	kv  []byte
	arr []byte
	raw Raw
}

// SetPcommon sets v to pv.
func (v *Value) SetPcommon(pv pcommon.Value) {
	*v = Value{typ: pv.Type()}
	switch v.typ {
	case pcommon.ValueTypeStr:
		v.s = pv.Str()
	case pcommon.ValueTypeInt:
		v.i = pv.Int()
	case pcommon.ValueTypeDouble:
		v.i = int64(math.Float64bits(pv.Double()))
	case pcommon.ValueTypeBool:
		v.b = pv.Bool()
	case pcommon.ValueTypeMap, pcommon.ValueTypeSlice, pcommon.ValueTypeBytes:
		v.pv = pv
	}
}

// SetStr sets v to the string s, which v keeps as it is (a view of request bytes stays one).
func (v *Value) SetStr(s string) { *v = Value{typ: pcommon.ValueTypeStr, s: s} }

// SetBool sets v to b.
func (v *Value) SetBool(b bool) { *v = Value{typ: pcommon.ValueTypeBool, b: b} }

// SetInt sets v to i.
func (v *Value) SetInt(i int64) { *v = Value{typ: pcommon.ValueTypeInt, i: i} }

// SetDouble sets v to f.
func (v *Value) SetDouble(f float64) {
	*v = Value{typ: pcommon.ValueTypeDouble, i: int64(math.Float64bits(f))}
}

// f is the value of a double.
func (v *Value) f() float64 { return math.Float64frombits(uint64(v.i)) }

// SetEmpty sets v to the empty value.
func (v *Value) SetEmpty() { *v = Value{} }

// SetRaw sets v to a map, slice or bytes value (typ) kept in wire form: kv is the KeyValue
// message holding it, arr the payload of its ArrayValue for a slice, raw their reader.
func (v *Value) SetRaw(typ pcommon.ValueType, kv, arr []byte, raw Raw) {
	*v = Value{typ: typ, kv: kv, arr: arr, raw: raw}
}

// pvalue returns the value of a map, slice or bytes as pdata holds it.
func (v *Value) pvalue() pcommon.Value {
	if v.kv != nil {
		return v.raw.Value(v.kv)
	}
	return v.pv
}

// AsString is pcommon.Value.AsString.
func (v *Value) AsString() string {
	switch v.typ {
	case pcommon.ValueTypeEmpty:
		return ""
	case pcommon.ValueTypeStr:
		return v.s
	case pcommon.ValueTypeBool:
		return strconv.FormatBool(v.b)
	case pcommon.ValueTypeInt:
		return strconv.FormatInt(v.i, 10)
	case pcommon.ValueTypeDouble:
		return pcommon.NewValueDouble(v.f()).AsString()
	}
	return v.pvalue().AsString()
}

// sliceFirst returns the AsString of a slice's first element and the slice's length.
func (v *Value) sliceFirst() (string, int) {
	if v.kv != nil {
		return v.raw.SliceFirst(v.arr)
	}
	s := v.pv.Slice()
	if s.Len() == 0 {
		return "", 0
	}
	return s.At(0).AsString(), s.Len()
}

// Span is what the normaliser reads of a span besides its attributes. A decoder fills the
// exported fields, and the source of the events with SetPdata or SetRawEvents.
type Span struct {
	TraceID    pcommon.TraceID
	SpanID     pcommon.SpanID
	ParentID   pcommon.SpanID
	Name       string
	Kind       ptrace.SpanKind
	Start, End uint64 // unix nanoseconds
	StatusCode ptrace.StatusCode
	StatusMsg  string
	// TraceState is the span's W3C tracestate, read for its sampling threshold (sampling.go).
	TraceState string

	// The span's events are read only for LLM spans, from one of these: the pdata span, or
	// (raw set) the bytes of the Span message from its first event field to its last.
	pspan ptrace.Span
	raw   Raw
	rawEv []byte
}

// Events is what the normaliser reads of a span's events.
type Events struct {
	// Exception: the span has an exception event; ExcType and ExcMsg are the last such event's
	// exception.type and exception.message.
	Exception       bool
	ExcType, ExcMsg string
	// FirstChunk is the time from the span's start to its first first-chunk event that comes
	// after the start, 0 when there is none.
	FirstChunk time.Duration
}

// SetPdata sets s to span.
func (s *Span) SetPdata(span ptrace.Span) {
	status := span.Status()
	*s = Span{
		TraceID:    span.TraceID(),
		SpanID:     span.SpanID(),
		ParentID:   span.ParentSpanID(),
		Name:       span.Name(),
		Kind:       span.Kind(),
		Start:      uint64(span.StartTimestamp()),
		End:        uint64(span.EndTimestamp()),
		StatusCode: status.Code(),
		StatusMsg:  status.Message(),
		TraceState: span.TraceState().AsRaw(),
		pspan:      span,
	}
}

// SetRawEvents gives s the bytes of its event fields, read by raw when needed.
func (s *Span) SetRawEvents(fields []byte, raw Raw) { s.rawEv, s.raw = fields, raw }

func (s *Span) events() Events {
	if s.raw != nil {
		return s.raw.Events(s.rawEv, s.Start)
	}
	var out Events
	chunkSeen := false
	events := s.pspan.Events()
	for i := 0; i < events.Len(); i++ {
		ev := events.At(i)
		switch n := ev.Name(); n {
		case "exception":
			if v, ok := ev.Attributes().Get("exception.type"); ok {
				out.ExcType = v.AsString()
			}
			if v, ok := ev.Attributes().Get("exception.message"); ok {
				out.ExcMsg = v.AsString()
			}
			out.Exception = true
		case "ai.stream.firstChunk", "First Token Stream Event":
			if t := uint64(ev.Timestamp()); !chunkSeen && t > s.Start {
				out.FirstChunk = time.Duration(t - s.Start)
				chunkSeen = true
			}
		}
	}
	return out
}
