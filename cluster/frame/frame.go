// Package frame is the gRPC codec the cluster's services share (cluster/forward, cluster/replica):
// their messages are bytes the services encode themselves, and a gRPC server takes one forced
// codec only, so one codec serves them all and passes every other message (the OTLP services,
// grpc.health.v1 on the same server) to the standard "proto" codec. It is set per server and per
// call, never registered process-wide.
package frame

import (
	"google.golang.org/grpc"
	"google.golang.org/grpc/encoding"
	_ "google.golang.org/grpc/encoding/proto" // the "proto" codec delegated to
	"google.golang.org/grpc/mem"
)

// Marshaler is a message that writes its own bytes.
type Marshaler interface {
	MarshalFrame() (mem.BufferSlice, error)
}

// Unmarshaler is a message that reads its own bytes.
type Unmarshaler interface {
	UnmarshalFrame(data mem.BufferSlice) error
}

type codec struct{ proto encoding.CodecV2 }

// Codec returns the shared codec.
func Codec() encoding.CodecV2 { return codec{proto: encoding.GetCodecV2("proto")} }

func (c codec) Marshal(v any) (mem.BufferSlice, error) {
	if m, ok := v.(Marshaler); ok {
		return m.MarshalFrame()
	}
	return c.proto.Marshal(v)
}

func (c codec) Unmarshal(data mem.BufferSlice, v any) error {
	if m, ok := v.(Unmarshaler); ok {
		return m.UnmarshalFrame(data)
	}
	return c.proto.Unmarshal(data, v)
}

// Name is "proto": frames are protobuf or opaque bytes, and generated services keep working.
func (codec) Name() string { return "proto" }

// ServerOption is the option a gRPC server serving the cluster's services is built with.
func ServerOption() grpc.ServerOption { return grpc.ForceServerCodecV2(Codec()) }

// CallOption is the option a client of the cluster's services calls with.
func CallOption() grpc.CallOption { return grpc.ForceCodecV2(Codec()) }
