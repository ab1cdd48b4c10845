package detectors

import (
	"math"
	"time"
)

// Whose failures (issue 18, docs/detection.md "Whose failures"): an alarm is the provider's
// verdict unless its failures are confined to one caller, a calling service or an endpoint
// host, while the model's other callers stay at their baseline. Then the verdict is local: the
// model's own state is unchanged (it stays usable for everyone else) and the caller gets a
// state of its own (Status.Local, transitions keyed with the caller).
//
// The verdict is taken at the alarm, from the callers' counts since the change point, and while
// it cannot be told yet (the other callers made too few calls to be sure they do not fail as
// well) it is pending for at most Config.ConfineWait: the alarm holds learning but changes no
// state. A local verdict becomes the provider's at once when the other callers fail too: a
// second CUSUM, designed as the alarm's member, runs on the other callers' calls alone, so
// that the chance of widening a local verdict by error is the member's false-alarm rate.

// verdict is whose failures a latched alarm is.
type verdict uint8

const (
	verdictProvider verdict = iota // the model's (everyone's); the zero value, as restored old latches are
	verdictLocal                   // one caller's: latch.caller
	verdictPending                 // not told yet
)

// dims are the caller dimensions, in the order a local verdict prefers them.
const (
	dimService = iota
	dimEndpoint
	numDims
)

var dimKind = [numDims]CallerKind{CallerService, CallerEndpoint}

// Rule constants. confineAlpha is how unlikely the other callers' counts must be under the
// failing caller's rate for them to count as not failing like it; elevatedAlpha how unlikely
// under their baseline for them to count as failing too at the alarm, and rejudgeAlpha the
// same for a pending verdict, judged again on every call (many looks: a stricter level, or
// one service's two baseline errors in a row would fail a healthy provider over); recentCallers is how long a caller
// seen on a series counts as one of its callers, to compare with even when it made no call
// since the change point.
const (
	confineAlpha  = 0.01
	elevatedAlpha = 1e-3
	rejudgeAlpha  = 1e-4
	recentCallers = time.Minute
)

// who names the caller of one observation in each dimension ("" when unknown: not counted).
type who [numDims]string

// seenCaller is one caller a series saw recently, in one dimension.
type seenCaller struct {
	name string
	at   time.Time
}

// seen records the callers of an observation, keeping the maxCallers most recent per dimension.
func (s *series) see(now time.Time, w *who) {
	for d, name := range w {
		if name == "" {
			continue
		}
		slots := &s.seen[d]
		oldest := 0
		for i := range slots {
			if slots[i].name == name {
				oldest = -1
				slots[i].at = now
				break
			}
			if slots[i].at.Before(slots[oldest].at) {
				oldest = i
			}
		}
		if oldest >= 0 {
			slots[oldest] = seenCaller{name: name, at: now}
		}
	}
}

// othersSeen reports whether the series saw, in dimension d, a caller other than name recently.
func (s *series) othersSeen(now time.Time, d int, name string) bool {
	for _, c := range s.seen[d] {
		if c.name != "" && c.name != name && now.Sub(c.at) <= recentCallers {
			return true
		}
	}
	return false
}

// dimVerdict is what one dimension's counts tell.
type dimVerdict uint8

const (
	dimAlone    dimVerdict = iota // one caller, no other to compare with
	dimEveryone                   // the other callers fail beyond their baseline too
	dimLocal                      // one caller's: the others, with enough calls, do not fail like it
	dimUndecided
)

// judgeDim reads one dimension's counts since the change point. p0 is the member's baseline.
func judgeDim(cc *callerCounts, p0 float64, atAlarm bool, othersRecent func(name string) bool) (dimVerdict, string) {
	if cc.used == 0 {
		return dimAlone, ""
	}
	top := 0
	for i := 1; i < int(cc.used); i++ {
		if c, t := cc.c[i], cc.c[top]; c.k > t.k || (c.k == t.k && c.n > t.n) {
			top = i
		}
	}
	name := cc.c[top].name
	if name == OtherCaller {
		return dimEveryone, "" // the failing callers are beyond the ones counted by name
	}
	n, k := 0, 0
	for i, c := range cc.c[:cc.used] {
		if i != top {
			n, k = n+int(c.n), k+int(c.k)
		}
	}
	if top != 0 && k > 0 {
		// The excursion started on an event of the caller in the first slot: that event was
		// selected by the change point (an excursion starts on one), it is no evidence that the
		// others fail. Without this, another caller's baseline error opening the excursion
		// made a one-caller fault look like everyone's.
		k--
	}
	if n == 0 {
		if othersRecent(name) {
			return dimUndecided, name
		}
		return dimAlone, name
	}
	if q := wilsonLower(int(cc.c[top].n), int(cc.c[top].k)); q > 2*p0 && binomialCDF(k, n, q) <= confineAlpha {
		// The others do not fail like it. Whether they fail beyond their baseline as well is
		// for the local verdict's CUSUM on them to tell (widening): a one-shot test here is
		// biased, since the alarm comes when the events cluster, the others' among them.
		return dimLocal, name
	}
	elevated := rejudgeAlpha
	if atAlarm {
		elevated = elevatedAlpha
	}
	if k > 0 && 1-binomialCDF(k-1, n, p0) <= elevated {
		return dimEveryone, "" // the others fail well beyond their baseline, like it
	}
	if mean := float64(n) * p0; atAlarm && float64(k) > mean+2*math.Sqrt(mean*(1-p0))+1 {
		// At the alarm, once: the others are above their binomial bound and not clearly unlike
		// it. Not on a pending verdict's many looks, where it would come by chance.
		return dimEveryone, ""
	}
	return dimUndecided, name
}

// judge takes the verdict of a latched alarm from its callers' counts: local when a dimension
// confines the failures to one caller (services before endpoints), pending while one cannot
// tell yet, else the provider's.
func (s *series) judge(cfg *Config, now time.Time, counts *[numDims]callerCounts, p0 float64, atAlarm bool) (verdict, Caller) {
	if cfg.ConfineWait <= 0 {
		return verdictProvider, Caller{}
	}
	if c, ok := s.joins(counts); ok {
		return verdictLocal, c
	}
	pending := false
	for d := range numDims {
		v, name := judgeDim(&counts[d], p0, atAlarm, func(name string) bool { return s.othersSeen(now, d, name) })
		switch v {
		case dimLocal:
			return verdictLocal, Caller{Kind: dimKind[d], Name: name}
		case dimUndecided:
			pending = true
		}
	}
	if pending {
		return verdictPending, Caller{}
	}
	return verdictProvider, Caller{}
}

// joins reports the local verdict an alarm joins: when the series holds one for caller c, c
// has the most events of the alarm, and no other caller (named) has more than one. Whether the
// others fail too is then the local latch's CUSUM on the other callers to tell (widening), not
// a test on one more short excursion: a one-caller fault re-alarms the members for as long as
// it lasts, and the others' baseline errors, one here and one there, caught in a few of those
// bursts must not fail the model over. A second caller failing again and again is no baseline
// error: that alarm is judged afresh.
func (s *series) joins(counts *[numDims]callerCounts) (Caller, bool) {
	for _, l := range s.latches {
		if l.verdict != verdictLocal {
			continue
		}
		cc := &counts[l.dim]
		top := -1
		for i, c := range cc.c[:cc.used] {
			if top < 0 || c.k > cc.c[top].k || (c.k == cc.c[top].k && c.n > cc.c[top].n) {
				top = i
			}
		}
		if top < 0 || cc.c[top].k == 0 || cc.c[top].name != l.caller.Name {
			continue
		}
		repeated := false
		for i, c := range cc.c[:cc.used] {
			repeated = repeated || (i != top && c.name != OtherCaller && c.k > 1)
		}
		if !repeated {
			return l.caller, true
		}
	}
	return Caller{}, false
}

// decide sets a latch's verdict. A local latch starts a CUSUM on the other callers' calls,
// designed as the alarm's member.
func (l *latch) decide(v verdict, c Caller, m *cusum) {
	l.verdict, l.caller = v, c
	if v != verdictLocal {
		return
	}
	l.dim = dimService
	if c.Kind == CallerEndpoint {
		l.dim = dimEndpoint
	}
	l.rest = cusum{target: m.target}
	l.rest.setParams(m.p0, m.p1, m.h)
	l.evidence.ConfinedTo = c
	// The local verdict's figures are its caller's own: "batch-jobs: 7 of 7", not the mix.
	if n, k := l.ownCounts(); n > 0 {
		l.evidence.Observed, l.evidence.SampleSize, l.evidence.Events = float64(k)/float64(n), n, k
	}
}

// own reports whether an observation is the local latch's caller's.
func (l *latch) own(w *who) bool { return w[l.dim] == l.caller.Name }

// ownCounts are the observations and events since the change point a latch's level is judged
// on: its caller's for a local latch, everyone's otherwise.
func (l *latch) ownCounts() (n, k int) {
	if l.verdict == verdictLocal {
		cc := &l.counts[l.dim]
		for _, c := range cc.c[:cc.used] {
			if c.name == l.caller.Name {
				return int(c.n), int(c.k)
			}
		}
	}
	return int(l.n), int(l.k)
}

// observeVerdict follows a latch's verdict with one more observation of its member: a pending
// latch is judged again (and is the provider's once Config.ConfineWait has passed), and a
// local one is widened to the provider's when the other callers' CUSUM alarms.
func (s *series) observeVerdict(e *Engine, now time.Time, l *latch, event bool, class ErrorClass, msg string, w *who) {
	for d := range numDims {
		if w[d] != "" {
			l.counts[d].add(w[d], event)
		}
	}
	switch l.verdict {
	case verdictPending:
		v, c := s.judge(&e.cfg, now, &l.counts, s.members[l.member].p0, false)
		if v == verdictPending && !now.Before(l.pendingUntil) {
			v = verdictProvider
		}
		l.decide(v, c, &s.members[l.member])
	case verdictLocal:
		if l.own(w) {
			return
		}
		if !l.rest.observe(now, event, class, msg, w) {
			return
		}
		// The other callers fail too: the provider's verdict, on their evidence.
		ev := l.rest.evidence(memberDetector[l.member], now)
		ev.CallRate = s.rate(now)
		l.widenedFrom, l.verdict, l.caller = l.caller, verdictProvider, Caller{}
		l.evidence = ev
		l.level = StateDegraded
		if l.member == mDown || ((l.member == mError || l.member == mMid || l.member == mTrunc) && s.downByEstimate(&e.cfg, int(l.rest.n), int(l.rest.k))) {
			s.enterDown(&e.cfg, now, l)
		}
		l.holdUntil = maxTime(l.holdUntil, now.Add(s.hold(&e.cfg, l.level)))
		l.r = 0
	}
}

// expireVerdicts makes the pending latches whose wait is over the provider's (on a tick: no
// call may come to judge them again).
func (s *series) expireVerdicts(now time.Time) {
	for i := range s.latches {
		if l := &s.latches[i]; l.verdict == verdictPending && !now.Before(l.pendingUntil) {
			l.verdict = verdictProvider
		}
	}
}

// localVerdict is a caller's state on a series while local latches hold it.
type localVerdict struct {
	caller   Caller
	state    State
	since    time.Time
	evidence Evidence
}

// settleLocal records the transitions of the series' local verdicts: a caller's state is the
// worst of its local latches; it ends (healthy) when none is left, widened when one of them
// became the provider's.
func (s *series) settleLocal(now time.Time, out []Transition) []Transition {
	if len(s.locals) == 0 && !s.anyLocal() {
		return out
	}
	var cur [numMembers]localVerdict
	n := 0
	for _, l := range s.latches {
		if l.verdict != verdictLocal {
			continue
		}
		i := 0
		for i < n && cur[i].caller != l.caller {
			i++
		}
		if i == n {
			n++
			cur[i] = localVerdict{caller: l.caller, state: l.level, evidence: l.evidence}
		} else if l.level.Worse(cur[i].state) {
			cur[i].state, cur[i].evidence = l.level, l.evidence
		}
	}
	kept := s.locals[:0]
	for _, lv := range s.locals {
		i := 0
		for i < n && cur[i].caller != lv.caller {
			i++
		}
		key := SeriesKey{Provider: s.key.Provider, Model: s.key.Model, Caller: lv.caller}
		if i == n {
			ev := lv.evidence
			ev.Detector, ev.Window = DetectorRecovery, now.Sub(ev.ChangePoint)
			if s.widened(lv.caller) {
				ev.Detector = DetectorWidened
			}
			out = append(out, Transition{Series: key, From: lv.state, To: StateHealthy, At: now, Evidence: ev})
			continue
		}
		if cur[i].state != lv.state {
			out = append(out, Transition{Series: key, From: lv.state, To: cur[i].state, At: now, Evidence: cur[i].evidence})
			lv.state, lv.since = cur[i].state, now
		}
		lv.evidence = cur[i].evidence
		kept = append(kept, lv)
		cur[i].caller = Caller{} // settled
	}
	for _, c := range cur[:n] {
		if c.caller.IsZero() {
			continue
		}
		key := SeriesKey{Provider: s.key.Provider, Model: s.key.Model, Caller: c.caller}
		out = append(out, Transition{Series: key, From: StateHealthy, To: c.state, At: now, Evidence: c.evidence})
		c.since = now
		kept = append(kept, c)
	}
	s.locals = kept
	return out
}

func (s *series) anyLocal() bool {
	for _, l := range s.latches {
		if l.verdict == verdictLocal {
			return true
		}
	}
	return false
}

// widened reports whether a latch local to c became the provider's.
func (s *series) widened(c Caller) bool {
	for _, l := range s.latches {
		if l.widenedFrom == c {
			return true
		}
	}
	return false
}

// localStatuses describes the series' local verdicts for Status.
func (s *series) localStatuses() []Status {
	if len(s.locals) == 0 {
		return nil
	}
	out := make([]Status, 0, len(s.locals))
	for _, lv := range s.locals {
		out = append(out, Status{
			Series: SeriesKey{Provider: s.key.Provider, Model: s.key.Model, Caller: lv.caller},
			State:  lv.state, Since: lv.since, Evidence: lv.evidence,
		})
	}
	return out
}

// wilsonLower is the Wilson 80% lower confidence bound of k/n (0 when n is 0).
func wilsonLower(n, k int) float64 {
	if n == 0 {
		return 0
	}
	const z = 0.8416 // one-sided 80%
	p := float64(k) / float64(n)
	nf := float64(n)
	return (p + z*z/(2*nf) - z*math.Sqrt(p*(1-p)/nf+z*z/(4*nf*nf))) / (1 + z*z/nf)
}

// binomialCDF is P(X ≤ k) for X ~ Binomial(n, q), summed in log space.
func binomialCDF(k, n int, q float64) float64 {
	if k < 0 {
		return 0
	}
	if q <= 0 {
		return 1
	}
	if q >= 1 {
		if k >= n {
			return 1
		}
		return 0
	}
	lq, lp := math.Log(q), math.Log1p(-q)
	lgN, _ := math.Lgamma(float64(n + 1))
	sum := 0.0
	for i := 0; i <= k && i <= n; i++ {
		a, _ := math.Lgamma(float64(i + 1))
		b, _ := math.Lgamma(float64(n - i + 1))
		sum += math.Exp(lgN - a - b + float64(i)*lq + float64(n-i)*lp)
	}
	return min(sum, 1)
}
