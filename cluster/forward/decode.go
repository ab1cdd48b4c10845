package forward

import (
	"fmt"
	"math"
	"time"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/outagewatch/outagewatch/detectors"
)

// decodeCall decodes one Call message into c, which is zero. prev is the call decoded before it
// in the same batch, or nil: its strings are reused when equal.
func decodeCall(b []byte, c *detectors.Call, prev *detectors.Call) error {
	if prev == nil {
		prev = &detectors.Call{}
	}
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		var err error
		switch {
		case num == fieldTime || num == fieldRequestID || num == fieldWeight:
			n, err = decodeFixed(b, typ, num, c)
		case isStringField(num):
			n, err = decodeString(b, typ, num, c, prev)
		case isVarintField(num):
			n, err = decodeVarint(b, typ, num, c)
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				err = protowire.ParseError(n)
			}
		}
		if err != nil {
			return fmt.Errorf("field %d: %w", num, err)
		}
		b = b[n:]
	}
	return nil
}

func isStringField(num protowire.Number) bool {
	switch num {
	case fieldProvider, fieldModel, fieldOperation, fieldFinishReasonRaw, fieldService,
		fieldServiceNamespace, fieldEnvironment, fieldEndpoint, fieldConvention, fieldErrorMessage:
		return true
	}
	return false
}

func isVarintField(num protowire.Number) bool {
	switch num {
	case fieldOutcome, fieldErrorClass, fieldHTTPStatus, fieldDuration, fieldTTFT, fieldStreaming,
		fieldFinishReason, fieldInputTokens, fieldOutputTokens, fieldSource, fieldAttempts,
		fieldFailedAttempts, fieldAttemptClass:
		return true
	}
	return false
}

// wireTypeError is the error of a known field sent with another wire type.
func wireTypeError(got, want protowire.Type) error {
	return fmt.Errorf("wire type %d, want %d", got, want)
}

func decodeFixed(b []byte, typ protowire.Type, num protowire.Number, c *detectors.Call) (int, error) {
	if typ != protowire.Fixed64Type {
		return 0, wireTypeError(typ, protowire.Fixed64Type)
	}
	v, n := protowire.ConsumeFixed64(b)
	if n < 0 {
		return 0, protowire.ParseError(n)
	}
	switch num {
	case fieldTime:
		c.Time = time.Unix(0, int64(v)).UTC()
	case fieldRequestID:
		c.RequestID = v
	case fieldWeight:
		w := math.Float64frombits(v)
		if math.IsNaN(w) || math.IsInf(w, 0) || w < 0 {
			return 0, fmt.Errorf("weight %v: must be finite and not negative", w)
		}
		c.Weight = w
	}
	return n, nil
}

func decodeString(b []byte, typ protowire.Type, num protowire.Number, c, prev *detectors.Call) (int, error) {
	if typ != protowire.BytesType {
		return 0, wireTypeError(typ, protowire.BytesType)
	}
	v, n := protowire.ConsumeBytes(b)
	if n < 0 {
		return 0, protowire.ParseError(n)
	}
	if num == fieldErrorMessage {
		c.ErrorMessage = str(capBytes(v, MaxErrorMessageBytes), prev.ErrorMessage)
		return n, nil
	}
	v = capBytes(v, MaxStringBytes)
	switch num {
	case fieldProvider:
		c.Provider = str(v, prev.Provider)
	case fieldModel:
		c.Model = str(v, prev.Model)
	case fieldOperation:
		c.Operation = str(v, prev.Operation)
	case fieldFinishReasonRaw:
		c.FinishReasonRaw = str(v, prev.FinishReasonRaw)
	case fieldService:
		c.Service = str(v, prev.Service)
	case fieldServiceNamespace:
		c.ServiceNamespace = str(v, prev.ServiceNamespace)
	case fieldEnvironment:
		c.Environment = str(v, prev.Environment)
	case fieldEndpoint:
		c.Endpoint = str(v, prev.Endpoint)
	case fieldConvention:
		c.Convention = str(v, prev.Convention)
	}
	return n, nil
}

// str returns v as a string: prev when they are equal (no allocation), else a copy.
func str(v []byte, prev string) string {
	if string(v) == prev {
		return prev
	}
	return string(v)
}

func decodeVarint(b []byte, typ protowire.Type, num protowire.Number, c *detectors.Call) (int, error) {
	if typ != protowire.VarintType {
		return 0, wireTypeError(typ, protowire.VarintType)
	}
	v, n := protowire.ConsumeVarint(b)
	if n < 0 {
		return 0, protowire.ParseError(n)
	}
	var err error
	switch num {
	case fieldOutcome:
		c.Outcome, err = enum[detectors.Outcome](v, maxOutcome, "outcome")
	case fieldErrorClass:
		c.ErrorClass, err = enum[detectors.ErrorClass](v, maxErrorClass, "error class")
	case fieldAttemptClass:
		c.AttemptClass, err = enum[detectors.ErrorClass](v, maxErrorClass, "attempt class")
	case fieldFinishReason:
		c.FinishReason, err = enum[detectors.FinishReason](v, maxFinishReason, "finish reason")
	case fieldSource:
		c.Source, err = enum[detectors.Source](v, maxSource, "source")
	case fieldHTTPStatus:
		c.HTTPStatus, err = count(v, maxHTTPStatus, "http status")
	case fieldAttempts:
		c.Attempts, err = count(v, math.MaxInt32, "attempts")
	case fieldFailedAttempts:
		c.FailedAttempts, err = count(v, math.MaxInt32, "failed attempts")
	case fieldDuration:
		c.Duration = time.Duration(int64(v))
	case fieldTTFT:
		c.TTFT = time.Duration(int64(v))
	case fieldStreaming:
		c.Streaming = protowire.DecodeBool(v)
	case fieldInputTokens:
		c.InputTokens = int64(v)
	case fieldOutputTokens:
		c.OutputTokens = int64(v)
	}
	return n, err
}

// enum checks that v is at most limit, the largest value of the enum E.
func enum[E ~uint8](v, limit uint64, name string) (E, error) {
	if v > limit {
		return 0, fmt.Errorf("%s %d out of range [0, %d]", name, v, limit)
	}
	return E(v), nil
}

// count checks that the int64 in v lies in [0, limit].
func count(v uint64, limit int64, name string) (int, error) {
	if i := int64(v); i < 0 || i > limit {
		return 0, fmt.Errorf("%s %d out of range [0, %d]", name, i, limit)
	}
	return int(v), nil
}
