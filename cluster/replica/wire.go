package replica

import (
	"google.golang.org/grpc"
	"google.golang.org/grpc/mem"

	clusterframe "github.com/outagewatch/outagewatch/cluster/frame"
	"github.com/outagewatch/outagewatch/detectors"
)

// The wire. Frames are encoding/gob values: one gob.Encoder per stream writes into a buffer, each
// buffer goes as one gRPC message of raw bytes, and the follower's gob.Decoder reads the
// concatenation. gob sends the frame's type once per stream and then the values alone, with
// zero fields left out (update frames are deltas besides: delta.go); it needs no generated code for detectors' types, which stay free of any wire
// annotations (detectors imports no package of ours and knows nothing of transports). Both ends
// are the same binary in a cluster (replicas are upgraded together), so gob's Go-only format
// costs nothing; a field added to detectors.Status is carried, and an older follower ignores it.

const (
	serviceName  = "outagewatch.cluster.v1.Replicator"
	followMethod = "/" + serviceName + "/Follow"
	// maxFrameBytes bounds a frame a follower accepts: a full board of 10,000 series is about
	// 2.2 MB (BenchmarkFrameBytes), so gRPC's default limit of 4 MiB would refuse a board of
	// 20,000.
	maxFrameBytes = 64 << 20
)

// frameKind says what a frame carries.
type frameKind uint8

const (
	frameFull      frameKind = iota + 1 // the whole board: Version, Statuses, Term
	frameUpdate                         // statuses and the transitions since the last frame
	frameHeartbeat                      // nothing changed: the leader is alive
)

func (k frameKind) String() string {
	switch k {
	case frameFull:
		return "full"
	case frameUpdate:
		return "update"
	case frameHeartbeat:
		return "heartbeat"
	}
	return "unknown"
}

// frame is one message of the Follow stream.
type frame struct {
	Kind    frameKind
	Version uint64 // the leader's board version after the frame
	Term    int64  // the leader's term
	// SentAt is the leader's clock when it sent the frame (Unix nanoseconds): the follower's
	// replication lag is measured from it, across the two hosts' clocks.
	SentAt      int64
	Statuses    []detectors.Status     // full frames, and update frames that are not Delta
	Transitions []detectors.Transition // update frames: numbered Version-len+1 … Version
	// Delta says that an update frame carries the changes from the stream's last statuses
	// (delta.go) instead of Statuses: Changed, whole, and Figures.
	Delta   bool
	Changed []statusAt
	Figures []figuresAt
}

// message is one gRPC message of the Follow stream: raw bytes (the follower's id, or gob
// frames), written and read as they are by cluster/frame's codec, which hands every other
// message to the protobuf codec. The Replicator thus shares a server with the OTLP receiver
// and grpc.health.v1, and no codec is registered process-wide.
type message []byte

var (
	_ clusterframe.Marshaler   = (*message)(nil)
	_ clusterframe.Unmarshaler = (*message)(nil)
)

// MarshalFrame returns the bytes as they are; gRPC writes them after SendMsg returns, so the
// caller must not reuse them.
func (m *message) MarshalFrame() (mem.BufferSlice, error) {
	return mem.BufferSlice{mem.SliceBuffer(*m)}, nil
}

// UnmarshalFrame keeps a copy of data, which is freed when it returns.
func (m *message) UnmarshalFrame(data mem.BufferSlice) error {
	*m = data.Materialize()
	return nil
}

// ServerCodec is the option the gRPC server that RegisterPublisher registers on must be built
// with, unless its codec already lets messages write their own bytes (cluster/frame's, or the
// OTLP receiver's server): cluster/frame.ServerOption.
func ServerCodec() grpc.ServerOption { return clusterframe.ServerOption() }

// followServer is what the service descriptor's handler calls.
type followServer interface {
	follow(id string, stream grpc.ServerStream) error
}

// serviceDesc is outagewatch.cluster.v1.Replicator, written by hand (no generated code): one
// server-streaming method, Follow, whose request is the follower's id as raw bytes and whose
// messages are gob frames.
var serviceDesc = grpc.ServiceDesc{
	ServiceName: serviceName,
	HandlerType: (*followServer)(nil),
	Streams: []grpc.StreamDesc{{
		StreamName:    "Follow",
		ServerStreams: true,
		Handler: func(srv any, stream grpc.ServerStream) error {
			var id message
			if err := stream.RecvMsg(&id); err != nil {
				return err
			}
			return srv.(followServer).follow(string(id), stream)
		},
	}},
	Metadata: "cluster/replica/wire.go",
}
