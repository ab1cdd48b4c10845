package main

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/outagewatch/outagewatch/detectors"
	"github.com/outagewatch/outagewatch/internal/scenario"
)

// Call kinds of the hand-made streams.
const (
	ok        = "ok"
	e529      = "529"
	e500      = "500"
	e429      = "429"
	e400      = "400"
	timeout   = "timeout"
	network   = "network"
	truncated = "truncated"
)

func at(sec float64) time.Time {
	return scenario.Origin.Add(time.Duration(sec * float64(time.Second)))
}

func mkCall(sec float64, kind string) *detectors.Call {
	c := &detectors.Call{Time: at(sec), Provider: scenario.DefaultProvider, Model: scenario.DefaultModel, HTTPStatus: 200}
	fail := func(class detectors.ErrorClass, status int) {
		c.Outcome, c.ErrorClass, c.HTTPStatus = detectors.OutcomeError, class, status
	}
	switch kind {
	case e529:
		fail(detectors.ClassOverloaded, 529)
	case e500:
		fail(detectors.ClassServerError, 500)
	case e429:
		fail(detectors.ClassRateLimited, 429)
	case e400:
		fail(detectors.ClassClientError, 400)
	case timeout:
		fail(detectors.ClassTimeout, 0)
	case network:
		fail(detectors.ClassNetwork, 0)
	case truncated:
		c.Outcome, c.Streaming = detectors.OutcomeTruncated, true
	}
	return c
}

// feeder replays hand-made calls into one rule, ticking it every whole second as the bench
// does, and records when it is alarmed.
type feeder struct {
	tb   testing.TB
	r    rule
	rp   *replay
	last float64
}

func newFeeder(tb testing.TB, r rule) *feeder {
	return &feeder{tb: tb, r: r, rp: newReplay([]rule{r}, scenario.Origin, nil)}
}

// call feeds calls of the given kinds at sec, sec+step, ...; it returns the time after the last.
func (f *feeder) calls(sec, step float64, kinds ...string) float64 {
	f.tb.Helper()
	for _, k := range kinds {
		require.GreaterOrEqual(f.tb, sec, f.last, "calls must be in time order")
		require.NoError(f.tb, f.rp.call(context.Background(), mkCall(sec, k)))
		f.last = sec
		sec += step
	}
	return sec
}

// repeat returns n copies of kind.
func repeat(kind string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = kind
	}
	return out
}

// wait ticks up to sec.
func (f *feeder) wait(sec float64) {
	f.rp.until(at(sec))
	f.last = sec
}

func TestEnvoyConsecutive5xx(t *testing.T) {
	t.Parallel()
	f := newFeeder(t, newEnvoy())
	next := f.calls(1, 0.1, e529, e500, timeout, network)
	require.False(t, f.r.alarmed(), "four in a row")
	next = f.calls(next, 0.1, ok)
	next = f.calls(next, 0.1, e529, e529, e529, e529)
	require.False(t, f.r.alarmed(), "a success resets the count")
	next = f.calls(next, 0.1, e429, e529, e529, e529, e529)
	require.False(t, f.r.alarmed(), "a 429 is not a 5xx and resets the count")
	next = f.calls(next, 0.1, truncated, e529, e529, e529, e529, e400)
	require.False(t, f.r.alarmed(), "a cut stream and a 400 are not 5xx")
	f.calls(next, 0.1, e529, e529, e529, e529, e529)
	require.True(t, f.r.alarmed(), "five 5xx in a row eject")
}

func TestEnvoyEjectionBackoff(t *testing.T) {
	t.Parallel()
	e := newEnvoy()
	f := newFeeder(t, e)
	// Ejected at 0.54. The interval timer starts with the first event and fires at 10.5,
	// 20.5, ...; the bench's whole-second ticks deliver each firing at the next second.
	f.calls(0.5, 0.01, repeat(e529, 5)...)
	require.True(t, e.alarmed())
	f.wait(40)
	require.True(t, e.alarmed(), "ejected for 30 s: the check at 30.5 is too early")
	f.wait(41)
	require.False(t, e.alarmed(), "returned at the check at 40.5")
	// Traffic keeps flowing (panic routing): errors after the return count afresh.
	f.calls(41, 0.01, repeat(e529, 5)...)
	require.True(t, e.alarmed())
	f.wait(110)
	require.True(t, e.alarmed(), "the second ejection lasts 60 s")
	f.wait(111)
	require.False(t, e.alarmed())
	// The healthy checks at 120.5 and 130.5 decrement the backoff twice: a new ejection
	// lasts 30 s again.
	f.wait(131)
	f.calls(131, 0.01, repeat(e529, 5)...)
	f.wait(170)
	require.True(t, e.alarmed())
	f.wait(171)
	require.False(t, e.alarmed())
}

func TestEnvoyErrorsWhileEjectedDoNotExtend(t *testing.T) {
	t.Parallel()
	e := newEnvoy()
	f := newFeeder(t, e)
	f.calls(0.5, 0.01, repeat(e529, 5)...)
	f.calls(1, 1, repeat(e529, 40)...) // 5xx all along the ejection
	f.wait(41)
	require.False(t, e.alarmed(), "uneject at the check at 40.5 whatever happens meanwhile")
	f.calls(41, 0.01, repeat(e529, 4)...)
	require.False(t, e.alarmed(), "counters were reset on the return")
}

func TestHystrixVolumeAndPercentage(t *testing.T) {
	t.Parallel()
	h := newHystrix()
	f := newFeeder(t, h)
	next := f.calls(0, 0.4, repeat(e529, 19)...)
	require.False(t, h.alarmed(), "19 requests are below the volume threshold")
	f.calls(next, 0.01, e529)
	require.True(t, h.alarmed(), "20 failed requests in 10 s open the circuit")

	h = newHystrix()
	f = newFeeder(t, h)
	next = f.calls(0, 0.2, repeat(ok, 11)...)
	next = f.calls(next, 0.2, repeat(e429, 9)...)
	require.False(t, h.alarmed(), "9 of 20 is 45%%")
	f.calls(next, 0.01, e429, e529)
	require.True(t, h.alarmed(), "11 of 22 is 50%%: 429s count as failures")

	h = newHystrix()
	f = newFeeder(t, h)
	next = f.calls(0, 0.2, repeat(e400, 30)...)
	require.False(t, h.alarmed(), "bad requests are not failures")
}

func TestHystrixRollingWindow(t *testing.T) {
	t.Parallel()
	h := newHystrix()
	f := newFeeder(t, h)
	f.calls(0, 0.01, repeat(e529, 15)...) // second 0
	f.calls(10.5, 0.01, repeat(e529, 10)...)
	require.False(t, h.alarmed(), "second 0 has left the 10 s window by second 10")
	f.calls(10.7, 0.01, repeat(e529, 10)...)
	require.True(t, h.alarmed())
}

func TestHystrixHalfOpen(t *testing.T) {
	t.Parallel()
	h := newHystrix()
	f := newFeeder(t, h)
	f.calls(0, 0.01, repeat(e529, 20)...) // opens at 0.19
	f.calls(1, 0.5, repeat(ok, 8)...)     // short-circuited until 5.19
	require.True(t, h.alarmed())
	f.calls(5.5, 0.1, e529) // the trial fails: open again until 10.5
	require.True(t, h.alarmed())
	f.calls(6, 1, ok, ok, ok, ok)
	require.True(t, h.alarmed(), "still in the new sleep window")
	f.calls(10.6, 0.1, ok) // the trial succeeds
	require.False(t, h.alarmed())
	f.calls(11, 0.01, repeat(e529, 19)...)
	require.False(t, h.alarmed(), "the window was reset on closing")
}

func TestLiteLLMFailureRate(t *testing.T) {
	t.Parallel()
	l := newLiteLLM(false)
	f := newFeeder(t, l)
	f.calls(0, 1, e529, e529, e529, e529)
	require.False(t, l.alarmed(), "4 requests are below the minimum of 5")

	l = newLiteLLM(false)
	f = newFeeder(t, l)
	next := f.calls(0, 1, ok, ok, e529, e529)
	require.False(t, l.alarmed())
	f.calls(next, 1, e529)
	require.True(t, l.alarmed(), "3 of 5 failed: 60% > 50%")

	l = newLiteLLM(false)
	f = newFeeder(t, l)
	f.calls(0, 1, ok, ok, ok, e529, e529, e529)
	require.False(t, l.alarmed(), "exactly 50% does not cool down")
}

func TestLiteLLMImmediateCooldowns(t *testing.T) {
	t.Parallel()
	l := newLiteLLM(false)
	f := newFeeder(t, l)
	next := f.calls(0, 1, repeat(ok, 10)...)
	f.calls(next, 1, e429)
	require.True(t, l.alarmed(), "a 429 cools down at once")
	f.wait(next + 4)
	require.True(t, l.alarmed())
	f.wait(next + 5)
	require.False(t, l.alarmed(), "cooldowns last 5 s")

	l = newLiteLLM(false)
	f = newFeeder(t, l)
	next = f.calls(0, 1, ok, ok, ok, ok, network, network, network, network)
	require.False(t, l.alarmed(), "connection errors do not run the cooldown logic")
	f.calls(next, 1, e529)
	require.True(t, l.alarmed(), "but they count as failures: 5 of 9")

	l = newLiteLLM(false)
	f = newFeeder(t, l)
	f.calls(0, 1, ok, ok, ok, ok, ok, ok, e400, e400)
	require.False(t, l.alarmed(), "400s are the caller's")
}

func TestLiteLLMCallsDuringCooldownAreRoutedAway(t *testing.T) {
	t.Parallel()
	l := newLiteLLM(false)
	f := newFeeder(t, l)
	next := f.calls(0, 1, repeat(ok, 10)...)
	next = f.calls(next, 1, e429)                 // cooling down until next+5
	next = f.calls(next, 0.5, repeat(e529, 8)...) // not counted
	f.calls(next+1, 1, e529)
	require.False(t, l.alarmed(), "1 of 11 failed: the failures during the cooldown went elsewhere")
}

func TestLiteLLMMisalignedCounters(t *testing.T) {
	t.Parallel()
	// Successes every second from 0 to 59 (their counter expires at 60), failures at 50, 55
	// and 58 (their counter runs until 110); then 2 successes and 1 failure.
	feed := func(l *litellm) {
		f := newFeeder(t, l)
		for s := 0; s < 60; s++ {
			kind := ok
			if s == 50 || s == 55 || s == 58 {
				kind = e529
			}
			f.calls(float64(s), 1, kind)
		}
		f.calls(61, 1, ok, ok, e529)
	}
	misaligned := newLiteLLM(false)
	feed(misaligned)
	require.True(t, misaligned.alarmed(), "4 fails against 2 successes: the success counter restarted first")
	aligned := newLiteLLM(true)
	feed(aligned)
	require.False(t, aligned.alarmed(), "calendar minutes: 1 fail and 2 successes in minute 1")
}

func TestBurnRate(t *testing.T) {
	t.Parallel()
	// One call per second for an hour; every n-th an error.
	fire := func(n int, quiet bool) bool {
		b := newBurnRate()
		f := newFeeder(t, b)
		for s := 1; s <= 3600; s++ {
			kind := ok
			if s%n == 0 && !(quiet && s > 3300) {
				kind = e529
			}
			f.calls(float64(s)-0.5, 1, kind)
		}
		f.wait(3600)
		return b.alarmed()
	}
	require.False(t, fire(100, false), "1% < 1.44%")
	require.True(t, fire(50, false), "2% > 1.44% in both windows")
	require.False(t, fire(20, true), "5% over the hour but none in the last 5 minutes")

	b := newBurnRate()
	f := newFeeder(t, b)
	f.calls(0.5, 1, repeat(e429, 10)...)
	f.wait(11)
	require.True(t, b.alarmed(), "429s burn the budget")
	f.wait(11 + 300)
	require.False(t, b.alarmed(), "no calls in the last 5 minutes")
	require.False(t, newBurnRate().alarmed())
}

func TestBurnRateWindowsAfterLongGap(t *testing.T) {
	t.Parallel()
	b := newBurnRate()
	f := newFeeder(t, b)
	f.calls(0.5, 1, repeat(e529, 10)...)
	f.calls(5000, 1, repeat(ok, 10)...)
	f.wait(5010)
	require.False(t, b.alarmed(), "the errors left both windows")
	require.Equal(t, int64(10), b.longTotal)
	require.Zero(t, b.longErrs)
}
