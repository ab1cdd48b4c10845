package forward

import (
	"fmt"
	"math"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/outagewatch/outagewatch/detectors"
)

// Limits of the wire format. The encoder keeps to them; the decoder enforces them.
const (
	// MaxBatchCalls is the most calls one CallBatch frame may carry.
	MaxBatchCalls = 8192
	// MaxStringBytes caps every string field but the error message: longer ones are cut at a
	// rune boundary, on both sides of the wire.
	MaxStringBytes = 1024
	// MaxErrorMessageBytes caps ErrorMessage, as the normaliser caps it.
	MaxErrorMessageBytes = 256
)

// Field numbers of CallBatch, Ack and Call (forward.proto).
const (
	fieldBatchCalls = 1
	fieldAckCalls   = 1

	fieldTime             = 1
	fieldProvider         = 2
	fieldModel            = 3
	fieldOperation        = 4
	fieldOutcome          = 5
	fieldErrorClass       = 6
	fieldHTTPStatus       = 7
	fieldDuration         = 8
	fieldTTFT             = 9
	fieldStreaming        = 10
	fieldFinishReason     = 11
	fieldFinishReasonRaw  = 12
	fieldInputTokens      = 13
	fieldOutputTokens     = 14
	fieldService          = 15
	fieldServiceNamespace = 16
	fieldEnvironment      = 17
	fieldEndpoint         = 18
	fieldConvention       = 19
	fieldSource           = 20
	fieldAttempts         = 21
	fieldFailedAttempts   = 22
	fieldAttemptClass     = 23
	fieldRequestID        = 24
	fieldErrorMessage     = 25
	fieldWeight           = 26
)

// Largest valid values of the enums, checked on decode.
const (
	maxOutcome      = uint64(detectors.OutcomeIncomplete)
	maxErrorClass   = uint64(detectors.ClassOther)
	maxFinishReason = uint64(detectors.FinishOther)
	maxSource       = uint64(detectors.SourceAttempt)
	maxHTTPStatus   = 999
)

// AppendBatch appends the CallBatch encoding of calls to dst and returns the extended slice.
// Strings are cut to their caps. calls should hold at most MaxBatchCalls calls, or the receiver
// refuses the batch; the client never sends more.
func AppendBatch(dst []byte, calls []detectors.Call) []byte {
	for i := range calls {
		c := &calls[i]
		dst = protowire.AppendTag(dst, fieldBatchCalls, protowire.BytesType)
		dst = protowire.AppendVarint(dst, uint64(callSize(c)))
		dst = appendCall(dst, c)
	}
	return dst
}

// callSize is the length of c's encoding by appendCall.
func callSize(c *detectors.Call) int {
	n := 0
	if !c.Time.IsZero() {
		n += 1 + 8
	}
	n += strSize(fieldProvider, c.Provider, MaxStringBytes)
	n += strSize(fieldModel, c.Model, MaxStringBytes)
	n += strSize(fieldOperation, c.Operation, MaxStringBytes)
	n += uintSize(fieldOutcome, enumValue(uint64(c.Outcome), maxOutcome))
	n += uintSize(fieldErrorClass, enumValue(uint64(c.ErrorClass), maxErrorClass))
	n += uintSize(fieldHTTPStatus, countValue(c.HTTPStatus, maxHTTPStatus))
	n += uintSize(fieldDuration, uint64(c.Duration))
	n += uintSize(fieldTTFT, uint64(c.TTFT))
	if c.Streaming {
		n += 1 + 1
	}
	n += uintSize(fieldFinishReason, enumValue(uint64(c.FinishReason), maxFinishReason))
	n += strSize(fieldFinishReasonRaw, c.FinishReasonRaw, MaxStringBytes)
	n += uintSize(fieldInputTokens, uint64(c.InputTokens))
	n += uintSize(fieldOutputTokens, uint64(c.OutputTokens))
	n += strSize(fieldService, c.Service, MaxStringBytes)
	n += strSize(fieldServiceNamespace, c.ServiceNamespace, MaxStringBytes)
	n += strSize(fieldEnvironment, c.Environment, MaxStringBytes)
	n += strSize(fieldEndpoint, c.Endpoint, MaxStringBytes)
	n += strSize(fieldConvention, c.Convention, MaxStringBytes)
	n += uintSize(fieldSource, enumValue(uint64(c.Source), maxSource))
	n += uintSize(fieldAttempts, countValue(c.Attempts, math.MaxInt32))
	n += uintSize(fieldFailedAttempts, countValue(c.FailedAttempts, math.MaxInt32))
	n += uintSize(fieldAttemptClass, enumValue(uint64(c.AttemptClass), maxErrorClass))
	if c.RequestID != 0 {
		n += 2 + 8 // field 24 needs a two-byte tag
	}
	n += strSize(fieldErrorMessage, c.ErrorMessage, MaxErrorMessageBytes)
	if weightValue(c.Weight) != 0 {
		n += 2 + 8
	}
	return n
}

// appendCall appends c's fields, zero values left out, in field order.
func appendCall(b []byte, c *detectors.Call) []byte {
	if !c.Time.IsZero() {
		b = protowire.AppendTag(b, fieldTime, protowire.Fixed64Type)
		b = protowire.AppendFixed64(b, uint64(c.Time.UnixNano()))
	}
	b = appendStr(b, fieldProvider, c.Provider, MaxStringBytes)
	b = appendStr(b, fieldModel, c.Model, MaxStringBytes)
	b = appendStr(b, fieldOperation, c.Operation, MaxStringBytes)
	b = appendUint(b, fieldOutcome, enumValue(uint64(c.Outcome), maxOutcome))
	b = appendUint(b, fieldErrorClass, enumValue(uint64(c.ErrorClass), maxErrorClass))
	b = appendUint(b, fieldHTTPStatus, countValue(c.HTTPStatus, maxHTTPStatus))
	b = appendUint(b, fieldDuration, uint64(c.Duration))
	b = appendUint(b, fieldTTFT, uint64(c.TTFT))
	if c.Streaming {
		b = appendUint(b, fieldStreaming, 1)
	}
	b = appendUint(b, fieldFinishReason, enumValue(uint64(c.FinishReason), maxFinishReason))
	b = appendStr(b, fieldFinishReasonRaw, c.FinishReasonRaw, MaxStringBytes)
	b = appendUint(b, fieldInputTokens, uint64(c.InputTokens))
	b = appendUint(b, fieldOutputTokens, uint64(c.OutputTokens))
	b = appendStr(b, fieldService, c.Service, MaxStringBytes)
	b = appendStr(b, fieldServiceNamespace, c.ServiceNamespace, MaxStringBytes)
	b = appendStr(b, fieldEnvironment, c.Environment, MaxStringBytes)
	b = appendStr(b, fieldEndpoint, c.Endpoint, MaxStringBytes)
	b = appendStr(b, fieldConvention, c.Convention, MaxStringBytes)
	b = appendUint(b, fieldSource, enumValue(uint64(c.Source), maxSource))
	b = appendUint(b, fieldAttempts, countValue(c.Attempts, math.MaxInt32))
	b = appendUint(b, fieldFailedAttempts, countValue(c.FailedAttempts, math.MaxInt32))
	b = appendUint(b, fieldAttemptClass, enumValue(uint64(c.AttemptClass), maxErrorClass))
	if c.RequestID != 0 {
		b = protowire.AppendTag(b, fieldRequestID, protowire.Fixed64Type)
		b = protowire.AppendFixed64(b, c.RequestID)
	}
	b = appendStr(b, fieldErrorMessage, c.ErrorMessage, MaxErrorMessageBytes)
	if w := weightValue(c.Weight); w != 0 {
		b = protowire.AppendTag(b, fieldWeight, protowire.Fixed64Type)
		b = protowire.AppendFixed64(b, math.Float64bits(w))
	}
	return b
}

// The encoder sends a value the decoder would refuse as its zero value instead, so that one odd
// call cannot cost the whole batch. Ingest never produces such values.

func enumValue(v, limit uint64) uint64 {
	if v > limit {
		return 0
	}
	return v
}

func countValue(v int, limit int64) uint64 {
	if v < 0 || int64(v) > limit {
		return 0
	}
	return uint64(v)
}

func weightValue(w float64) float64 {
	if math.IsNaN(w) || math.IsInf(w, 0) || w < 0 {
		return 0
	}
	return w
}

func uintSize(num protowire.Number, v uint64) int {
	if v == 0 {
		return 0
	}
	return protowire.SizeTag(num) + protowire.SizeVarint(v)
}

func appendUint(b []byte, num protowire.Number, v uint64) []byte {
	if v == 0 {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

func strSize(num protowire.Number, s string, limit int) int {
	if s == "" {
		return 0
	}
	s = capString(s, limit)
	return protowire.SizeTag(num) + protowire.SizeBytes(len(s))
}

func appendStr(b []byte, num protowire.Number, s string, limit int) []byte {
	if s == "" {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendString(b, capString(s, limit))
}

// capString cuts s to at most n bytes at a rune boundary (normalize.CapString's rule).
func capString(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}

// capBytes is capString for a field's bytes on decode.
func capBytes(b []byte, n int) []byte {
	if len(b) <= n {
		return b
	}
	for n > 0 && b[n]&0xC0 == 0x80 {
		n--
	}
	return b[:n]
}

// DecodeBatch decodes a CallBatch and appends its calls to into. Unknown fields are skipped;
// a malformed batch (bad wire encoding, an enum or count out of range, a non-finite weight,
// more than MaxBatchCalls calls) is an error, and then into is returned as it was. Strings are
// copied out of data, and cut to their caps; a string equal to the same field of the previous
// call shares its memory.
func DecodeBatch(data []byte, into []detectors.Call) ([]detectors.Call, error) {
	start := len(into)
	for len(data) > 0 {
		num, typ, n := protowire.ConsumeTag(data)
		if n < 0 {
			return into[:start], fmt.Errorf("call batch: %w", protowire.ParseError(n))
		}
		data = data[n:]
		if num != fieldBatchCalls {
			if n = protowire.ConsumeFieldValue(num, typ, data); n < 0 {
				return into[:start], fmt.Errorf("call batch: field %d: %w", num, protowire.ParseError(n))
			}
			data = data[n:]
			continue
		}
		if typ != protowire.BytesType {
			return into[:start], fmt.Errorf("call batch: field 1: wire type %d, want bytes", typ)
		}
		msg, n := protowire.ConsumeBytes(data)
		if n < 0 {
			return into[:start], fmt.Errorf("call batch: call %d: %w", len(into)-start, protowire.ParseError(n))
		}
		data = data[n:]
		if len(into)-start == MaxBatchCalls {
			return into[:start], fmt.Errorf("call batch: more than %d calls", MaxBatchCalls)
		}
		var prev *detectors.Call
		if len(into) > start {
			prev = &into[len(into)-1]
		}
		into = append(into, detectors.Call{})
		if err := decodeCall(msg, &into[len(into)-1], prev); err != nil {
			return into[:start], fmt.Errorf("call batch: call %d: %w", len(into)-1-start, err)
		}
	}
	return into, nil
}
