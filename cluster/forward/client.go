package forward

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/status"

	"github.com/outagewatch/outagewatch/detectors"
)

// Defaults and bounds of ClientOptions.
const (
	DefaultQueueCalls  = 65536
	DefaultFlushEvery  = 100 * time.Millisecond
	MaxFlushEvery      = 250 * time.Millisecond
	DefaultBatchCalls  = 1024
	DefaultLeaderEvery = time.Second
	// handshakeTimeout bounds the wait for the leader to accept a stream.
	handshakeTimeout = 5 * time.Second
	// closeTimeout bounds the wait for the old leader's Ack when the leader changes.
	closeTimeout = time.Second
	// Reconnection backoff: exponential from minBackoff, capped at DefaultLeaderEvery so that
	// Leader is asked again at least every second, with jitter.
	minBackoff = 50 * time.Millisecond
)

// ClientOptions configure a Client.
type ClientOptions struct {
	// Leader returns the leader's advertised gRPC address, or ok false when it is not known.
	// Required. It is asked at every reconnection and every LeaderEvery while streaming.
	Leader func() (addr string, ok bool)
	// Token returns the cluster's shared secret, sent as "authorization: Bearer <token>".
	// Required.
	Token func() string
	// QueueCalls bounds the calls waiting to be sent; beyond it ConsumeCalls drops (counted).
	// 0 means DefaultQueueCalls.
	QueueCalls int
	// FlushEvery is the longest a call waits for a frame while a stream is open (a full batch
	// goes at once). 0 means DefaultFlushEvery; at most MaxFlushEvery (the design's 250 ms).
	FlushEvery time.Duration
	// BatchCalls is the most calls a frame carries. 0 means DefaultBatchCalls; at most
	// MaxBatchCalls.
	BatchCalls int
	// LeaderEvery is how often an open stream checks that Leader still names its address.
	// 0 means DefaultLeaderEvery; at most DefaultLeaderEvery.
	LeaderEvery time.Duration
	// Registerer takes the client's metrics; nil registers them nowhere.
	Registerer prometheus.Registerer
	// Logger is the client's logger; nil discards.
	Logger *slog.Logger
	// DialOptions are used to dial the leader. With none, the connection is plaintext
	// (insecure credentials): give TLS credentials wherever the network is not trusted, as the
	// token travels with every stream.
	DialOptions []grpc.DialOption
}

// Client forwards this replica's calls to the leader over one gRPC stream at a time.
type Client struct {
	opts   ClientOptions
	logger *slog.Logger
	m      *clientMetrics
	q      *queue
	codec  encoding.CodecV2
	// full is signalled (never blocking) when a whole batch waits, so that it goes at once.
	full chan struct{}

	// Owned by the Run goroutine.
	batch   []detectors.Call
	scratch []byte
	lastErr string
	lastLog time.Time
}

// NewClient validates opts and returns a Client; it starts nothing (see Run).
func NewClient(opts ClientOptions) (*Client, error) {
	if err := opts.fill(); err != nil {
		return nil, err
	}
	c := &Client{
		opts:   opts,
		logger: opts.Logger.With("component", "cluster.forward"),
		q:      newQueue(opts.QueueCalls),
		codec:  newCodec(),
		full:   make(chan struct{}, 1),
	}
	c.m = newClientMetrics(opts.Registerer, func() float64 { return float64(c.q.len()) })
	return c, nil
}

// fill sets the defaults and checks the options.
func (o *ClientOptions) fill() error {
	if o.Leader == nil || o.Token == nil {
		return errors.New("forward client: Leader and Token must be set")
	}
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&o.QueueCalls, DefaultQueueCalls)
	def(&o.BatchCalls, DefaultBatchCalls)
	if o.FlushEvery == 0 {
		o.FlushEvery = DefaultFlushEvery
	}
	if o.LeaderEvery == 0 {
		o.LeaderEvery = DefaultLeaderEvery
	}
	switch {
	case o.QueueCalls < 0:
		return fmt.Errorf("forward client: QueueCalls %d: must be positive", o.QueueCalls)
	case o.BatchCalls < 0 || o.BatchCalls > MaxBatchCalls:
		return fmt.Errorf("forward client: BatchCalls %d: must be in [1, %d]", o.BatchCalls, MaxBatchCalls)
	case o.FlushEvery < 0 || o.FlushEvery > MaxFlushEvery:
		return fmt.Errorf("forward client: FlushEvery %v: must be in (0, %v]", o.FlushEvery, MaxFlushEvery)
	case o.LeaderEvery < 0 || o.LeaderEvery > DefaultLeaderEvery:
		return fmt.Errorf("forward client: LeaderEvery %v: must be in (0, %v]", o.LeaderEvery, DefaultLeaderEvery)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if len(o.DialOptions) == 0 {
		o.DialOptions = []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}
	}
	return nil
}

// ConsumeCalls queues copies of calls for the leader. It never blocks: calls beyond the queue's
// bound are dropped and counted. It is safe for concurrent use; the slice may be reused after it
// returns.
func (c *Client) ConsumeCalls(calls []detectors.Call) {
	if len(calls) == 0 {
		return
	}
	took, waiting := c.q.put(calls)
	if dropped := len(calls) - took; dropped > 0 {
		c.m.dropped.Add(float64(dropped))
	}
	if waiting >= c.opts.BatchCalls {
		select {
		case c.full <- struct{}{}:
		default:
		}
	}
}

// Sentinels of the stream loop.
var (
	errNoLeader      = errors.New("no leader known")
	errLeaderChanged = errors.New("leader changed")
)

// Run keeps one stream open to the current leader and sends the queued calls on it, until ctx
// ends; then it returns nil. A stream that fails or cannot open is retried after a jittered
// backoff of at most a second; a change of leader moves the stream at once. Calls wait in the
// queue while no stream is open; those of a frame that fails to send are dropped (counted).
// Call Run once: it owns the stream and the encoding buffers.
func (c *Client) Run(ctx context.Context) error {
	var (
		conn     *grpc.ClientConn
		connAddr string
		backoff  = minBackoff
	)
	defer func() {
		if conn != nil {
			_ = conn.Close() // only ErrClientConnClosing, and nothing is left to do
		}
	}()
	for {
		addr, ok := c.opts.Leader()
		var err error
		accepted := false
		switch {
		case !ok:
			err = errNoLeader
		case conn == nil || addr != connAddr:
			if conn != nil {
				_ = conn.Close()
			}
			conn, err = grpc.NewClient(addr, c.opts.DialOptions...)
			connAddr = addr
			if err != nil {
				conn = nil
				break
			}
			fallthrough
		default:
			accepted, err = c.stream(ctx, conn, addr)
		}
		if ctx.Err() != nil {
			return nil
		}
		if accepted {
			backoff = minBackoff
		}
		if errors.Is(err, errLeaderChanged) {
			continue
		}
		c.failed(addr, err)
		wait := backoff/2 + rand.N(backoff/2+1) // full jitter in [backoff/2, backoff]
		backoff = min(2*backoff, DefaultLeaderEvery)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
	}
}

// failed counts a stream's failure and logs it, once per distinct error or minute.
func (c *Client) failed(addr string, err error) {
	reason := failOther
	switch {
	case errors.Is(err, errNoLeader):
		reason = failNoLeader
	case status.Code(err) == codes.Unauthenticated:
		reason = reasonUnauthenticated
	case status.Code(err) == codes.FailedPrecondition:
		reason = reasonNotLeader
	case status.Code(err) == codes.Unavailable:
		reason = failUnavailable
	}
	c.m.failures.WithLabelValues(reason).Inc()
	if msg := err.Error(); msg != c.lastErr || time.Since(c.lastLog) >= time.Minute {
		c.lastErr, c.lastLog = msg, time.Now()
		c.logger.Warn("forward to leader failed, will retry", "leader", addr, "err", err)
	}
}

// Reasons of failed streams beyond the server's.
const (
	failNoLeader    = "no_leader"
	failUnavailable = "unavailable"
	failOther       = "other"
)
