package ingest

import (
	"strconv"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// attrValue is an attribute value as extraction needs it, filled either from a pcommon.Value
// (the pdata path) or from the raw protobuf bytes of a KeyValue (the protobuf fast path).
// Scalars are held directly; the rare maps, byte strings and arrays keep their source, and are
// rendered with pdata's own AsString when asked for, so both paths agree.
type attrValue struct {
	typ pcommon.ValueType
	s   string
	i   int64
	f   float64
	b   bool
	// pv is the pdata path's value of a map, slice or bytes.
	pv pcommon.Value
	// kv is the fast path's KeyValue message of a map, slice or bytes value; arr the payload of
	// its ArrayValue for slices.
	kv  []byte
	arr []byte
}

func (v *attrValue) setPcommon(pv pcommon.Value) {
	*v = attrValue{typ: pv.Type()}
	switch v.typ {
	case pcommon.ValueTypeStr:
		v.s = pv.Str()
	case pcommon.ValueTypeInt:
		v.i = pv.Int()
	case pcommon.ValueTypeDouble:
		v.f = pv.Double()
	case pcommon.ValueTypeBool:
		v.b = pv.Bool()
	case pcommon.ValueTypeMap, pcommon.ValueTypeSlice, pcommon.ValueTypeBytes:
		v.pv = pv
	}
}

// pvalue returns the value of a map, slice or bytes as pdata holds it.
func (v *attrValue) pvalue() pcommon.Value {
	if v.kv != nil {
		return decodeKVValue(v.kv)
	}
	return v.pv
}

// asString is pcommon.Value.AsString.
func (v *attrValue) asString() string {
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
		return pcommon.NewValueDouble(v.f).AsString()
	}
	return v.pvalue().AsString()
}

// sliceFirst returns the AsString of a slice's first element and the slice's length.
func (v *attrValue) sliceFirst() (string, int) {
	if v.kv != nil {
		return rawSliceFirst(v.arr)
	}
	s := v.pv.Slice()
	if s.Len() == 0 {
		return "", 0
	}
	return s.At(0).AsString(), s.Len()
}

// spanData is what extraction reads of a span besides its attributes.
type spanData struct {
	traceID    pcommon.TraceID
	spanID     pcommon.SpanID
	parentID   pcommon.SpanID
	name       string
	kind       ptrace.SpanKind
	start, end uint64
	statusCode ptrace.StatusCode
	statusMsg  string

	// The span's events are read only for LLM spans, from one of these: the pdata span, or
	// (fromRaw) the bytes of the Span message from its first event field to its last.
	pspan   ptrace.Span
	fromRaw bool
	rawEv   []byte
}

// spanEvents is what extraction reads of a span's events.
type spanEvents struct {
	// exception: the span has an exception event; excType and excMsg are the last such event's
	// exception.type and exception.message.
	exception       bool
	excType, excMsg string
	// firstChunk is the time from the span's start to its first first-chunk event that comes
	// after the start, 0 when there is none.
	firstChunk time.Duration
}

func (sd *spanData) fromPdata(span ptrace.Span) {
	status := span.Status()
	*sd = spanData{
		traceID:    span.TraceID(),
		spanID:     span.SpanID(),
		parentID:   span.ParentSpanID(),
		name:       span.Name(),
		kind:       span.Kind(),
		start:      uint64(span.StartTimestamp()),
		end:        uint64(span.EndTimestamp()),
		statusCode: status.Code(),
		statusMsg:  status.Message(),
		pspan:      span,
	}
}

func (sd *spanData) events() spanEvents {
	if sd.fromRaw {
		return rawEvents(sd.rawEv, sd.start)
	}
	var out spanEvents
	chunkSeen := false
	events := sd.pspan.Events()
	for i := 0; i < events.Len(); i++ {
		ev := events.At(i)
		switch n := ev.Name(); n {
		case "exception":
			if v, ok := ev.Attributes().Get("exception.type"); ok {
				out.excType = v.AsString()
			}
			if v, ok := ev.Attributes().Get("exception.message"); ok {
				out.excMsg = v.AsString()
			}
			out.exception = true
		case "ai.stream.firstChunk", "First Token Stream Event":
			if t := uint64(ev.Timestamp()); !chunkSeen && t > sd.start {
				out.firstChunk = time.Duration(t - sd.start)
				chunkSeen = true
			}
		}
	}
	return out
}
