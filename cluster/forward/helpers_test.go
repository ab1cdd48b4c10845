package forward

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"

	"github.com/outagewatch/outagewatch/detectors"
)

// recorder is a Sink that keeps every call.
type recorder struct {
	mu    sync.Mutex
	calls []detectors.Call
}

func (r *recorder) ConsumeCalls(calls []detectors.Call) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, calls...)
}

func (r *recorder) len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.calls)
}

func (r *recorder) all() []detectors.Call {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]detectors.Call(nil), r.calls...)
}

// switchableSink is a replica's Sink option: the recorder while it leads, nil otherwise.
type switchableSink struct {
	rec     *recorder
	leading atomic.Bool
}

func (s *switchableSink) get() Sink {
	if s.leading.Load() {
		return s.rec
	}
	return nil
}

// testServer is a real Forward server on 127.0.0.1:0.
type testServer struct {
	addr string
	sink *switchableSink
	reg  *prometheus.Registry
}

// startServer serves Forward with token "secret" (unless opts sets Token) and, unless opts sets
// Sink, a recorder that leads from the start when leading is true.
func startServer(tb testing.TB, leading bool, opts ServerOptions) *testServer {
	tb.Helper()
	ts := &testServer{sink: &switchableSink{rec: &recorder{}}, reg: prometheus.NewPedanticRegistry()}
	ts.sink.leading.Store(leading)
	if opts.Token == nil {
		opts.Token = func() string { return "secret" }
	}
	if opts.Sink == nil {
		opts.Sink = ts.sink.get
	}
	opts.Registerer = ts.reg
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(tb, err)
	s := grpc.NewServer(ServerOption())
	require.NoError(tb, Register(s, opts))
	served := make(chan error, 1)
	go func() { served <- s.Serve(lis) }()
	tb.Cleanup(func() {
		s.Stop()
		require.NoError(tb, <-served)
	})
	ts.addr = lis.Addr().String()
	return ts
}

// counter returns the value of the counter or gauge name{label=value} in reg (0 when absent).
func counter(tb testing.TB, reg prometheus.Gatherer, name, label, value string) float64 {
	tb.Helper()
	mfs, err := reg.Gather()
	require.NoError(tb, err)
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if label == "" || hasLabel(m, label, value) {
				if m.GetGauge() != nil {
					return m.GetGauge().GetValue()
				}
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

func hasLabel(m *dto.Metric, name, value string) bool {
	for _, l := range m.GetLabel() {
		if l.GetName() == name && l.GetValue() == value {
			return true
		}
	}
	return false
}

// leaderAt is a ClientOptions.Leader that can be moved.
type leaderAt struct{ addr atomic.Pointer[string] }

func (l *leaderAt) set(addr string) { l.addr.Store(&addr) }

func (l *leaderAt) get() (string, bool) {
	p := l.addr.Load()
	if p == nil || *p == "" {
		return "", false
	}
	return *p, true
}

// startClient starts c.Run and, at cleanup, cancels it and checks that it returned nil.
func startClient(tb testing.TB, c *Client) {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	tb.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			require.NoError(tb, err)
		case <-time.After(10 * time.Second):
			tb.Error("Run did not return after cancel")
		}
	})
}

// newTestClient returns a client of the leader l with token "secret" (unless opts sets Token),
// quick leader checks, and a pedantic registry.
func newTestClient(tb testing.TB, l *leaderAt, opts ClientOptions) (*Client, *prometheus.Registry) {
	tb.Helper()
	reg := prometheus.NewPedanticRegistry()
	opts.Leader, opts.Registerer = l.get, reg
	if opts.Token == nil {
		opts.Token = func() string { return "secret" }
	}
	if opts.LeaderEvery == 0 {
		opts.LeaderEvery = 20 * time.Millisecond
	}
	if opts.FlushEvery == 0 {
		opts.FlushEvery = 10 * time.Millisecond
	}
	c, err := NewClient(opts)
	require.NoError(tb, err)
	return c, reg
}

func calls(from, n int) []detectors.Call {
	out := make([]detectors.Call, n)
	for i := range out {
		out[i] = fullCall(from + i)
	}
	return out
}

const (
	waitFor = 10 * time.Second
	tick    = 5 * time.Millisecond
)
