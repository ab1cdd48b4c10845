package forward

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/outagewatch/outagewatch/detectors"
)

func TestForwardDeliversCallsIntact(t *testing.T) {
	t.Parallel()
	srv := startServer(t, true, ServerOptions{})
	var l leaderAt
	l.set(srv.addr)
	c, reg := newTestClient(t, &l, ClientOptions{BatchCalls: 100})
	startClient(t, c)

	want := calls(0, 2500)
	for i := 0; i < len(want); i += 300 {
		c.ConsumeCalls(want[i:min(i+300, len(want))])
	}
	require.Eventually(t, func() bool { return srv.sink.rec.len() == len(want) }, waitFor, tick)
	require.Equal(t, want, srv.sink.rec.all())
	require.Equal(t, 2500.0, counter(t, reg, "outagewatch_cluster_forwarded_calls_total", "result", "sent"))
	require.Equal(t, 0.0, counter(t, reg, "outagewatch_cluster_forwarded_calls_total", "result", "dropped"))
	require.Equal(t, 2500.0, counter(t, srv.reg, "outagewatch_cluster_forward_received_calls_total", "", ""))
	require.Equal(t, 0.0, testutil.ToFloat64(c.m.dropped))
	require.Positive(t, testutil.CollectAndCount(c.m.lag))
}

func TestClientWithWrongTokenIsRefused(t *testing.T) {
	t.Parallel()
	srv := startServer(t, true, ServerOptions{})
	var l leaderAt
	l.set(srv.addr)
	c, reg := newTestClient(t, &l, ClientOptions{Token: func() string { return "guess" }})
	startClient(t, c)
	c.ConsumeCalls(calls(0, 5))
	require.Eventually(t, func() bool {
		return counter(t, reg, "outagewatch_cluster_forward_stream_failures_total", "reason", "unauthenticated") >= 2
	}, waitFor, tick)
	require.GreaterOrEqual(t, counter(t, srv.reg, "outagewatch_cluster_forward_rejected_streams_total", "reason", "unauthenticated"), 2.0)
	require.Zero(t, srv.sink.rec.len())
	require.Equal(t, 5, c.q.len(), "a refused stream must not cost the queued calls")
}

// rawStream opens a Forward stream to addr with the given metadata, without the Client.
func rawStream(t *testing.T, addr string, md metadata.MD) grpc.ClientStream {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, conn.Close()) })
	ctx, cancel := context.WithTimeout(metadata.NewOutgoingContext(context.Background(), md), waitFor)
	t.Cleanup(cancel)
	st, err := conn.NewStream(ctx, &forwardStreamDesc, forwardMethod, grpc.ForceCodecV2(newCodec()))
	require.NoError(t, err)
	return st
}

// finish closes the stream's side and returns the stream's status.
func finish(t *testing.T, st grpc.ClientStream, frames ...[]byte) (uint64, error) {
	t.Helper()
	for _, f := range frames {
		if err := st.SendMsg(&frame{b: f}); err != nil {
			break // the server ended the stream; RecvMsg says why
		}
	}
	require.NoError(t, st.CloseSend())
	var ack frame
	if err := st.RecvMsg(&ack); err != nil {
		return 0, err
	}
	if len(ack.b) == 0 {
		return 0, nil
	}
	num, typ, n := protowire.ConsumeTag(ack.b)
	require.Positive(t, n)
	require.Equal(t, protowire.Number(fieldAckCalls), num)
	require.Equal(t, protowire.VarintType, typ)
	got, m := protowire.ConsumeVarint(ack.b[n:])
	require.Positive(t, m)
	return got, nil
}

func TestServerAuthentication(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		token string
		md    metadata.MD
		code  codes.Code
	}{
		{"right token", "secret", metadata.Pairs("authorization", "Bearer secret"), codes.OK},
		{"missing", "secret", metadata.MD{}, codes.Unauthenticated},
		{"wrong", "secret", metadata.Pairs("authorization", "Bearer secreT"), codes.Unauthenticated},
		{"not bearer", "secret", metadata.Pairs("authorization", "Basic secret"), codes.Unauthenticated},
		{"prefix of the token", "secret", metadata.Pairs("authorization", "Bearer secre"), codes.Unauthenticated},
		{"twice", "secret", metadata.Pairs("authorization", "Bearer secret", "authorization", "Bearer secret"), codes.Unauthenticated},
		{"no cluster token", "", metadata.Pairs("authorization", "Bearer "), codes.Unauthenticated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := startServer(t, true, ServerOptions{Token: func() string { return tt.token }})
			n, err := finish(t, rawStream(t, srv.addr, tt.md), AppendBatch(nil, calls(0, 3)))
			require.Equal(t, tt.code, status.Code(err), "%v", err)
			if tt.code == codes.OK {
				require.Equal(t, uint64(3), n)
				require.Equal(t, 3, srv.sink.rec.len())
				return
			}
			require.Zero(t, srv.sink.rec.len())
			require.Equal(t, 1.0, counter(t, srv.reg, "outagewatch_cluster_forward_rejected_streams_total", "reason", "unauthenticated"))
		})
	}
}

func TestServerRefusesBadFrames(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		frame  []byte
		code   codes.Code
		reason string
	}{
		{"malformed", []byte{0x0a, 0x05, 0x28}, codes.InvalidArgument, reasonMalformed},
		{"too large", AppendBatch(nil, calls(0, 20)), codes.ResourceExhausted, reasonTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := startServer(t, true, ServerOptions{MaxBatchBytes: 1000})
			good := AppendBatch(nil, calls(0, 1))
			_, err := finish(t, rawStream(t, srv.addr, metadata.Pairs("authorization", "Bearer secret")), good, tt.frame, good)
			require.Equal(t, tt.code, status.Code(err), "%v", err)
			require.Equal(t, 1, srv.sink.rec.len(), "the frame before the bad one is taken, none after")
			require.Equal(t, 1.0, counter(t, srv.reg, "outagewatch_cluster_forward_rejected_streams_total", "reason", tt.reason))
		})
	}
}

func TestNotTheLeaderThenLeader(t *testing.T) {
	t.Parallel()
	srv := startServer(t, false, ServerOptions{})
	var l leaderAt
	l.set(srv.addr)
	c, reg := newTestClient(t, &l, ClientOptions{})
	startClient(t, c)
	want := calls(0, 40)
	c.ConsumeCalls(want)
	require.Eventually(t, func() bool {
		return counter(t, reg, "outagewatch_cluster_forward_stream_failures_total", "reason", "not_leader") >= 2
	}, waitFor, tick, "the client retries a replica that does not lead")
	require.GreaterOrEqual(t, counter(t, srv.reg, "outagewatch_cluster_forward_rejected_streams_total", "reason", "not_leader"), 2.0)

	srv.sink.leading.Store(true)
	require.Eventually(t, func() bool { return srv.sink.rec.len() == len(want) }, waitFor, tick)
	require.Equal(t, want, srv.sink.rec.all(), "the calls queued while refused arrive")
}

func TestLeaderChangeMovesTheStream(t *testing.T) {
	t.Parallel()
	a := startServer(t, true, ServerOptions{})
	b := startServer(t, false, ServerOptions{})
	var l leaderAt
	l.set(a.addr)
	c, _ := newTestClient(t, &l, ClientOptions{})
	startClient(t, c)

	c.ConsumeCalls(calls(0, 10))
	require.Eventually(t, func() bool { return a.sink.rec.len() == 10 }, waitFor, tick)

	// b wins the lease. Calls written to a's stream after a has learnt that it lost it would
	// be lost (forwarding is at most once), so the next calls go once the stream has moved.
	b.sink.leading.Store(true)
	l.set(b.addr)
	openStreams := func(s *testServer) float64 {
		return counter(t, s.reg, "outagewatch_cluster_forward_open_streams", "", "")
	}
	require.Eventually(t, func() bool { return openStreams(a) == 0 && openStreams(b) == 1 }, waitFor, tick)
	a.sink.leading.Store(false)
	c.ConsumeCalls(calls(10, 10))
	require.Eventually(t, func() bool { return b.sink.rec.len() == 10 }, waitFor, tick)
	require.Equal(t, calls(0, 10), a.sink.rec.all())
	require.Equal(t, calls(10, 10), b.sink.rec.all())
}

func TestLosingTheLeadEndsTheStream(t *testing.T) {
	t.Parallel()
	srv := startServer(t, true, ServerOptions{})
	var l leaderAt
	l.set(srv.addr)
	c, reg := newTestClient(t, &l, ClientOptions{})
	startClient(t, c)
	c.ConsumeCalls(calls(0, 1))
	require.Eventually(t, func() bool { return srv.sink.rec.len() == 1 }, waitFor, tick)

	srv.sink.leading.Store(false)
	// Frames keep going until one reaches the server and is refused; from then on the calls
	// wait in the queue.
	require.Eventually(t, func() bool {
		c.ConsumeCalls(calls(1, 1))
		return counter(t, reg, "outagewatch_cluster_forward_stream_failures_total", "reason", "not_leader") >= 1
	}, waitFor, tick)
	require.Equal(t, 1, srv.sink.rec.len())
}

func TestQueueBoundDropsAndCounts(t *testing.T) {
	t.Parallel()
	srv := startServer(t, true, ServerOptions{})
	var l leaderAt
	c, reg := newTestClient(t, &l, ClientOptions{QueueCalls: 10})
	c.ConsumeCalls(calls(0, 7))
	c.ConsumeCalls(calls(7, 7))
	c.ConsumeCalls(calls(14, 7))
	require.Equal(t, 11.0, counter(t, reg, "outagewatch_cluster_forwarded_calls_total", "result", "dropped"))
	require.Equal(t, 10.0, counter(t, reg, "outagewatch_cluster_forward_queued_calls", "", ""))

	l.set(srv.addr)
	startClient(t, c)
	require.Eventually(t, func() bool { return srv.sink.rec.len() == 10 }, waitFor, tick)
	require.Equal(t, calls(0, 10), srv.sink.rec.all(), "the oldest calls are kept, the newest dropped")
	require.Eventually(t, func() bool { return c.q.len() == 0 }, waitFor, tick)
}

func TestRunReturnsWhenCancelled(t *testing.T) {
	t.Parallel()
	srv := startServer(t, true, ServerOptions{})
	for _, leader := range []string{"", srv.addr, "127.0.0.1:1"} {
		t.Run("leader "+leader, func(t *testing.T) {
			t.Parallel()
			var l leaderAt
			l.set(leader)
			c, _ := newTestClient(t, &l, ClientOptions{})
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- c.Run(ctx) }()
			c.ConsumeCalls(calls(0, 3))
			if leader == srv.addr {
				require.Eventually(t, func() bool { return c.q.len() == 0 }, waitFor, tick)
			}
			cancel()
			select {
			case err := <-done:
				require.NoError(t, err)
			case <-time.After(waitFor):
				t.Fatal("Run did not return")
			}
		})
	}
}

func TestOptionsAreValidated(t *testing.T) {
	t.Parallel()
	leader := func() (string, bool) { return "", false }
	token := func() string { return "" }
	for name, o := range map[string]ClientOptions{
		"no leader":        {Token: token},
		"no token":         {Leader: leader},
		"slow flush":       {Leader: leader, Token: token, FlushEvery: time.Second},
		"huge batch":       {Leader: leader, Token: token, BatchCalls: MaxBatchCalls + 1},
		"negative queue":   {Leader: leader, Token: token, QueueCalls: -1},
		"slow leader view": {Leader: leader, Token: token, LeaderEvery: 2 * time.Second},
	} {
		_, err := NewClient(o)
		require.Error(t, err, name)
	}
	s := grpc.NewServer(ServerOption())
	require.Error(t, Register(s, ServerOptions{Token: token}))
	require.Error(t, Register(s, ServerOptions{Sink: func() Sink { return nil }}))
	require.Error(t, Register(s, ServerOptions{Token: token, Sink: func() Sink { return nil }, MaxBatchBytes: -1}))
}

var _ Sink = SinkFunc(func([]detectors.Call) {})
