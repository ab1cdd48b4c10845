package detectors

import (
	"math"
	"time"
)

// Latches: an alarm holds its series degraded or down (alarm, enterDown) until its hold-down has
// passed and a reverse CUSUM has seen enough good calls (recoveryStep, clearLatches).

// latch is an alarm that holds a series degraded or down until it clears: after its hold-down,
// and once a reverse CUSUM (Wald's SPRT of the baseline against the alarm's rate) has seen
// enough good calls.
type latch struct {
	member    member
	level     State
	holdUntil time.Time
	r         float64 // reverse CUSUM statistic
	step      float64 // what one good observation adds to r
	n, k      int32   // observations and events since the change point, for escalation
	evidence  Evidence

	// Whose failures (verdict.go): the verdict, the caller of a local one and its dimension,
	// the end of a pending one's wait, the callers' counts since the change point, the CUSUM
	// on the other callers' calls of a local one, and the caller a widened one was local to.
	verdict      verdict
	caller       Caller
	dim          int
	pendingUntil time.Time
	counts       [numDims]callerCounts
	rest         cusum
	widenedFrom  Caller
}

// recoveryStep advances a latch's reverse CUSUM, and escalates a degraded error or truncation
// alarm whose rate since the change point is, with 80% confidence, at least the down estimate.
// An event resets the reverse CUSUM; the hold-down is re-armed only when the forward CUSUM
// alarms again (alarm), so that baseline errors at a high call rate cannot hold a recovered
// series down forever.
func (s *series) recoveryStep(cfg *Config, now time.Time, l *latch, event bool) {
	l.n++
	if event {
		l.k++
		l.r = 0
	} else {
		l.r += l.step
	}
	if n, k := l.ownCounts(); l.level == StateDegraded && (l.member == mError || l.member == mMid || l.member == mTrunc) && s.downByEstimate(cfg, n, k) {
		s.enterDown(cfg, now, l)
		l.evidence.Observed = float64(l.k) / float64(l.n)
		l.evidence.SampleSize, l.evidence.Events = int(l.n), int(l.k)
		l.evidence.Window = now.Sub(l.evidence.ChangePoint)
	}
}

// downByEstimate reports whether k events in n observations put the rate at or above the down
// estimate: at least DownEstimateCalls observations, and the Wilson 80% lower confidence bound
// of k/n at or above DownEstimate. A CUSUM alarms right after a burst, so the raw k/n at alarm
// time overstates the rate; the bound keeps a partial outage (a third of streams cut) degraded.
func (s *series) downByEstimate(cfg *Config, n, k int) bool {
	if n < cfg.DownEstimateCalls {
		return false
	}
	return wilsonLower(n, k) >= cfg.DownEstimate
}

// alarm latches member m's alarm, or refreshes the latch of an earlier alarm of m: its
// evidence, its hold-down, and an escalation to down.
func (s *series) alarm(e *Engine, now time.Time, m member) {
	cfg := &e.cfg
	c := &s.members[m]
	ev := c.evidence(memberDetector[m], now)
	ev.CallRate = s.rate(now)
	p := c.estimate()
	down := m == mDown || ((m == mError || m == mMid || m == mTrunc) && s.downByEstimate(cfg, int(c.n), int(c.k)))
	c.reset()
	for i := range s.latches {
		if l := &s.latches[i]; l.member == m {
			// A re-alarm judges the rate over the whole alarm (the latch's counts), not over the
			// excursion that just crossed, which ends on a burst by construction. Its verdict
			// stays: a local one widens on its other callers' CUSUM, not on one excursion.
			n, k := l.ownCounts()
			down = m == mDown || ((m == mError || m == mMid || m == mTrunc) && s.downByEstimate(cfg, n, k))
			ev.ConfinedTo = l.caller
			if l.verdict == verdictLocal && n > 0 {
				// Its caller's own figures since the alarm's change point.
				ev.Observed, ev.SampleSize, ev.Events = float64(k)/float64(n), n, k
				ev.ChangePoint, ev.Window = l.evidence.ChangePoint, now.Sub(l.evidence.ChangePoint)
			}
			l.r = 0
			if down && l.level != StateDown {
				s.enterDown(cfg, now, l)
			}
			l.holdUntil = maxTime(l.holdUntil, now.Add(s.hold(cfg, l.level)))
			if l.level == StateDown || !down {
				l.evidence = ev
			}
			return
		}
	}
	p1 := min(0.99, max(p, (c.p0+c.p1)/2))
	l := latch{
		member:       m,
		level:        StateDegraded,
		step:         math.Log((1 - c.p0) / (1 - p1)),
		n:            c.n,
		k:            c.k,
		evidence:     ev,
		counts:       c.callers,
		pendingUntil: now.Add(cfg.ConfineWait),
	}
	v, who := s.judge(cfg, now, &c.callers, c.p0, true)
	l.decide(v, who, c)
	if v == verdictLocal {
		// A local alarm's level is its caller's rate, not the mix of all callers'.
		n, k := l.ownCounts()
		down = m == mDown || ((m == mError || m == mMid || m == mTrunc) && s.downByEstimate(cfg, n, k))
	}
	if down {
		s.enterDown(cfg, now, &l) // its hold-down is the down one, not the longer degraded one
	} else {
		l.holdUntil = now.Add(s.hold(cfg, StateDegraded))
	}
	s.latches = append(s.latches, l)
}

// enterDown raises a latch to down, with the Envoy-like hold-down of the n-th entry of the
// series into down.
func (s *series) enterDown(cfg *Config, now time.Time, l *latch) {
	l.level = StateDown
	if !s.anyDown() {
		s.downCount++
		s.downDecayAt = now
	}
	l.holdUntil = maxTime(l.holdUntil, now.Add(s.hold(cfg, StateDown)))
	l.r = 0
}

func (s *series) anyDown() bool {
	for _, l := range s.latches {
		if l.level == StateDown {
			return true
		}
	}
	return false
}

// hold is the hold-down of an alarm at level.
func (s *series) hold(cfg *Config, level State) time.Duration {
	if level != StateDown {
		return cfg.HoldDegraded
	}
	n := max(s.downCount, 1)
	d := cfg.HoldDownBase << min(n-1, 20)
	return min(d, cfg.HoldDownMax)
}

// clearLatches steps latches whose hold-down is over and whose reverse CUSUM crossed the
// recovery threshold down one level: down → degraded (a new test), degraded → cleared. It
// returns the evidence of the last latch that stepped down, if any.
func (s *series) clearLatches(cfg *Config, now time.Time) (Evidence, bool) {
	var ev Evidence
	if len(s.latches) == 0 {
		return ev, false
	}
	cleared := false
	kept := s.latches[:0]
	for _, l := range s.latches {
		if now.Before(l.holdUntil) || l.r < cfg.RecoveryThreshold {
			kept = append(kept, l)
			continue
		}
		if l.verdict == verdictProvider {
			cleared = true
			ev = l.evidence
		}
		if l.verdict == verdictProvider {
			ev.Detector = DetectorRecovery
			ev.Window = now.Sub(l.evidence.ChangePoint)
		}
		if l.level == StateDown {
			// Step down to degraded, with a fresh test and a fresh estimate: the outage's
			// counts must not escalate the latch straight back to down.
			l.level = StateDegraded
			l.holdUntil = now.Add(cfg.HoldDegraded)
			l.r, l.n, l.k = 0, 0, 0
			kept = append(kept, l)
		}
	}
	s.latches = kept
	return ev, cleared
}
