package replica

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/gob"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/outagewatch/outagewatch/detectors"
	"github.com/outagewatch/outagewatch/health"
)

// Log attribute keys.
const (
	keyErr      = "err"
	keyFollower = "follower"
	keyLeader   = "leader"
	keyTerm     = "term"
)

// DefaultHeartbeat is the longest a Follow stream goes without a frame.
const DefaultHeartbeat = time.Second

// PublisherOptions configure the leader's side.
type PublisherOptions struct {
	// Board is the leader's board, written by its engine. Required.
	Board *health.Board
	// Term returns the leader's current term (cluster/lease). Required.
	Term func() int64
	// Token returns the cluster's shared secret; a follower must send "authorization: Bearer
	// TOKEN". An empty token refuses every follower. Required.
	Token func() string
	// Leading reports whether this replica leads; a Follow call to a replica that does not is
	// refused with FailedPrecondition, and a stream ends so when its replica stops leading.
	// Required.
	Leading func() bool
	// Heartbeat is the longest a stream goes without a frame; DefaultHeartbeat when zero.
	Heartbeat time.Duration
	// Registerer gets the publisher's metrics; none when nil.
	Registerer prometheus.Registerer
	// Logger; discarded when nil.
	Logger *slog.Logger
}

// Publisher serves the leader's board to followers.
type Publisher struct {
	opts PublisherOptions
	m    *publisherMetrics
	log  *slog.Logger
}

var _ followServer = (*Publisher)(nil)

// RegisterPublisher registers the Replicator service on s, which must have been built with
// ServerCodec. It starts nothing: streams run in s's handlers.
func RegisterPublisher(s *grpc.Server, opts PublisherOptions) (*Publisher, error) {
	if opts.Board == nil || opts.Term == nil || opts.Token == nil || opts.Leading == nil {
		return nil, errors.New("replica: publisher: Board, Term, Token and Leading are required")
	}
	if opts.Heartbeat < 0 {
		return nil, fmt.Errorf("replica: publisher: heartbeat %s: must not be negative", opts.Heartbeat)
	}
	if opts.Heartbeat == 0 {
		opts.Heartbeat = DefaultHeartbeat
	}
	if opts.Registerer == nil {
		opts.Registerer = prometheus.NewRegistry()
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	p := &Publisher{opts: opts, m: newPublisherMetrics(opts.Registerer), log: opts.Logger.With("component", "replica.publisher")}
	s.RegisterService(&serviceDesc, p)
	return p, nil
}

var (
	errNotLeading    = status.Error(codes.FailedPrecondition, "not the leader")
	errShuttingDown  = status.Error(codes.Unavailable, "outagewatch is shutting down: reconnect")
	errUnauthorized  = status.Error(codes.Unauthenticated, "replication: missing or wrong bearer token")
	errNoTokenConfig = status.Error(codes.Unauthenticated, "replication: no token configured on the leader")
)

// authorize checks the caller's bearer token in constant time.
func (p *Publisher) authorize(ctx context.Context) error {
	want := p.opts.Token()
	if want == "" {
		return errNoTokenConfig
	}
	md, _ := metadata.FromIncomingContext(ctx)
	got := md.Get("authorization")
	if len(got) != 1 || subtle.ConstantTimeCompare([]byte(got[0]), []byte("Bearer "+want)) != 1 {
		return errUnauthorized
	}
	return nil
}

// sender encodes frames of one stream: one gob.Encoder, so that types go once per stream.
type sender struct {
	stream grpc.ServerStream
	buf    bytes.Buffer
	enc    *gob.Encoder
	m      *publisherMetrics
}

func (s *sender) send(f *frame) error {
	f.SentAt = time.Now().UnixNano()
	s.buf.Reset()
	if err := s.enc.Encode(f); err != nil {
		return status.Errorf(codes.Internal, "encode frame: %v", err)
	}
	msg := message(slices.Clone(s.buf.Bytes())) // gRPC writes it after SendMsg returns
	if err := s.stream.SendMsg(&msg); err != nil {
		return err
	}
	s.m.frames.WithLabelValues(f.Kind.String()).Inc()
	s.m.bytes.Add(float64(len(msg)))
	return nil
}

// follow serves one follower: the whole board, then each update, heartbeats in between, until
// the follower goes, this replica stops leading (FailedPrecondition), or the board is closed
// (UNAVAILABLE).
func (p *Publisher) follow(id string, stream grpc.ServerStream) error {
	ctx := stream.Context()
	if err := p.authorize(ctx); err != nil {
		return err
	}
	if !p.opts.Leading() {
		return errNotLeading
	}
	p.m.followers.Inc()
	defer p.m.followers.Dec()
	log := p.log.With(keyFollower, id)
	log.Info("follower connected")
	err := p.serve(ctx, stream)
	log.Info("follower gone", keyErr, err)
	return err
}

func (p *Publisher) serve(ctx context.Context, stream grpc.ServerStream) error {
	b := p.opts.Board
	s := &sender{stream: stream, m: p.m}
	s.enc = gob.NewEncoder(&s.buf)
	updated := b.Updated() // before the read: an update after it is not missed
	ex := b.Export(0)
	if err := s.send(&frame{Kind: frameFull, Version: ex.Version, Term: p.opts.Term(), Statuses: ex.Statuses}); err != nil {
		return err
	}
	sent, life, last := ex.Version, ex.Life, ex.Statuses
	heartbeat := time.NewTicker(p.opts.Heartbeat)
	defer heartbeat.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-b.Done():
			return errShuttingDown
		case <-heartbeat.C:
			if !p.opts.Leading() {
				return errNotLeading
			}
			if err := s.send(&frame{Kind: frameHeartbeat, Version: sent, Term: p.opts.Term()}); err != nil {
				return err
			}
			continue
		case <-updated:
		}
		updated = b.Updated()
		if !p.opts.Leading() {
			return errNotLeading
		}
		ex := b.Export(sent)
		f := frame{Kind: frameUpdate, Version: ex.Version, Term: p.opts.Term()}
		if ex.Life != life || !ex.Complete {
			f.Kind, f.Statuses = frameFull, ex.Statuses // the versions do not follow on: the follower starts again
		} else {
			f.Transitions = transitionsOf(ex.Changes)
			if changed, figures, ok := diff(last, ex.Statuses); ok {
				f.Delta, f.Changed, f.Figures = true, changed, figures
			} else {
				f.Statuses = ex.Statuses
			}
		}
		if err := s.send(&f); err != nil {
			return err
		}
		sent, life, last = ex.Version, ex.Life, ex.Statuses
		heartbeat.Reset(p.opts.Heartbeat)
	}
}

func transitionsOf(changes []health.Change) []detectors.Transition {
	if len(changes) == 0 {
		return nil
	}
	out := make([]detectors.Transition, len(changes))
	for i, c := range changes {
		out[i] = c.Transition
	}
	return out
}
