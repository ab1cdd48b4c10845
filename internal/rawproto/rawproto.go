// Package rawproto is the gRPC client codec of the load and bench commands (cmd/otlpload,
// cmd/hostilebench): they send pre-marshalled protobuf requests, so that sending costs the
// client no marshalling. It is passed per connection or call, never registered process-wide.
package rawproto

import (
	"fmt"

	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"
)

// Message is an already-encoded protobuf message.
type Message []byte

// Codec passes Messages through unchanged. It names itself "proto", so the server decodes the
// bytes with its ordinary protobuf codec.
type Codec struct{}

var _ encoding.CodecV2 = Codec{}

// Marshal returns the bytes of a Message without copying; gRPC only reads them, so one body can
// be in flight on several connections.
func (Codec) Marshal(v any) (mem.BufferSlice, error) {
	m, ok := v.(Message)
	if !ok {
		return nil, fmt.Errorf("raw codec: cannot marshal %T", v)
	}
	return mem.BufferSlice{mem.SliceBuffer(m)}, nil
}

// Unmarshal copies the received bytes into a *Message.
func (Codec) Unmarshal(data mem.BufferSlice, v any) error {
	m, ok := v.(*Message)
	if !ok {
		return fmt.Errorf("raw codec: cannot unmarshal into %T", v)
	}
	*m = data.Materialize()
	return nil
}

// Name is the content subtype: "proto", as for any protobuf message.
func (Codec) Name() string { return "proto" }
