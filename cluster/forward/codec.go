package forward

import (
	"google.golang.org/grpc"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"

	clusterframe "github.com/outagewatch/outagewatch/cluster/frame"
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

// MarshalFrame and UnmarshalFrame let the cluster's shared codec (cluster/frame) pass frames as
// bytes.
func (f *frame) MarshalFrame() (mem.BufferSlice, error) {
	return mem.BufferSlice{mem.SliceBuffer(f.b)}, nil
}

func (f *frame) UnmarshalFrame(data mem.BufferSlice) error {
	f.b = f.b[:0]
	for _, d := range data {
		f.b = append(f.b, d.ReadOnlyData()...)
	}
	return nil
}

// outFrame is a frame to send whose bytes live in a pooled buffer; gRPC releases it once written
// (the transport may still read the bytes after SendMsg returns, so they cannot be reused).
type outFrame struct{ buf mem.Buffer }

func (f *outFrame) MarshalFrame() (mem.BufferSlice, error) { return mem.BufferSlice{f.buf}, nil }

// newCodec is the cluster's shared codec.
func newCodec() encoding.CodecV2 { return clusterframe.Codec() }

// ServerOption returns the option that a gRPC server given to Register must be built with: it
// lets the Forward method read its frames as bytes, and serves every other service's messages
// with the standard protobuf codec. It is cluster/frame's, shared with the cluster's other
// services.
func ServerOption() grpc.ServerOption { return clusterframe.ServerOption() }

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
