package memlimit

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
)

// fakeMemory is an injected memory reading and clock.
type fakeMemory struct {
	inUse atomic.Uint64
	reads atomic.Int64
	mu    sync.Mutex
	now   time.Time
}

func (f *fakeMemory) read() uint64 { f.reads.Add(1); return f.inUse.Load() }

func (f *fakeMemory) clock() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fakeMemory) advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
}

// newFakeShedder returns a Shedder with a 1000-byte ceiling and the default thresholds (shed
// from 850, stop under 750), reading f, with its metrics in reg when not nil.
func newFakeShedder(tb testing.TB, reg prometheus.Registerer) (*Shedder, *fakeMemory) {
	tb.Helper()
	f := &fakeMemory{now: time.Unix(1_800_000_000, 0)}
	s := NewShedder(DefaultConfig(), 1000, ShedderOptions{Read: f.read, Now: f.clock, Registerer: reg})
	return s, f
}

func TestShedderHysteresis(t *testing.T) {
	t.Parallel()
	s, f := newFakeShedder(t, nil)
	steps := []struct {
		inUse uint64
		want  bool
	}{
		{100, false},
		{849, false},
		{850, true}, // the high-water mark
		{800, true}, // between the marks: still shedding
		{750, true}, // at the low mark: still shedding
		{749, false},
		{800, false}, // between the marks: still accepting
		{900, true},
		{10, false},
	}
	for i, st := range steps {
		f.inUse.Store(st.inUse)
		f.advance(DefaultInterval)
		require.Equal(t, st.want, s.Shed(), "step %d: %d bytes in use", i, st.inUse)
		require.Equal(t, st.want, s.Shedding(), "step %d", i)
		require.Equal(t, st.inUse, s.InUse(), "step %d", i)
	}
}

func TestShedderCachesTheReading(t *testing.T) {
	t.Parallel()
	s, f := newFakeShedder(t, nil)
	f.inUse.Store(900)
	require.True(t, s.Shed())
	require.EqualValues(t, 1, f.reads.Load())

	// Within the interval the decision stands whatever the memory does, and nothing is read.
	f.inUse.Store(0)
	f.advance(DefaultInterval - time.Nanosecond)
	for range 100 {
		require.True(t, s.Shed())
	}
	require.EqualValues(t, 1, f.reads.Load())

	f.advance(time.Nanosecond)
	require.False(t, s.Shed())
	require.EqualValues(t, 2, f.reads.Load())
}

func TestShedderWithoutCeilingNeverSheds(t *testing.T) {
	t.Parallel()
	f := &fakeMemory{now: time.Unix(0, 0)}
	f.inUse.Store(1 << 40)
	s := NewShedder(DefaultConfig(), 0, ShedderOptions{Read: f.read, Now: f.clock})
	require.False(t, s.Shed())
	require.EqualValues(t, 0, f.reads.Load(), "Shed reads nothing without a ceiling")
	require.Equal(t, uint64(1<<40), s.InUse(), "the figure is still reported")
	require.False(t, s.Shedding())
	require.Zero(t, s.Ceiling())

	var nilShedder *Shedder
	require.False(t, nilShedder.Shed())
	require.False(t, nilShedder.Shedding())
	require.Zero(t, nilShedder.InUse())
	require.Zero(t, nilShedder.Ceiling())
}

func TestShedderMetrics(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewPedanticRegistry()
	s, f := newFakeShedder(t, reg)
	f.inUse.Store(900)
	for range 3 {
		require.True(t, s.Shed())
	}
	want := `
# HELP outagewatch_memory_in_use_bytes Memory the process cannot give back (mapped by the Go runtime less released, free and dead heap), which shedding compares with the ceiling.
# TYPE outagewatch_memory_in_use_bytes gauge
outagewatch_memory_in_use_bytes 900
# HELP outagewatch_memory_limit_bytes The memory ceiling the daemon keeps under (memory.limit, GOMEMLIMIT or the cgroup); 0 when there is none.
# TYPE outagewatch_memory_limit_bytes gauge
outagewatch_memory_limit_bytes 1000
# HELP outagewatch_memory_shed_total Decisions to refuse work for lack of memory (each refused request or batch counts once).
# TYPE outagewatch_memory_shed_total counter
outagewatch_memory_shed_total 3
# HELP outagewatch_memory_shedding 1 while new work is refused for lack of memory, else 0.
# TYPE outagewatch_memory_shedding gauge
outagewatch_memory_shedding 1
`
	names := []string{"outagewatch_memory_in_use_bytes", "outagewatch_memory_limit_bytes", "outagewatch_memory_shed_total", "outagewatch_memory_shedding"}
	require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(want), names...))

	f.inUse.Store(100)
	f.advance(DefaultInterval)
	require.False(t, s.Shed())
	require.Equal(t, 3.0, testutil.ToFloat64(s.metrics.shed), "a false answer is not counted")
	n, err := testutil.GatherAndCount(reg, "outagewatch_memory_soft_limit_bytes")
	require.NoError(t, err)
	require.Equal(t, 1, n)
}

func TestShedderConcurrent(t *testing.T) {
	t.Parallel()
	s, f := newFakeShedder(t, prometheus.NewRegistry())
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 1000 {
				if g == 0 && i%10 == 0 {
					f.inUse.Store(uint64(i % 1000))
					f.advance(DefaultInterval)
				}
				s.Shed()
				s.InUse()
			}
		})
	}
	wg.Wait()
}

func TestRuntimeReader(t *testing.T) {
	t.Parallel()
	r := NewRuntimeReader()
	got := r.Read()
	// The runtime holds at least its stacks and some heap, and far less than a terabyte here.
	require.Greater(t, got, uint64(64<<10))
	require.Less(t, got, uint64(1<<40))
}

// TestShedderReadiness: /readyz fails while the shedder sheds, and checking counts no shed.
func TestShedderReadiness(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	s, f := newFakeShedder(t, reg)
	require.NoError(t, s.Check(context.Background()))
	f.inUse.Store(900)
	f.advance(DefaultInterval)
	require.ErrorContains(t, s.Check(context.Background()), "shedding load")
	f.inUse.Store(100)
	f.advance(DefaultInterval)
	require.NoError(t, s.Check(context.Background()), "under the low mark: ready again")
	require.Zero(t, testutil.ToFloat64(s.metrics.shed), "a readiness check is no shed")
	var none *Shedder
	require.NoError(t, none.Check(context.Background()))
}
