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

// TestNewSeriesIsJudgedFromItsFirstCall: a series with calls is never unknown for being new: it
// is healthy from its first call, on the global priors, and its own baselines take over after
// the warm-up.
func TestNewSeriesIsJudgedFromItsFirstCall(t *testing.T) {
	t.Parallel()
	s := newStream(t, DefaultConfig(), 1, 1)
	s.run(time.Minute, errorsAt(s.rng, 0.01))
	require.Equal(t, []State{StateHealthy}, statesOf(s.trans, "claude"))
	require.Equal(t, DetectorWarmup, s.trans[0].Evidence.Detector)
	st := s.e.Status(s.now, nil)
	require.Equal(t, SeriesKey{Provider: "anthropic"}, st[0].Series)
	require.Equal(t, BaselineGlobal, st[0].Baseline.From)
	require.Equal(t, BaselineGlobal, st[1].Baseline.From)
	require.Equal(t, st[1].Figures.Calls, st[1].Baseline.Calls)
	require.Positive(t, st[1].Baseline.Calls)
	for m := range numMembers {
		require.True(t, s.e.series[SeriesKey{Provider: "anthropic", Model: "claude"}].members[m].ready(), "%s runs", memberDetector[m])
	}
	s.run(70*time.Minute, errorsAt(s.rng, 0.01))
	require.Equal(t, []State{StateHealthy}, statesOf(s.trans, "claude"), "no transition at the end of the warm-up")
	st = s.e.Status(s.now, nil)
	require.Equal(t, BaselineOwn, st[0].Baseline.From)
	require.Equal(t, BaselineOwn, st[1].Baseline.From)
}

// TestNewModelStartsFromItsProvider: a new model on a warm provider is designed on the
// provider's baselines, and a dead one is down after as many errors as the warm model.
func TestNewModelStartsFromItsProvider(t *testing.T) {
	t.Parallel()
	s := newStream(t, DefaultConfig(), 1, 2)
	s.run(2*time.Hour, errorsAt(s.rng, 0.01))
	warm := errorsToDown(t, s, "claude")
	fresh := errorsToDown(t, s, "claude-new")
	require.LessOrEqual(t, fresh, warm, "a brand-new dead model is down as fast as a warm one")
	for _, st := range s.e.Status(s.now, nil) {
		if st.Series.Model == "claude-new" {
			require.Equal(t, BaselineSource{From: BaselineProvider, Calls: uint64(fresh)}, st.Baseline)
		}
	}
}

// errorsToDown clones the stream's engine and sends model consecutive errors until it is down.
func errorsToDown(t *testing.T, s *stream, model string) int {
	t.Helper()
	data, err := s.e.Snapshot()
	require.NoError(t, err)
	e := restore(t, data)
	for n := 1; n <= 50; n++ {
		c := Call{Provider: "anthropic", Model: model, Outcome: OutcomeError, ErrorClass: ClassOverloaded, RequestID: uint64(1e9 + n)}
		for _, tr := range e.Observe(s.now.Add(time.Duration(n)*100*time.Millisecond), &c, nil) {
			if tr.Series.Model == model && tr.To == StateDown {
				return n
			}
		}
	}
	t.Fatalf("%s not down after 50 errors", model)
	return 0
}

// TestFreshDaemonDetectsPartialFaults: on a fresh engine at 10 calls/s, a truncation storm (a
// third of streams cut) or a 20% error rate that starts two minutes after the first call is
// alarmed within 15 s (before, the series was unknown for an hour).
func TestFreshDaemonDetectsPartialFaults(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name          string
		before, fault func(rng *rand.Rand) func(*Call)
		detectors     []Detector
		states        []State
	}{
		{"truncation", func(rng *rand.Rand) func(*Call) { return truncations(rng, 0.002) },
			func(rng *rand.Rand) func(*Call) { return truncations(rng, 1.0/3) }, []Detector{DetectorTruncation}, []State{StateDegraded}},
		// At 20% errors, a run of four errors (one in 600 calls) can set the hard-outage member
		// off first, as on a warm series.
		{"errors", func(rng *rand.Rand) func(*Call) { return errorsAt(rng, 0.01) },
			func(rng *rand.Rand) func(*Call) { return errorsAt(rng, 0.2) }, []Detector{DetectorErrorRate, DetectorErrorMid, DetectorErrorDown},
			[]State{StateDegraded, StateDown}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			for seed := range uint64(5) {
				s := newStream(t, DefaultConfig(), 10, 100+seed)
				s.run(2*time.Minute, tc.before(s.rng))
				start := s.now
				s.run(time.Minute, tc.fault(s.rng))
				at, st, ok := s.firstAlarm(start)
				require.True(t, ok, "seed %d: not detected", seed)
				require.Contains(t, tc.states, st, "seed %d", seed)
				require.Less(t, at.Sub(start), 15*time.Second, "seed %d", seed)
				for _, tr := range s.trans {
					if tr.Series.Model != "" && tr.At.Equal(at) {
						require.Contains(t, tc.detectors, tr.Evidence.Detector)
					}
				}
			}
		})
	}
}

func TestStepOutageIsDetectedQuickly(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		lambda, p0, p1 float64
		bound          time.Duration // the design's closed-form delay bound (cmd/detectbench/bounds.go)
		want           State
	}{
		{1, 0.01, 1.0, 4500 * time.Millisecond, StateDown},
		{1, 0.01, 0.5, 13300 * time.Millisecond, StateDown},
		{10, 0.05, 0.5, 3200 * time.Millisecond, StateDown},
		{10, 0.01, 0.2, 4800 * time.Millisecond, StateDegraded},
	} {
		var total time.Duration
		runs := 20
		if testing.Short() {
			runs = 5 // under -race: the full size runs without it (scripts/test.sh)
		}
		for r := 0; r < runs; r++ {
			s := newStream(t, DefaultConfig(), tc.lambda, uint64(r+1))
			s.run(2*time.Hour, errorsAt(s.rng, tc.p0))
			start := s.now
			s.run(20*time.Minute, errorsAt(s.rng, tc.p1))
			at, _, ok := s.firstAlarm(start)
			require.True(t, ok, "λ=%v p0=%v p1=%v run %d: not detected", tc.lambda, tc.p0, tc.p1, r)
			total += at.Sub(start)
		}
		mean := total / time.Duration(runs)
		t.Logf("λ=%v p0=%v p1=%v mean delay %v (bound %v)", tc.lambda, tc.p0, tc.p1, mean, tc.bound)
		require.LessOrEqual(t, mean, tc.bound+time.Second, "mean delay within the guaranteed bound (+1 s of tick granularity)")
	}
}

func TestNoFalseAlarmsOnNoise(t *testing.T) {
	t.Parallel()
	s := newStream(t, DefaultConfig(), 10, 3)
	days := 3
	if testing.Short() {
		days = 1
	}
	s.run(time.Duration(days)*24*time.Hour, errorsAt(s.rng, 0.05))
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

func truncations(rng *rand.Rand, p float64) func(c *Call) {
	return func(c *Call) {
		c.Streaming, c.TTFT = true, 300*time.Millisecond
		if rng.Float64() < p {
			c.Outcome, c.FinishReason = OutcomeTruncated, FinishNone
		}
	}
}

func rateLimits(rng *rand.Rand, p float64) func(c *Call) {
	return func(c *Call) {
		if rng.Float64() < p {
			c.Outcome, c.ErrorClass, c.HTTPStatus = OutcomeError, ClassRateLimited, 429
		}
	}
}

func statesOf(trans []Transition, model string) []State {
	var out []State
	for _, tr := range trans {
		if tr.Series.Model == model {
			out = append(out, tr.To)
		}
	}
	return out
}

func TestTruncationStormDegrades(t *testing.T) {
	t.Parallel()
	s := newStream(t, DefaultConfig(), 2, 11)
	s.run(2*time.Hour, truncations(s.rng, 0.002))
	start := s.now
	s.run(10*time.Minute, truncations(s.rng, 1.0/3))
	at, st, ok := s.firstAlarm(start)
	require.True(t, ok, "a third of streams cut off is detected")
	require.Equal(t, StateDegraded, st)
	require.Less(t, at.Sub(start), time.Minute)
	last := s.trans[len(s.trans)-1]
	require.Equal(t, DetectorTruncation, lastAlarm(s.trans).Evidence.Detector)
	_ = last
}

func lastAlarm(trans []Transition) Transition {
	for i := len(trans) - 1; i >= 0; i-- {
		if trans[i].To == StateDegraded || trans[i].To == StateDown {
			return trans[i]
		}
	}
	return Transition{}
}

func TestRateLimitStormNeverDown(t *testing.T) {
	t.Parallel()
	s := newStream(t, DefaultConfig(), 5, 12)
	s.run(2*time.Hour, rateLimits(s.rng, 0.01))
	start := s.now
	s.run(20*time.Minute, rateLimits(s.rng, 0.9))
	_, st, ok := s.firstAlarm(start)
	require.True(t, ok)
	require.Equal(t, StateDegraded, st)
	for _, tr := range s.trans {
		require.NotEqual(t, StateDown, tr.To, "429s are account-scoped: never down (%+v)", tr)
	}
	require.Equal(t, DetectorRateLimit, lastAlarm(s.trans).Evidence.Detector)
}

func TestSilenceGivesUnknown(t *testing.T) {
	t.Parallel()
	s := newStream(t, DefaultConfig(), 1, 13)
	s.run(2*time.Hour, errorsAt(s.rng, 0.01))
	s.lambda = 0
	s.run(5*time.Minute, errorsAt(s.rng, 0))
	require.Equal(t, []State{StateHealthy, StateUnknown}, statesOf(s.trans, "claude"))
	require.Equal(t, DetectorSilence, s.trans[len(s.trans)-1].Evidence.Detector)
	s.lambda = 1
	s.next = s.now.Add(time.Second)
	s.run(time.Minute, errorsAt(s.rng, 0.01))
	require.Equal(t, []State{StateHealthy, StateUnknown, StateHealthy}, statesOf(s.trans, "claude"), "traffic resumes: healthy again")
}

func TestRecoveryStepsDownWithoutFlapping(t *testing.T) {
	t.Parallel()
	s := newStream(t, DefaultConfig(), 5, 14)
	s.run(2*time.Hour, errorsAt(s.rng, 0.01))
	s.run(5*time.Minute, errorsAt(s.rng, 1.0))
	end := s.now
	s.run(30*time.Minute, errorsAt(s.rng, 0.01))
	got := statesOf(s.trans, "claude")
	require.Equal(t, []State{StateHealthy, StateDown, StateDegraded, StateHealthy}, got)
	var degradedAt, healthyAt time.Time
	for _, tr := range s.trans {
		if tr.Series.Model == "claude" && tr.To == StateDegraded {
			degradedAt = tr.At
			require.Equal(t, DetectorRecovery, tr.Evidence.Detector)
		}
		if tr.Series.Model == "claude" && tr.To == StateHealthy {
			healthyAt = tr.At
		}
	}
	// The last re-alarm of the outage is at most a few calls before its end; the down
	// hold-down (30 s for a first entry) runs from it, the degraded one (60 s) from the step.
	require.Greater(t, degradedAt.Sub(end), 25*time.Second, "down holds after the errors stop")
	require.Less(t, degradedAt.Sub(end), 2*time.Minute)
	require.GreaterOrEqual(t, healthyAt.Sub(degradedAt), time.Minute, "degraded holds a minute before healthy")
	prov := statesOf(s.trans, "")
	require.Equal(t, []State{StateHealthy, StateDown, StateDegraded, StateHealthy}, prov, "the provider follows")
}

func TestEvidenceOfAnAlarm(t *testing.T) {
	t.Parallel()
	s := newStream(t, DefaultConfig(), 5, 15)
	s.run(2*time.Hour, errorsAt(s.rng, 0.01))
	start := s.now
	s.run(time.Minute, func(c *Call) {
		c.Outcome, c.ErrorClass, c.HTTPStatus, c.ErrorMessage = OutcomeError, ClassOverloaded, 529, "Error code: 529 - overloaded_error"
	})
	tr := lastAlarm(s.trans)
	require.Equal(t, StateDown, tr.To)
	ev := tr.Evidence
	require.Contains(t, []Detector{DetectorErrorDown, DetectorErrorMid, DetectorErrorRate}, ev.Detector)
	require.Greater(t, ev.Observed, 0.5)
	require.Greater(t, ev.Baseline, 0.0)
	require.Less(t, ev.Baseline, 0.05)
	require.Greater(t, ev.Threshold, 5.0)
	require.False(t, ev.ChangePoint.Before(start.Add(-time.Minute)), "change point near the outage start")
	require.GreaterOrEqual(t, ev.SampleSize, 3)
	require.Equal(t, ClassOverloaded, ev.Classes[0].Class)
	require.Equal(t, "Error code: 529 - overloaded_error", ev.SampleError)
	require.Greater(t, ev.CallRate, 1.0)
}

func TestRetriesOfOneRequestAreCapped(t *testing.T) {
	t.Parallel()
	for _, limit := range []int{1, 3} {
		cfg := DefaultConfig()
		cfg.MaxRetryErrors = limit
		e, err := NewEngine(cfg)
		require.NoError(t, err)
		c := Call{Provider: "p", Model: "m", Outcome: OutcomeError, ErrorClass: ClassOverloaded, Attempts: 10, FailedAttempts: 10, RequestID: 42}
		o := e.observation(t0, &c)
		require.Equal(t, limit, o.providerErrors)
		o = e.observation(t0.Add(time.Second), &c)
		require.Equal(t, 0, o.providerErrors, "the same logical request has used its budget")
		c.RequestID = 43
		c.Outcome, c.FailedAttempts, c.AttemptClass = OutcomeOK, 2, ClassOverloaded
		o = e.observation(t0, &c)
		require.Equal(t, min(2, limit), o.providerErrors)
		require.True(t, o.success)
	}
}

func TestDeterministic(t *testing.T) {
	t.Parallel()
	run := func() []Transition {
		s := newStream(t, DefaultConfig(), 3, 21)
		s.run(2*time.Hour, errorsAt(s.rng, 0.02))
		s.run(3*time.Minute, errorsAt(s.rng, 0.6))
		s.run(20*time.Minute, errorsAt(s.rng, 0.02))
		return s.trans
	}
	require.Equal(t, run(), run())
}

func TestAttemptsWithoutAModelFeedTheProviderOnly(t *testing.T) {
	t.Parallel()
	e, err := NewEngine(DefaultConfig())
	require.NoError(t, err)
	var trans []Transition
	for i := 0; i < 20; i++ {
		c := Call{Provider: "anthropic", Model: UnknownModel, Source: SourceAttempt, Outcome: OutcomeError,
			ErrorClass: ClassOverloaded, Attempts: 1, FailedAttempts: 1, RequestID: uint64(i + 1)}
		trans = e.Observe(t0.Add(time.Duration(i)*time.Second), &c, trans)
	}
	_, ok := e.series[SeriesKey{Provider: "anthropic", Model: UnknownModel}]
	require.False(t, ok, "no model series for attempts without a model")
	require.Equal(t, []State{StateHealthy, StateDown}, statesOf(trans, ""), "the provider's pooled bank sees them, from the first")
}
