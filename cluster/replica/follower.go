package replica

import (
	"context"
	"encoding/gob"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	clusterframe "github.com/outagewatch/outagewatch/cluster/frame"
	"github.com/outagewatch/outagewatch/detectors"
	"github.com/outagewatch/outagewatch/health"
)

// DefaultStaleAfter is how long a follower goes without a frame before it says it is stale.
const DefaultStaleAfter = 3 * time.Second

// Reconnection backoff: doubled from minBackoff up to maxBackoff, with full jitter, and back to
// minBackoff once a stream delivered a frame. maxBackoff stays below DefaultStaleAfter so that
// a leader that comes back is followed again within about a second of it answering.
const (
	minBackoff = 50 * time.Millisecond
	maxBackoff = time.Second
	// leaderCheck is how often a follower asks Leader whether the leader moved (and checks
	// that frames still come) while it follows.
	leaderCheck = 100 * time.Millisecond
)

// FollowerOptions configure a replica's side.
type FollowerOptions struct {
	// ID names this replica to the leader (its logs). Required.
	ID string
	// Board is the replica's board; the follower writes it with Replicate and SetCluster.
	// Required.
	Board *health.Board
	// Leader returns the current leader's Replicator address; ok is false while none is known.
	// Required. A replica that leads does not follow: the wiring ends Run when it wins the
	// lease (following itself would replace its own engine's board with itself, a new life at
	// every frame).
	Leader func() (addr string, ok bool)
	// Token returns the cluster's shared secret, sent as "authorization: Bearer TOKEN".
	// Required.
	Token func() string
	// StaleAfter is how long without a frame makes the replica stale; DefaultStaleAfter when
	// zero. Set it well above the leader's heartbeat (DefaultHeartbeat).
	StaleAfter time.Duration
	// Registerer gets the follower's metrics; none when nil.
	Registerer prometheus.Registerer
	// Logger; discarded when nil.
	Logger *slog.Logger
	// DialOptions are used to dial the leader; plaintext when nil (give transport credentials
	// for TLS).
	DialOptions []grpc.DialOption
}

// Follower follows the leader's board into a replica's board.
type Follower struct {
	opts FollowerOptions
	m    *followerMetrics
	log  *slog.Logger

	// mu guards the staleness state below. stale starts true: nothing received yet. last is
	// when the last frame arrived; timer fires StaleAfter after it (it checks last again, so
	// a frame arriving as it fires wins). changed is closed, and replaced, when stale changes.
	mu      sync.Mutex
	stale   bool
	term    int64
	last    time.Time
	timer   *time.Timer
	changed chan struct{}
}

// NewFollower validates opts and returns a follower; it starts nothing.
func NewFollower(opts FollowerOptions) (*Follower, error) {
	if opts.ID == "" || opts.Board == nil || opts.Leader == nil || opts.Token == nil {
		return nil, errors.New("replica: follower: ID, Board, Leader and Token are required")
	}
	if opts.StaleAfter == 0 {
		opts.StaleAfter = DefaultStaleAfter
	}
	if opts.StaleAfter < 0 {
		return nil, fmt.Errorf("replica: follower: stale_after %s: must be positive", opts.StaleAfter)
	}
	if opts.Registerer == nil {
		opts.Registerer = prometheus.NewRegistry()
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.DialOptions == nil {
		opts.DialOptions = []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}
	}
	return &Follower{
		opts: opts, m: newFollowerMetrics(opts.Registerer), log: opts.Logger.With("component", "replica.follower"),
		stale: true, changed: make(chan struct{}),
	}, nil
}

// Stale reports whether the replica has had no frame from the leader for StaleAfter (or none
// yet): the wiring then serves its own engine's board.
func (f *Follower) Stale() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.stale
}

// StaleChanged returns a channel closed when Stale next changes. A follower turns stale
// StaleAfter after its last frame, and not stale once it has installed the first frame after
// that: the wiring stops writing its own engine's board on this signal (an Update after it
// starts a new life of the board, which the next frame undoes with another).
func (f *Follower) StaleChanged() <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.changed
}

// Run follows the leader until ctx ends, and returns nil then. It reconnects, with jittered
// backoff, when a stream ends or cannot start, when the leader moves (Leader), and when no frame
// came for StaleAfter. The board says stale (SetCluster) from the start until the first frame.
func (f *Follower) Run(ctx context.Context) error {
	f.mu.Lock()
	f.timer = time.AfterFunc(f.opts.StaleAfter, f.expire)
	f.timer.Stop() // stale already: armed at the first frame
	f.opts.Board.SetCluster(f.term, f.stale)
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.timer.Stop()
		f.mu.Unlock()
	}()

	backoff := minBackoff
	for {
		if addr, ok := f.opts.Leader(); ok && addr != "" {
			got, err := f.follow(ctx, addr)
			if ctx.Err() != nil {
				return nil
			}
			if got {
				backoff = minBackoff
			}
			f.m.reconnects.Inc()
			f.log.Debug("follow ended", keyLeader, addr, keyErr, err)
		}
		wait := time.NewTimer(rand.N(backoff) + time.Millisecond) // full jitter
		select {
		case <-ctx.Done():
			wait.Stop()
			return nil
		case <-wait.C:
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// follow runs one Follow stream to addr; got says whether a frame arrived.
func (f *Follower) follow(ctx context.Context, addr string) (got bool, err error) {
	conn, err := grpc.NewClient(addr, f.opts.DialOptions...)
	if err != nil {
		return false, fmt.Errorf("dial %s: %w", addr, err)
	}
	defer conn.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+f.opts.Token())
	stream, err := conn.NewStream(ctx, &serviceDesc.Streams[0], followMethod,
		clusterframe.CallOption(), grpc.MaxCallRecvMsgSize(maxFrameBytes))
	if err != nil {
		return false, fmt.Errorf("follow %s: %w", addr, err)
	}
	id := message(f.opts.ID)
	if err := stream.SendMsg(&id); err != nil {
		return false, fmt.Errorf("follow %s: %w", addr, err)
	}
	if err := stream.CloseSend(); err != nil {
		return false, fmt.Errorf("follow %s: %w", addr, err)
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	wg.Go(func() { f.watch(ctx, cancel, addr) })

	r := &streamReader{stream: stream, m: f.m}
	dec := gob.NewDecoder(r)
	var cur []detectors.Status // the statuses of the stream's last frame, which deltas patch
	for {
		var fr frame
		if err := dec.Decode(&fr); err != nil {
			return got, fmt.Errorf("follow %s: %w", addr, err)
		}
		if !got {
			if fr.Kind != frameFull {
				return false, fmt.Errorf("follow %s: first frame is %s, want full", addr, fr.Kind)
			}
			f.log.Info("following the leader", keyLeader, addr, keyTerm, fr.Term)
		}
		got = true
		if cur, err = f.apply(&fr, cur); err != nil {
			return got, fmt.Errorf("follow %s: %w", addr, err)
		}
	}
}

// watch cancels the stream when the leader moves, or when no frame came for StaleAfter (a
// leader that hangs without closing its connection).
func (f *Follower) watch(ctx context.Context, cancel context.CancelFunc, addr string) {
	start := time.Now()
	t := time.NewTicker(leaderCheck)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if a, ok := f.opts.Leader(); !ok || a != addr {
			cancel()
			return
		}
		f.mu.Lock()
		last := f.last
		f.mu.Unlock()
		if last.Before(start) {
			last = start
		}
		if time.Since(last) > f.opts.StaleAfter {
			cancel()
			return
		}
	}
}

// apply installs a frame on the board, over cur, the statuses of the stream's last frame; it
// returns the statuses installed.
func (f *Follower) apply(fr *frame, cur []detectors.Status) ([]detectors.Status, error) {
	statuses := fr.Statuses
	if fr.Kind == frameUpdate && fr.Delta {
		var err error
		if statuses, err = patch(cur, fr.Changed, fr.Figures); err != nil {
			return nil, err
		}
	}
	f.setTerm(fr.Term) // the term first: Replicate starts a new life at a new term
	switch fr.Kind {
	case frameFull:
		f.opts.Board.Replicate(fr.Version, statuses, nil)
	case frameUpdate:
		f.opts.Board.Replicate(fr.Version, statuses, fr.Transitions)
	default:
		statuses = cur
	}
	f.touch() // not stale once the leader's board is installed
	f.m.frames.WithLabelValues(fr.Kind.String()).Inc()
	f.m.lag.Observe(max(time.Since(time.Unix(0, fr.SentAt)).Seconds(), 0))
	return statuses, nil
}

// setTerm records the leader's term and puts it on the board.
func (f *Follower) setTerm(term int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.term != term {
		f.term = term
		f.opts.Board.SetCluster(f.term, f.stale)
	}
}

// touch records a frame: the replica is not stale, and turns stale StaleAfter from now.
func (f *Follower) touch() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.last = time.Now()
	f.timer.Reset(f.opts.StaleAfter)
	f.setStaleLocked(false)
}

// expire turns the follower stale when no frame came since the timer was armed.
func (f *Follower) expire() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if left := f.opts.StaleAfter - time.Since(f.last); left > 0 {
		f.timer.Reset(left) // a frame came as the timer fired
		return
	}
	f.setStaleLocked(true)
}

func (f *Follower) setStaleLocked(stale bool) {
	if f.stale == stale {
		return
	}
	f.stale = stale
	f.opts.Board.SetCluster(f.term, stale)
	if stale {
		f.m.stale.Set(1)
		f.log.Warn("leader lost: stale", keyTerm, f.term)
	} else {
		f.m.stale.Set(0)
		f.log.Info("leader's board again: not stale", keyTerm, f.term)
	}
	close(f.changed)
	f.changed = make(chan struct{})
}

// streamReader reads the concatenation of a stream's messages, for one gob.Decoder.
type streamReader struct {
	stream grpc.ClientStream
	buf    []byte
	m      *followerMetrics
}

func (r *streamReader) Read(p []byte) (int, error) {
	for len(r.buf) == 0 {
		var msg message
		if err := r.stream.RecvMsg(&msg); err != nil {
			return 0, err
		}
		r.m.bytes.Add(float64(len(msg)))
		r.buf = msg
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}
