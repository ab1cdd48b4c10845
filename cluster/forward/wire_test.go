package forward

import (
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/outagewatch/outagewatch/detectors"
)

// fullCall has every field set to a value other than its zero.
func fullCall(i int) detectors.Call {
	return detectors.Call{
		Time:             time.Unix(1_780_000_000, int64(i)*1_000_003).UTC(),
		Provider:         "anthropic",
		Model:            "claude-sonnet-4",
		Operation:        "chat",
		Outcome:          detectors.OutcomeTruncated,
		ErrorClass:       detectors.ClassOverloaded,
		HTTPStatus:       529,
		Duration:         1234 * time.Millisecond,
		TTFT:             345 * time.Millisecond,
		Streaming:        true,
		FinishReason:     detectors.FinishAbnormal,
		FinishReasonRaw:  "error",
		InputTokens:      1200 + int64(i),
		OutputTokens:     87,
		Service:          "checkout",
		ServiceNamespace: "shop",
		Environment:      "prod",
		Endpoint:         "api.anthropic.com",
		Convention:       "genai",
		Source:           detectors.SourceAttempt,
		Attempts:         3,
		FailedAttempts:   2,
		AttemptClass:     detectors.ClassTimeout,
		RequestID:        0xdeadbeefcafef00d + uint64(i),
		ErrorMessage:     "overloaded_error: Overloaded",
		Weight:           4.5,
	}
}

func TestRoundTripEveryField(t *testing.T) {
	t.Parallel()
	c := fullCall(1)
	// Every field of detectors.Call must be non-zero here, so that a field added to Call and
	// forgotten by the wire format fails this test.
	v := reflect.ValueOf(c)
	for i := range v.NumField() {
		require.False(t, v.Field(i).IsZero(), "fullCall leaves %s zero", v.Type().Field(i).Name)
	}
	calls := []detectors.Call{c, fullCall(2), {}, {Provider: "openai", Time: time.Unix(0, 0).UTC()}}
	got, err := DecodeBatch(AppendBatch(nil, calls), nil)
	require.NoError(t, err)
	require.Equal(t, calls, got)
}

func TestRoundTripEdgeValues(t *testing.T) {
	t.Parallel()
	calls := []detectors.Call{{
		Time:         time.Unix(-5, -7).UTC(),
		Duration:     -time.Second,
		TTFT:         math.MaxInt64,
		InputTokens:  math.MinInt64,
		OutputTokens: math.MaxInt64,
		RequestID:    math.MaxUint64,
		Attempts:     math.MaxInt32,
		HTTPStatus:   999,
		Weight:       math.SmallestNonzeroFloat64,
	}}
	got, err := DecodeBatch(AppendBatch(nil, calls), nil)
	require.NoError(t, err)
	require.Equal(t, calls, got)
}

func TestEncodeCapsAndSanitises(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("é", 1000) // 2000 bytes
	in := []detectors.Call{{
		Provider: long, ErrorMessage: long, HTTPStatus: -1, Attempts: -3, Weight: math.NaN(),
		Outcome: 200, ErrorClass: 77, FinishReason: 99, AttemptClass: 12, Source: 3,
	}}
	got, err := DecodeBatch(AppendBatch(nil, in), nil)
	require.NoError(t, err)
	require.Len(t, got, 1)
	require.Equal(t, strings.Repeat("é", MaxStringBytes/2), got[0].Provider)
	require.Equal(t, strings.Repeat("é", MaxErrorMessageBytes/2), got[0].ErrorMessage)
	require.Equal(t, detectors.Call{Provider: got[0].Provider, ErrorMessage: got[0].ErrorMessage}, got[0])
}

func TestDecodeCapsLongStrings(t *testing.T) {
	t.Parallel()
	var msg []byte
	msg = protowire.AppendTag(msg, fieldModel, protowire.BytesType)
	msg = protowire.AppendString(msg, "a"+strings.Repeat("€", 2000)) // cut inside a rune
	var b []byte
	b = protowire.AppendTag(b, fieldBatchCalls, protowire.BytesType)
	b = protowire.AppendBytes(b, msg)
	got, err := DecodeBatch(b, nil)
	require.NoError(t, err)
	require.Equal(t, "a"+strings.Repeat("€", (MaxStringBytes-1)/3), got[0].Model)
}

func TestDecodeSkipsUnknownFields(t *testing.T) {
	t.Parallel()
	var msg []byte
	msg = protowire.AppendTag(msg, 99, protowire.BytesType)
	msg = protowire.AppendString(msg, "from a newer replica")
	msg = protowire.AppendTag(msg, 100, protowire.Fixed32Type)
	msg = protowire.AppendFixed32(msg, 7)
	msg = appendStr(msg, fieldProvider, "openai", MaxStringBytes)
	var b []byte
	b = protowire.AppendTag(b, 7, protowire.VarintType)
	b = protowire.AppendVarint(b, 42)
	b = protowire.AppendTag(b, fieldBatchCalls, protowire.BytesType)
	b = protowire.AppendBytes(b, msg)
	got, err := DecodeBatch(b, nil)
	require.NoError(t, err)
	require.Equal(t, []detectors.Call{{Provider: "openai"}}, got)
}

func TestDecodeSharesRepeatedStrings(t *testing.T) {
	t.Parallel()
	got, err := DecodeBatch(AppendBatch(nil, []detectors.Call{fullCall(1), fullCall(2)}), nil)
	require.NoError(t, err)
	require.Equal(t, unsafeData(got[0].Model), unsafeData(got[1].Model))
}

// call returns a batch of one call with the given encoded fields.
func call(fields ...func([]byte) []byte) []byte {
	var msg []byte
	for _, f := range fields {
		msg = f(msg)
	}
	b := protowire.AppendTag(nil, fieldBatchCalls, protowire.BytesType)
	return protowire.AppendBytes(b, msg)
}

func varintField(num protowire.Number, v uint64) func([]byte) []byte {
	return func(b []byte) []byte {
		return protowire.AppendVarint(protowire.AppendTag(b, num, protowire.VarintType), v)
	}
}

func TestDecodeMalformed(t *testing.T) {
	t.Parallel()
	good := AppendBatch(nil, []detectors.Call{fullCall(1)})
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"truncated", good[:len(good)-3], "call batch: call 0"},
		{"bad tag", []byte{0x00}, "call batch"},
		{"calls as varint", []byte{0x08, 0x01}, "wire type 0, want bytes"},
		{"outcome out of range", call(varintField(fieldOutcome, 4)), "outcome 4 out of range"},
		{"error class out of range", call(varintField(fieldErrorClass, 10)), "error class 10"},
		{"attempt class out of range", call(varintField(fieldAttemptClass, 200)), "attempt class 200"},
		{"finish reason out of range", call(varintField(fieldFinishReason, 8)), "finish reason 8"},
		{"source out of range", call(varintField(fieldSource, 2)), "source 2"},
		{"http status", call(varintField(fieldHTTPStatus, 1000)), "http status 1000"},
		{"negative attempts", call(varintField(fieldAttempts, math.MaxUint64)), "attempts -1"},
		{"string as varint", call(varintField(fieldProvider, 1)), "field 2: wire type 0, want 2"},
		{"time as varint", call(varintField(fieldTime, 1)), "field 1: wire type 0, want 1"},
		{"negative weight", call(func(b []byte) []byte {
			b = protowire.AppendTag(b, fieldWeight, protowire.Fixed64Type)
			return protowire.AppendFixed64(b, math.Float64bits(-1))
		}), "weight -1"},
		{"NaN weight", call(func(b []byte) []byte {
			b = protowire.AppendTag(b, fieldWeight, protowire.Fixed64Type)
			return protowire.AppendFixed64(b, math.Float64bits(math.NaN()))
		}), "weight NaN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			into := []detectors.Call{{Provider: "kept"}}
			got, err := DecodeBatch(tt.data, into)
			require.ErrorContains(t, err, tt.want)
			require.Equal(t, into, got)
		})
	}
}

func TestDecodeRefusesTooManyCalls(t *testing.T) {
	t.Parallel()
	calls := make([]detectors.Call, MaxBatchCalls+1)
	_, err := DecodeBatch(AppendBatch(nil, calls), nil)
	require.ErrorContains(t, err, "more than 8192 calls")
	got, err := DecodeBatch(AppendBatch(nil, calls[:MaxBatchCalls]), nil)
	require.NoError(t, err)
	require.Len(t, got, MaxBatchCalls)
}
