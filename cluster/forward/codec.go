package forward

import (
	"google.golang.org/grpc"
	"google.golang.org/grpc/encoding"
	_ "google.golang.org/grpc/encoding/proto" // the "proto" codec that codec delegates to
	"google.golang.org/grpc/mem"
)

// Names of the service on the wire (forward.proto).
const (
	serviceName   = "outagewatch.cluster.v1.Forwarder"
	forwardMethod = "/" + serviceName + "/Forward"
	// acceptedKey is the header the server sends once it has taken a stream: the client sends no
	// frame before it, so that a refused stream (wrong token, not the leader) costs no calls.
	acceptedKey = "outagewatch-forward-accepted"
)

// frame is a message of the Forward method as wire bytes: a CallBatch or an Ack. Unmarshal
// copies into b, reusing its capacity.
type frame struct{ b []byte }

// outFrame is a frame to send whose bytes live in a pooled buffer; gRPC releases it once written
// (the transport may still read the bytes after SendMsg returns, so they cannot be reused).
type outFrame struct{ buf mem.Buffer }

// codec passes frames through as bytes and delegates every other message to the "proto" codec,
// so that a server built with ServerOption still serves generated services (health, reflection).
// It is set per server and per call, never registered process-wide.
type codec struct{ proto encoding.CodecV2 }

func newCodec() codec { return codec{proto: encoding.GetCodecV2("proto")} }

func (c codec) Marshal(v any) (mem.BufferSlice, error) {
	switch m := v.(type) {
	case *frame:
		return mem.BufferSlice{mem.SliceBuffer(m.b)}, nil
	case *outFrame:
		return mem.BufferSlice{m.buf}, nil
	}
	return c.proto.Marshal(v)
}

func (c codec) Unmarshal(data mem.BufferSlice, v any) error {
	if m, ok := v.(*frame); ok {
		m.b = m.b[:0]
		for _, d := range data {
			m.b = append(m.b, d.ReadOnlyData()...)
		}
		return nil
	}
	return c.proto.Unmarshal(data, v)
}

// Name is "proto": the frames are protobuf, and a peer may read them with generated code.
func (codec) Name() string { return "proto" }

// ServerOption returns the option that a gRPC server given to Register must be built with: it
// lets the Forward method read its frames as bytes, and serves every other service's messages
// with the standard protobuf codec.
func ServerOption() grpc.ServerOption { return grpc.ForceServerCodecV2(newCodec()) }

// forwarder is the handler type of the service: the grpc package checks that the registered
// implementation satisfies it.
type forwarder interface {
	forward(ss grpc.ServerStream) error
}

var forwardStreamDesc = grpc.StreamDesc{
	StreamName:    "Forward",
	Handler:       func(srv any, ss grpc.ServerStream) error { return srv.(forwarder).forward(ss) },
	ClientStreams: true,
}

var serviceDesc = grpc.ServiceDesc{
	ServiceName: serviceName,
	HandlerType: (*forwarder)(nil),
	Streams:     []grpc.StreamDesc{forwardStreamDesc},
	Metadata:    "cluster/forward/forward.proto",
}

// appendAck appends the Ack message for n calls.
func appendAck(b []byte, n uint64) []byte {
	return appendUint(b, fieldAckCalls, n)
}
