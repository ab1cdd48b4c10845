package wire

import (
	"fmt"
	"strconv"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
)

func TestInternerIsBounded(t *testing.T) {
	t.Parallel()
	tab := newInterner(internCapacity)
	for i := range 1_000_000 {
		tab.intern("hostile-model-" + strconv.Itoa(i))
	}
	require.Equal(t, tab.capacity(), tab.size(), "a million distinct names leave the table at its capacity")
	require.Equal(t, internCapacity, tab.capacity())

	// A name interned twice in a row is shared, and never shares the caller's bytes.
	b := []byte("claude-sonnet-4-5")
	first := tab.intern(string(b))
	again := tab.intern(unsafe.String(&b[0], len(b)))
	require.Same(t, unsafe.StringData(first), unsafe.StringData(again), "one copy per name")
	require.NotSame(t, unsafe.StringData(again), &b[0], "a copy of its own")
}

func TestInternerKeepsTheTwoLatestOfASet(t *testing.T) {
	t.Parallel()
	tab := newInterner(2) // a single set of two
	a, b := tab.intern("a"), tab.intern("b")
	require.Same(t, unsafe.StringData(a), unsafe.StringData(tab.intern("a")))
	require.Same(t, unsafe.StringData(b), unsafe.StringData(tab.intern("b")))
	tab.intern("c") // evicts the older of a and b
	require.Equal(t, 2, tab.size())
	require.Same(t, unsafe.StringData(b), unsafe.StringData(tab.intern("b")), "the newer stays")
}

// modelRequest is an OTLP request of n LLM spans, each naming its own model.
func modelRequest(tb testing.TB, from, n int) []byte {
	tb.Helper()
	td := ptrace.NewTraces()
	ss := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty()
	for i := from; i < from+n; i++ {
		s := ss.Spans().AppendEmpty()
		s.SetName("chat")
		s.SetTraceID(pcommon.TraceID{1, byte(i >> 16), byte(i >> 8), byte(i)})
		s.SetSpanID(pcommon.SpanID{2, byte(i >> 16), byte(i >> 8), byte(i)})
		s.SetStartTimestamp(1)
		s.SetEndTimestamp(2)
		s.Attributes().PutStr("gen_ai.provider.name", "anthropic")
		s.Attributes().PutStr("gen_ai.request.model", fmt.Sprintf("hostile-%d", i))
	}
	b, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	require.NoError(tb, err)
	return b
}

// TestDecoderInternTableIsItsOwnAndBounded sends a decoder many requests of distinct model
// names: its intern table stops at its capacity, and another decoder's table is untouched.
func TestDecoderInternTableIsItsOwnAndBounded(t *testing.T) {
	t.Parallel()
	d, other := newDecoder(), newDecoder()
	const perRequest = 2000
	names := 16 * internCapacity
	if !testing.Short() {
		names = 1_000_000
	}
	for from := 0; from < names; from += perRequest {
		var res Batch
		require.NoError(t, d.DecodeProto(modelRequest(t, from, perRequest), &res))
		require.Len(t, res.Records, perRequest)
		d.Release(res.Records)
	}
	require.Equal(t, internCapacity, d.strs.size(), "%d distinct model names leave the table at its capacity", names)
	require.Zero(t, other.strs.size(), "each decoder has its own table")
}
