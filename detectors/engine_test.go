package detectors

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var t0 = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)

// stream feeds Poisson calls at rate lambda with error probability p(t) to an engine, ticking
// every second, and records transitions of the model series.
type stream struct {
	e      *Engine
	rng    *rand.Rand
	now    time.Time
	next   time.Time
	lambda float64
	trans  []Transition
	req    uint64
}

func newStream(tb testing.TB, cfg Config, lambda float64, seed uint64) *stream {
	tb.Helper()
	e, err := NewEngine(cfg)
	require.NoError(tb, err)
	s := &stream{e: e, rng: rand.New(rand.NewPCG(seed, 7)), now: t0, lambda: lambda}
	s.next = t0.Add(s.gap())
	return s
}

func (s *stream) gap() time.Duration {
	return time.Duration(s.rng.ExpFloat64() / s.lambda * float64(time.Second))
}

// run advances d of virtual time, making each call with mk.
func (s *stream) run(d time.Duration, mk func(c *Call)) {
	end := s.now.Add(d)
	nextTick := s.now.Truncate(time.Second).Add(time.Second)
	for {
		if s.lambda > 0 && s.next.Before(nextTick) && !s.next.After(end) {
			s.now = s.next
			s.req++
			c := Call{Provider: "anthropic", Model: "claude", Outcome: OutcomeOK, FinishReason: FinishStop, RequestID: s.req, Duration: time.Second}
			mk(&c)
			s.trans = s.e.Observe(s.now, &c, s.trans)
			s.next = s.now.Add(s.gap())
			continue
		}
		if nextTick.After(end) {
			s.now = end
			return
		}
		s.now = nextTick
		s.trans = s.e.Tick(s.now, s.trans)
		nextTick = nextTick.Add(time.Second)
	}
}

func errorsAt(rng *rand.Rand, p float64) func(c *Call) {
	return func(c *Call) {
		if rng.Float64() < p {
			c.Outcome, c.ErrorClass, c.HTTPStatus, c.FinishReason = OutcomeError, ClassOverloaded, 529, FinishNone
		}
	}
}

// firstAlarm returns the time of the first transition of the model series to degraded or down
// at or after from.
func (s *stream) firstAlarm(from time.Time) (time.Time, State, bool) {
	for _, tr := range s.trans {
		if tr.Series.Model != "" && !tr.At.Before(from) && (tr.To == StateDegraded || tr.To == StateDown) {
			return tr.At, tr.To, true
		}
	}
	return time.Time{}, StateUnknown, false
}

func TestWarmupThenHealthy(t *testing.T) {
	t.Parallel()
	s := newStream(t, DefaultConfig(), 1, 1)
	s.run(30*time.Minute, errorsAt(s.rng, 0.01))
	require.Empty(t, s.trans, "still warming up after 30 minutes: unknown, no transition")
	s.run(40*time.Minute, errorsAt(s.rng, 0.01))
	require.NotEmpty(t, s.trans)
	require.Equal(t, StateHealthy, s.trans[0].To)
	require.Equal(t, DetectorWarmup, s.trans[0].Evidence.Detector)
}

func TestStepOutageIsDetectedQuickly(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		lambda, p0, p1 float64
		bound          time.Duration // DETECTION.md "Delay (hard, closed form)"
		want           State
	}{
		{1, 0.01, 1.0, 4500 * time.Millisecond, StateDown},
		{1, 0.01, 0.5, 13300 * time.Millisecond, StateDown},
		{10, 0.05, 0.5, 3200 * time.Millisecond, StateDown},
		{10, 0.01, 0.2, 4800 * time.Millisecond, StateDegraded},
	} {
		var total time.Duration
		const runs = 20
		for r := 0; r < runs; r++ {
			s := newStream(t, DefaultConfig(), tc.lambda, uint64(r+1))
			s.run(2*time.Hour, errorsAt(s.rng, tc.p0))
			start := s.now
			s.run(20*time.Minute, errorsAt(s.rng, tc.p1))
			at, _, ok := s.firstAlarm(start)
			require.True(t, ok, "λ=%v p0=%v p1=%v run %d: not detected", tc.lambda, tc.p0, tc.p1, r)
			total += at.Sub(start)
		}
		mean := total / runs
		t.Logf("λ=%v p0=%v p1=%v mean delay %v (bound %v)", tc.lambda, tc.p0, tc.p1, mean, tc.bound)
		require.LessOrEqual(t, mean, tc.bound+time.Second, "mean delay within the guaranteed bound (+1 s of tick granularity)")
	}
}

func TestNoFalseAlarmsOnNoise(t *testing.T) {
	t.Parallel()
	s := newStream(t, DefaultConfig(), 10, 3)
	s.run(3*24*time.Hour, errorsAt(s.rng, 0.05))
	alarms := 0
	for _, tr := range s.trans {
		if tr.To == StateDegraded || tr.To == StateDown {
			alarms++
			t.Logf("false alarm: %+v", tr)
		}
	}
	require.Zero(t, alarms)
	_ = math.Pi
}
