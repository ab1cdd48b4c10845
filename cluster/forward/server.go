package forward

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/outagewatch/outagewatch/detectors"
)

// Sink receives the calls forwarded to the leader: the engine runner.
//
// The server calls ConsumeCalls from one goroutine at a time, whatever the number of streams.
// The slice is reused after the call returns: keep the Call values, not the slice. It should not
// block for long: every replica's stream waits while it runs.
type Sink interface {
	ConsumeCalls(calls []detectors.Call)
}

// SinkFunc adapts a function to Sink.
type SinkFunc func(calls []detectors.Call)

// ConsumeCalls calls f(calls).
func (f SinkFunc) ConsumeCalls(calls []detectors.Call) { f(calls) }

// DefaultMaxBatchBytes is the default of ServerOptions.MaxBatchBytes: gRPC's own default limit
// on a received message.
const DefaultMaxBatchBytes = 4 << 20

// ServerOptions configure the Forward service.
type ServerOptions struct {
	// Token returns the cluster's shared secret. A stream must carry the metadata
	// "authorization: Bearer <token>"; an empty token refuses every stream.
	Token func() string
	// Sink returns the engine's sink while this replica leads, nil otherwise. It is asked when a
	// stream opens and before every frame, so a replica that loses the lead ends its streams.
	Sink func() Sink
	// MaxBatchBytes bounds one frame; a larger one ends its stream with ResourceExhausted.
	// 0 means DefaultMaxBatchBytes.
	MaxBatchBytes int
	// Registerer takes the server's metrics; nil registers them nowhere.
	Registerer prometheus.Registerer
	// Logger is the server's logger; nil discards.
	Logger *slog.Logger
}

// server serves the Forward method.
type server struct {
	opts   ServerOptions
	logger *slog.Logger
	m      *serverMetrics
	// sinkMu serialises the streams' calls to the sink (Sink's contract).
	sinkMu sync.Mutex
}

// Register registers the Forward service on s, which must have been built with ServerOption().
// Token and Sink are required.
func Register(s *grpc.Server, opts ServerOptions) error {
	if opts.Token == nil {
		return errors.New("forward server: Token must be set")
	}
	if opts.Sink == nil {
		return errors.New("forward server: Sink must be set")
	}
	if opts.MaxBatchBytes < 0 {
		return fmt.Errorf("forward server: MaxBatchBytes %d: must not be negative", opts.MaxBatchBytes)
	}
	if opts.MaxBatchBytes == 0 {
		opts.MaxBatchBytes = DefaultMaxBatchBytes
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	s.RegisterService(&serviceDesc, &server{
		opts:   opts,
		logger: opts.Logger.With("component", "cluster.forward"),
		m:      newServerMetrics(opts.Registerer),
	})
	return nil
}

// errNotLeader is the status of a stream sent to a replica that does not lead.
var errNotLeader = status.Error(codes.FailedPrecondition, "not the leader")

// forward takes one replica's stream: authenticate, check the lead, accept, then hand each
// frame's calls to the sink until the replica closes its side.
func (s *server) forward(ss grpc.ServerStream) error {
	if err := s.authorize(ss); err != nil {
		s.m.rejected.WithLabelValues(reasonUnauthenticated).Inc()
		return err
	}
	if s.opts.Sink() == nil {
		s.m.rejected.WithLabelValues(reasonNotLeader).Inc()
		return errNotLeader
	}
	if err := ss.SendHeader(metadata.Pairs(acceptedKey, "1")); err != nil {
		return err
	}
	s.m.open.Inc()
	defer s.m.open.Dec()
	var (
		in    frame
		calls []detectors.Call
		total uint64
	)
	for {
		err := ss.RecvMsg(&in)
		if errors.Is(err, io.EOF) {
			return ss.SendMsg(&frame{b: appendAck(nil, total)})
		}
		if err != nil {
			return err
		}
		if len(in.b) > s.opts.MaxBatchBytes {
			s.m.rejected.WithLabelValues(reasonTooLarge).Inc()
			err = status.Errorf(codes.ResourceExhausted, "call batch of %d bytes: more than %d", len(in.b), s.opts.MaxBatchBytes)
			return s.refused(ss, err)
		}
		if calls, err = DecodeBatch(in.b, calls[:0]); err != nil {
			s.m.rejected.WithLabelValues(reasonMalformed).Inc()
			return s.refused(ss, status.Error(codes.InvalidArgument, err.Error()))
		}
		sink := s.opts.Sink()
		if sink == nil {
			s.m.rejected.WithLabelValues(reasonNotLeader).Inc()
			return errNotLeader
		}
		s.sinkMu.Lock()
		sink.ConsumeCalls(calls)
		s.sinkMu.Unlock()
		s.m.received.Add(float64(len(calls)))
		total += uint64(len(calls))
	}
}

// refused logs a stream ended for a bad frame, which only a replica of another version or a bug
// sends (once per stream: the stream ends with it), and returns err.
func (s *server) refused(ss grpc.ServerStream, err error) error {
	from := "unknown"
	if p, ok := peer.FromContext(ss.Context()); ok {
		from = p.Addr.String()
	}
	s.logger.Warn("forward stream ended: bad call batch", "peer", from, "err", err)
	return err
}

// authorize checks the stream's bearer token against the cluster's in constant time.
func (s *server) authorize(ss grpc.ServerStream) error {
	want := s.opts.Token()
	md, _ := metadata.FromIncomingContext(ss.Context())
	vals := md.Get("authorization")
	if want == "" || len(vals) != 1 {
		return status.Error(codes.Unauthenticated, "missing cluster token")
	}
	got, ok := strings.CutPrefix(vals[0], "Bearer ")
	if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		return status.Error(codes.Unauthenticated, "wrong cluster token")
	}
	return nil
}
