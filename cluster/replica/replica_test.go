package replica

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/outagewatch/outagewatch/detectors"
	"github.com/outagewatch/outagewatch/health"
)

const (
	testToken = "s3cret-token"
	testTerm  = 7
)

var t0 = time.Date(2026, 6, 20, 14, 0, 0, 0, time.UTC)

var (
	provKey  = detectors.SeriesKey{Provider: "anthropic"}
	modelKey = detectors.SeriesKey{Provider: "anthropic", Model: "claude-sonnet-4-5"}
)

func status2(k detectors.SeriesKey, s detectors.State, ev detectors.Evidence) detectors.Status {
	return detectors.Status{
		Series: k, State: s, Since: t0, Evidence: ev,
		Baseline: detectors.BaselineSource{From: detectors.BaselineOwn, Calls: 1000},
		Figures:  detectors.Figures{CallRate: 5, ErrorRate: 0.01, LatencyP95: time.Second, Calls: 1000},
	}
}

var downEvidence = detectors.Evidence{
	Detector: detectors.DetectorErrorDown, Observed: 0.93, Baseline: 0.012, Threshold: 11.2, SampleSize: 41, Events: 38,
	CallRate: 6.2, Classes: []detectors.ClassCount{{Class: detectors.ClassOverloaded, Count: 35}}, SampleError: "529 overloaded",
	ChangePoint: t0.Add(-7 * time.Second), Window: 7 * time.Second,
}

// healthyBoard is a leader's board at version 1: a provider and its model, both healthy.
func healthyBoard() (*health.Board, []detectors.Status) {
	b := health.NewBoard()
	b.SetCluster(testTerm, false)
	st := []detectors.Status{status2(provKey, detectors.StateHealthy, detectors.Evidence{}), status2(modelKey, detectors.StateHealthy, detectors.Evidence{Detector: detectors.DetectorWarmup})}
	b.Update(st, []detectors.Transition{{Series: modelKey, From: detectors.StateUnknown, To: detectors.StateHealthy, At: t0}})
	return b, st
}

// goDown moves the leader's model to down, as its engine would.
func goDown(b *health.Board, st []detectors.Status) {
	st = append([]detectors.Status(nil), st...)
	st[1] = status2(modelKey, detectors.StateDown, downEvidence)
	b.Update(st, []detectors.Transition{{Series: modelKey, From: detectors.StateHealthy, To: detectors.StateDown, At: t0, Evidence: downEvidence}})
}

// leader is a leader's Replicator on 127.0.0.1:0.
type leader struct {
	srv     *grpc.Server
	addr    string
	leading atomic.Bool
	done    chan struct{}
}

func startLeader(tb testing.TB, board *health.Board) *leader {
	tb.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(tb, err)
	l := &leader{srv: grpc.NewServer(ServerCodec()), addr: lis.Addr().String(), done: make(chan struct{})}
	l.leading.Store(true)
	_, err = RegisterPublisher(l.srv, PublisherOptions{
		Board: board, Term: func() int64 { return testTerm }, Token: func() string { return testToken },
		Leading: l.leading.Load, Heartbeat: 50 * time.Millisecond,
	})
	require.NoError(tb, err)
	health.NewGRPCServer(board).Register(l.srv) // a protobuf service on the same server
	go func() { defer close(l.done); _ = l.srv.Serve(lis) }()
	tb.Cleanup(l.stop)
	return l
}

func (l *leader) stop() {
	l.srv.Stop()
	<-l.done
}

// replica is a follower with its board and HTTP API.
type replica struct {
	board  *health.Board
	f      *Follower
	api    *httptest.Server
	leader atomic.Value // string: "" while none
	reg    *prometheus.Registry
}

func startReplica(tb testing.TB, addr, token string, staleAfter time.Duration) *replica {
	tb.Helper()
	r := &replica{board: health.NewBoard(), reg: prometheus.NewPedanticRegistry()}
	r.leader.Store(addr)
	f, err := NewFollower(FollowerOptions{
		ID: "replica-b", Board: r.board, Token: func() string { return token }, StaleAfter: staleAfter, Registerer: r.reg,
		Leader: func() (string, bool) { a := r.leader.Load().(string); return a, a != "" },
	})
	require.NoError(tb, err)
	r.f = f
	mux := http.NewServeMux()
	health.NewAPI(r.board, health.HTTPOptions{Heartbeat: time.Hour, Now: func() time.Time { return t0 }}).Register(mux)
	r.api = httptest.NewServer(mux)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()
	tb.Cleanup(func() {
		cancel()
		require.NoError(tb, <-done)
		r.api.Close()
	})
	return r
}

// waitFresh waits until the follower is not stale.
func (r *replica) waitFresh(tb testing.TB) {
	tb.Helper()
	for {
		ch := r.f.StaleChanged()
		if !r.f.Stale() {
			return
		}
		waitFor(tb, ch, "the follower to be fresh")
	}
}

func (r *replica) waitStale(tb testing.TB) {
	tb.Helper()
	for {
		ch := r.f.StaleChanged()
		if r.f.Stale() {
			return
		}
		waitFor(tb, ch, "the follower to be stale")
	}
}

func httpGet(tb testing.TB, url string) (*http.Response, string) {
	tb.Helper()
	resp, err := http.Get(url)
	require.NoError(tb, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(tb, err)
	return resp, string(body)
}

func leaderAPI(tb testing.TB, b *health.Board) *httptest.Server {
	tb.Helper()
	mux := http.NewServeMux()
	health.NewAPI(b, health.HTTPOptions{Heartbeat: time.Hour, Now: func() time.Time { return t0 }}).Register(mux)
	srv := httptest.NewServer(mux)
	tb.Cleanup(srv.Close)
	return srv
}

// TestTransitionReachesFollowerLongPoll: a transition on the leader's board wakes a long-poll on
// the follower's HTTP API with the leader's version, reasons and term: the follower's answers
// are the leader's, byte for byte.
func TestTransitionReachesFollowerLongPoll(t *testing.T) {
	t.Parallel()
	lb, st := healthyBoard()
	l := startLeader(t, lb)
	r := startReplica(t, l.addr, testToken, 2*time.Second)
	r.waitFresh(t)
	require.EqualValues(t, 1, r.board.Version())

	type answer struct {
		body string
		at   time.Time
	}
	polled := make(chan answer, 1)
	go func() {
		resp, err := http.Get(r.api.URL + "/v1/health?wait=30s&after=1")
		if err != nil {
			polled <- answer{body: err.Error()}
			return
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		polled <- answer{string(body), time.Now()}
	}()
	// Whether the poll waits already or arrives after the change, its answer must be version 2.
	start := time.Now()
	goDown(lb, st)
	got := waitFor(t, polled, "the follower's long-poll")
	t.Logf("leader Update → follower long-poll answer: %s", got.at.Sub(start))
	require.Contains(t, got.body, `"version":2,"term":7,`)
	require.NotContains(t, got.body, `"stale"`)
	require.Contains(t, got.body, `"detector":"error_rate_down"`)

	// Every answer is the leader's, byte for byte (generated_at is the same fixed clock).
	la := leaderAPI(t, lb)
	for _, path := range []string{"/v1/health", "/v1/health/anthropic", "/v1/health/anthropic/claude-sonnet-4-5"} {
		lresp, lbody := httpGet(t, la.URL+path)
		fresp, fbody := httpGet(t, r.api.URL+path)
		require.Equal(t, lbody, fbody, path)
		require.Equal(t, lresp.StatusCode, fresp.StatusCode, path)
		require.Equal(t, "7", fresp.Header.Get("Outagewatch-Term"), path)
		require.Equal(t, lresp.Header.Get("ETag"), fresp.Header.Get("ETag"), path)
		require.Empty(t, fresp.Header.Get("Outagewatch-Stale"), path)
	}
	changes, complete := r.board.Since(1)
	require.True(t, complete)
	require.Len(t, changes, 1)
	require.EqualValues(t, 2, changes[0].Version, "the ring carries the leader's version numbers")
	require.Positive(t, testutil.ToFloat64(r.f.m.frames.WithLabelValues("full")))
}

// sseReader reads events from a stream.
type sseReader struct{ r *bufio.Reader }

// next returns the next event's name, id and data, skipping comments.
func (s sseReader) next(tb testing.TB) (event, id, data string) {
	tb.Helper()
	for {
		line, err := s.r.ReadString('\n')
		require.NoError(tb, err)
		line = strings.TrimRight(line, "\n")
		switch {
		case line == "" && event != "":
			return event, id, data
		case strings.HasPrefix(line, "event: "):
			event = line[len("event: "):]
		case strings.HasPrefix(line, "id: "):
			id = line[len("id: "):]
		case strings.HasPrefix(line, "data: "):
			data = line[len("data: "):]
		}
	}
}

// TestSSEOnFollowerSeesTheChange: an SSE stream on the follower gets the leader's snapshot, then
// the leader's change with its version as id.
func TestSSEOnFollowerSeesTheChange(t *testing.T) {
	t.Parallel()
	lb, st := healthyBoard()
	l := startLeader(t, lb)
	r := startReplica(t, l.addr, testToken, 2*time.Second)
	r.waitFresh(t)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.api.URL+"/v1/health/stream", nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, "7", resp.Header.Get("Outagewatch-Term"))
	sse := sseReader{bufio.NewReader(resp.Body)}
	ev, id, data := sse.next(t)
	require.Equal(t, "snapshot", ev)
	require.Equal(t, "1", id)
	require.Contains(t, data, `"term":7`)

	goDown(lb, st)
	ev, id, data = sse.next(t)
	require.Equal(t, "change", ev)
	require.Equal(t, "2", id)
	require.Contains(t, data, `"from":"healthy","to":"down"`)
	require.Contains(t, data, `"detector":"error_rate_down"`)
	require.Contains(t, data, `"term":7`)
}

// TestWrongTokenRejected: a follower with the wrong token, or none, is refused
// (Unauthenticated) and stays stale; a replica that does not lead refuses with
// FailedPrecondition.
func TestWrongTokenRejected(t *testing.T) {
	t.Parallel()
	lb, _ := healthyBoard()
	l := startLeader(t, lb)
	for _, token := range []string{"wrong", "", testToken + "x"} {
		f, err := NewFollower(FollowerOptions{ID: "x", Board: health.NewBoard(), Token: func() string { return token },
			Leader: func() (string, bool) { return l.addr, true }})
		require.NoError(t, err)
		f.timer = time.AfterFunc(time.Hour, func() {})
		got, err := f.follow(context.Background(), l.addr)
		f.timer.Stop()
		require.False(t, got)
		require.Equal(t, codes.Unauthenticated, status.Code(unwrapStatus(err)), "%q: %v", token, err)
		require.True(t, f.Stale())
	}

	l.leading.Store(false)
	f, err := NewFollower(FollowerOptions{ID: "x", Board: health.NewBoard(), Token: func() string { return testToken },
		Leader: func() (string, bool) { return l.addr, true }})
	require.NoError(t, err)
	f.timer = time.AfterFunc(time.Hour, func() {})
	defer f.timer.Stop()
	_, err = f.follow(context.Background(), l.addr)
	require.Equal(t, codes.FailedPrecondition, status.Code(unwrapStatus(err)), "%v", err)
}

// unwrapStatus finds the gRPC status error in err's chain.
func unwrapStatus(err error) error {
	for e := err; e != nil; {
		if _, ok := status.FromError(e); ok {
			return e
		}
		u, ok := e.(interface{ Unwrap() error })
		if !ok {
			break
		}
		e = u.Unwrap()
	}
	return err
}

// TestLeaderGoneAndBack: the leader stops; the follower turns stale within StaleAfter of its last
// frame, its answers say so (body, header, metric) and, when the wiring serves its own engine,
// the versions go on from the leader's; a new leader process on another address is followed
// again, and the answers are the leader's and fresh.
func TestLeaderGoneAndBack(t *testing.T) {
	t.Parallel()
	lb, st := healthyBoard()
	l := startLeader(t, lb)
	const staleAfter = 400 * time.Millisecond
	r := startReplica(t, l.addr, testToken, staleAfter)
	r.waitFresh(t)
	require.Zero(t, testutil.ToFloat64(r.f.m.stale))

	stopped := time.Now()
	l.stop()
	r.waitStale(t)
	took := time.Since(stopped)
	t.Logf("leader stopped → follower stale: %s (stale_after %s)", took, staleAfter)
	require.Less(t, took, staleAfter+time.Second, "stale about StaleAfter after the last frame")
	require.EqualValues(t, 1, testutil.ToFloat64(r.f.m.stale))
	resp, body := httpGet(t, r.api.URL+"/v1/health")
	require.Contains(t, body, `"version":1,"term":7,"stale":true,`)
	require.Equal(t, "true", resp.Header.Get("Outagewatch-Stale"))
	require.Equal(t, "7", resp.Header.Get("Outagewatch-Term"))
	resp, body = httpGet(t, r.api.URL+"/v1/health/anthropic/claude-sonnet-4-5")
	require.Contains(t, body, `"stale":true`)
	require.Equal(t, "true", resp.Header.Get("Outagewatch-Stale"))

	// The wiring falls back to its own engine: its board goes on from the leader's version.
	r.board.Update(st, nil)
	require.EqualValues(t, 2, r.board.Version(), "a new life: one version past the leader's")

	// The leader comes back (another process, another port), at version 2 after a change.
	goDown(lb, st)
	l2 := startLeader(t, lb)
	r.leader.Store(l2.addr)
	r.waitFresh(t)
	resp, body = httpGet(t, r.api.URL+"/v1/health")
	require.Contains(t, body, `"version":2,"term":7,"generated_at"`)
	require.Empty(t, resp.Header.Get("Outagewatch-Stale"))
	require.Contains(t, body, `"state":"down"`)
	require.Zero(t, testutil.ToFloat64(r.f.m.stale))
	require.Positive(t, testutil.ToFloat64(r.f.m.reconnects))
}

// TestFollowerMovesWithTheLeader: when Leader names another address, the follower leaves the
// old leader and follows the new one.
func TestFollowerMovesWithTheLeader(t *testing.T) {
	t.Parallel()
	lb, _ := healthyBoard()
	l := startLeader(t, lb)
	r := startReplica(t, l.addr, testToken, 2*time.Second)
	r.waitFresh(t)

	nb := health.NewBoard()
	nb.SetCluster(testTerm+1, false)
	nb.Update([]detectors.Status{status2(provKey, detectors.StateDegraded, downEvidence)}, []detectors.Transition{
		{Series: provKey, To: detectors.StateHealthy}, {Series: provKey, To: detectors.StateDegraded}, {Series: provKey, To: detectors.StateHealthy},
	})
	l2 := startLeader(t, nb)
	r.leader.Store(l2.addr)
	for r.board.Version() != 3 {
		waitFor(t, r.board.Changed(), "the new leader's board")
	}
	_, body := httpGet(t, r.api.URL+"/v1/health")
	require.Contains(t, body, `"version":3,"term":7,`, "the term is the publisher's (Term)")
	require.Contains(t, body, `"state":"degraded"`)
}

// TestSharesAServerWithProtobufServices: the Replicator's server serves grpc.health.v1 (protobuf)
// beside it, with the term in its metadata.
func TestSharesAServerWithProtobufServices(t *testing.T) {
	t.Parallel()
	lb, _ := healthyBoard()
	l := startLeader(t, lb)
	conn, err := grpc.NewClient(l.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	defer conn.Close()
	var md metadata.MD
	resp, err := healthpb.NewHealthClient(conn).Check(t.Context(), &healthpb.HealthCheckRequest{Service: "anthropic/claude-sonnet-4-5"}, grpc.Header(&md))
	require.NoError(t, err)
	require.Equal(t, healthpb.HealthCheckResponse_SERVING, resp.GetStatus())
	require.Equal(t, []string{"7"}, md.Get("outagewatch-term"))
	r := startReplica(t, l.addr, testToken, 2*time.Second)
	r.waitFresh(t)
}
