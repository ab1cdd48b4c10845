package engine

import (
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/outagewatch/outagewatch/detectors"
)

// TestFanoutWaitsRatherThanDrops: with a consumer that cannot keep up, a push waits (counted)
// once the queue holds its limit of transitions, and every transition is delivered once, in
// push order, with the newest statuses.
func TestFanoutWaitsRatherThanDrops(t *testing.T) {
	t.Parallel()
	m := newMetrics(prometheus.NewRegistry())
	f := newFanout(4, m)
	release := make(chan struct{})
	var (
		mu       sync.Mutex
		got      []detectors.Transition
		statuses []detectors.Status
	)
	handle := func(s []detectors.Status, trs []detectors.Transition) {
		<-release
		mu.Lock()
		defer mu.Unlock()
		got = append(got, trs...)
		statuses = append(statuses[:0], s...)
	}
	delivered := make(chan struct{})
	go func() {
		defer close(delivered)
		for range f.wake {
			f.drain(handle)
			mu.Lock()
			n := len(got)
			mu.Unlock()
			if n == 20 {
				return
			}
		}
	}()
	pushed := make(chan struct{})
	go func() {
		defer close(pushed)
		for i := range 10 {
			at := time.Unix(int64(i), 0)
			f.push([]detectors.Status{{Since: at}}, []detectors.Transition{{At: at}, {At: at.Add(time.Millisecond)}})
		}
	}()
	require.Eventually(t, func() bool { return testutil.ToFloat64(m.fanoutWaits) >= 1 }, 10*time.Second, time.Millisecond,
		"a push waits when the queue is full")
	require.LessOrEqual(t, f.depth(), 4, "the queue never holds more than its limit")
	close(release)
	<-pushed
	<-delivered
	f.drain(handle)
	require.Len(t, got, 20, "nothing dropped")
	for i := 1; i < len(got); i++ {
		require.True(t, got[i].At.After(got[i-1].At), "in push order")
	}
	require.Equal(t, time.Unix(9, 0), statuses[0].Since, "the newest statuses")
}

// TestFanoutStoppedNeverWaits: once the consumer is gone, pushes queue without waiting, for
// the last drain.
func TestFanoutStoppedNeverWaits(t *testing.T) {
	t.Parallel()
	f := newFanout(1, newMetrics(prometheus.NewRegistry()))
	f.stop()
	for range 3 {
		f.push(nil, []detectors.Transition{{}})
	}
	require.Equal(t, 3, f.depth())
	n := 0
	f.drain(func(_ []detectors.Status, trs []detectors.Transition) { n += len(trs) })
	require.Equal(t, 3, n)
}
