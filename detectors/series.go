package detectors

import (
	"math"
	"time"
)

// member indexes a series' detector bank.
type member int

const (
	mError   member = iota // error rate, tuned for degradation
	mMid                   // error rate, tuned for a partial outage (p1 = 0.5)
	mDown                  // error rate, tuned for a hard outage
	mTrunc                 // truncation
	mRate                  // 429s
	mTTFT                  // time to first token
	mLatency               // latency per output token (non-streaming calls)
	numMembers
)

var memberDetector = [numMembers]Detector{DetectorErrorRate, DetectorErrorMid, DetectorErrorDown, DetectorTruncation, DetectorRateLimit, DetectorTTFT, DetectorLatency}

// Half-lives of the figures and of the latency baselines, and how often members are redesigned.
const (
	figuresHalfLife  = 5 * time.Minute
	callRateHalfLife = time.Hour
	latencyHalfLife  = 7 * 24 * time.Hour
	redesignEvery    = time.Minute
	// coldRedesignEvery is how often a series in cold start follows its provider's baseline and
	// its own call rate (designing on every call took a fifth of the pipeline at 600,000 calls/s).
	coldRedesignEvery = time.Second
	silenceMax        = 24 * time.Hour
	downCountDecay    = time.Hour
)

// figures are decayed counts over the last minutes, for Status.
type figures struct {
	calls      decayed // N: calls seen, K: the calls they stand for (adjusted counts)
	errors     decayed // N: error observations, K: provider errors
	truncation decayed
	rateLimit  decayed
}

// series is the state of one (provider, model), or of a provider (Model ""), which pools the
// calls of all its models.
type series struct {
	key      SeriesKey
	provider *series // the pooled provider series; nil for a provider
	models   []*series
	// unhealthy counts the provider's models that are degraded or down.
	unhealthy int

	state    State
	since    time.Time
	evidence Evidence

	firstSeen, lastCall time.Time
	calls               uint64
	warm                bool
	designedAt          time.Time
	decayedAt           time.Time

	members [numMembers]cusum
	latches []latch

	errBase, truncBase, rateBase rateBaseline
	ttftBase, latBase            sketch
	ttftRecent, latRecent        sketch
	ttftLimit, latLimit          float64 // seconds (per token for latency); 0 until designed

	// agedAt is when the decayed counters were last aged.
	agedAt time.Time

	peak     peakRate
	callRate decayed // N: calls, half-life callRateHalfLife, for silence
	fig      figures

	downCount   int
	downDecayAt time.Time

	// lag holds the series' own error, truncation and 429 counts (the baselines' EWMAs) as they
	// were lagCalls to 2·lagCalls calls ago, rotated every lagCalls calls (lag[1] the newer,
	// lagAt the call count of the last rotation). Until the series is warm its rate baselines
	// are designed on them, so that a fault that starts while it is new is not learned as its
	// baseline before it is detected.
	lag   [2][numRates]decayed
	lagAt uint64

	// seen are the callers seen recently, per dimension; locals the local verdicts.
	seen   [numDims][maxCallers]seenCaller
	locals []localVerdict
}

// observation is what one call tells the detectors, after retries were capped.
type observation struct {
	providerErrors int        // error events counting towards the error rate
	rateLimited    int        // 429 events
	errClass       ErrorClass // the class of the error events
	success        bool       // the call produced output (ok, truncated or incomplete)
	truncated      bool
	ttft           time.Duration // 0 when not measured
	perToken       float64       // seconds per output token of a non-streaming call, 0 when not measured
	duration       time.Duration // of a call that succeeded, for the latency figure
	// Sketch indexes of ttft, duration and perToken, and the hour of week, computed once for the
	// model and the provider series.
	ttftIndex, durationIndex, perTokenIndex int
	week                                    int32
	hour                                    int
	msg                                     string
	// weight is the call's adjusted count (Call.AdjustedCount): for the call rate only.
	weight float64
	// who is the caller, per dimension (Call.ServiceCaller, Call.Endpoint).
	who who
}

// learning reports whether baselines may learn from this series' calls now: only while no alarm
// is latched (docs/detection.md: baselines are learned only while the series has no alarm).
func (s *series) learning() bool { return len(s.latches) == 0 }

// observe feeds one call's observation to the series' bank at time now.
func (s *series) observe(e *Engine, now time.Time, o *observation) {
	cfg := &e.cfg
	if s.calls == 0 {
		s.firstSeen, s.since = now, now
	}
	s.age(&e.decay, now)
	s.calls++
	s.rotateLag()
	s.lastCall = now
	s.see(now, &o.who)
	s.peak.add(now, o.weight)
	s.callRate.bump(false)
	s.fig.calls.N++
	s.fig.calls.K += o.weight
	if s.designedAt.IsZero() || !s.warm && now.Sub(s.designedAt) >= coldRedesignEvery {
		s.maybeWarm(cfg, now)
		s.design(e, now)
	}
	learn := s.learning()
	week, hour := o.week, o.hour

	for i := 0; i < o.providerErrors; i++ {
		s.fig.errors.bump(true)
		if learn {
			s.errBase.add(week, hour, true)
		}
		s.feed(e, now, mError, true, o.errClass, o.msg, &o.who)
		s.feed(e, now, mMid, true, o.errClass, o.msg, &o.who)
		s.feed(e, now, mDown, true, o.errClass, o.msg, &o.who)
	}
	if o.success {
		s.fig.errors.bump(false)
		if learn {
			s.errBase.add(week, hour, false)
		}
		s.feed(e, now, mError, false, ClassNone, "", &o.who)
		s.feed(e, now, mMid, false, ClassNone, "", &o.who)
		s.feed(e, now, mDown, false, ClassNone, "", &o.who)

		s.fig.truncation.bump(o.truncated)
		if learn {
			s.truncBase.add(week, hour, o.truncated)
		}
		s.feed(e, now, mTrunc, o.truncated, ClassNone, o.msg, &o.who)
	}
	for i := 0; i < o.rateLimited; i++ {
		s.fig.rateLimit.bump(true)
		if learn {
			s.rateBase.add(week, hour, true)
		}
		s.feed(e, now, mRate, true, ClassRateLimited, o.msg, &o.who)
	}
	if o.success || o.providerErrors > 0 {
		s.fig.rateLimit.bump(false)
		if learn {
			s.rateBase.add(week, hour, false)
		}
		s.feed(e, now, mRate, false, ClassNone, "", &o.who)
	}
	if o.ttft > 0 {
		s.ttftRecent.addIndex(o.ttftIndex)
		if learn && (s.warm || !s.suspicious(mTTFT)) {
			s.ttftBase.addIndex(o.ttftIndex)
		}
		if s.ttftLimit > 0 {
			s.feed(e, now, mTTFT, o.ttft.Seconds() > s.ttftLimit, ClassNone, "", &o.who)
		}
	}
	if o.duration > 0 {
		s.latRecent.addIndex(o.durationIndex)
	}
	if o.perToken > 0 {
		if learn && (s.warm || !s.suspicious(mLatency)) {
			s.latBase.addIndex(o.perTokenIndex)
		}
		if s.latLimit > 0 {
			s.feed(e, now, mLatency, o.perToken > s.latLimit, ClassNone, "", &o.who)
		}
	}
}

// age decays every counter of the series at once, in whole seconds, at most once a second:
// factors come from the engine's tables, so the per-call path has no Exp2.
func (s *series) age(t *decayTables, now time.Time) {
	if s.agedAt.IsZero() {
		s.agedAt = now
		for _, d := range s.decayers() {
			d.At = now
		}
		return
	}
	secs := int64(now.Sub(s.agedAt) / time.Second)
	if secs < 1 {
		return
	}
	// Advance by whole seconds, keeping the remainder, so that rounding never accumulates.
	at := s.agedAt.Add(time.Duration(secs) * time.Second)
	ff := t.figures.factor(secs)
	fr := t.callRate.factor(secs)
	fb := t.base.factor(secs)
	for _, d := range []*decayed{&s.fig.calls, &s.fig.errors, &s.fig.truncation, &s.fig.rateLimit} {
		d.scale(ff, at)
	}
	s.callRate.scale(fr, at)
	for _, d := range []*decayed{&s.errBase.EWMA, &s.truncBase.EWMA, &s.rateBase.EWMA} {
		d.scale(fb, at)
	}
	s.agedAt = at
}

func (s *series) decayers() []*decayed {
	return []*decayed{&s.fig.calls, &s.fig.errors, &s.fig.truncation, &s.fig.rateLimit, &s.callRate,
		&s.errBase.EWMA, &s.truncBase.EWMA, &s.rateBase.EWMA}
}

// feed gives one observation to a member and to the latches of that member.
func (s *series) feed(e *Engine, now time.Time, m member, event bool, class ErrorClass, msg string, w *who) {
	for i := range s.latches {
		if l := &s.latches[i]; l.member == m {
			s.observeVerdict(e, now, l, event, class, msg, w)
			if l.verdict != verdictLocal || l.own(w) {
				s.recoveryStep(&e.cfg, now, l, event)
			}
		}
	}
	c := &s.members[m]
	if c.observe(now, event, class, msg, w) {
		s.alarm(e, now, m)
	}
}

// silenceTimeout is τ = max(κ·ln(λ̂·T_FA)/λ̂, SilenceMin), capped at a day.
func (s *series) silenceTimeout(cfg *Config) time.Duration {
	lambda := s.rateAt(s.lastCall)
	if lambda <= 0 {
		return silenceMax
	}
	x := lambda * cfg.FalseAlarmInterval.Seconds()
	if x <= math.E {
		return silenceMax
	}
	tau := time.Duration(cfg.SilenceKappa * math.Log(x) / lambda * float64(time.Second))
	return min(max(tau, cfg.SilenceMin), silenceMax)
}

// rate is the series' recent call rate (per second), an EWMA with a one-hour half-life,
// corrected for a series younger than a few half-lives: its decayed count started from zero,
// and would read a steady 30 calls/s as 0.2/s thirty seconds after the first call.
func (s *series) rate(now time.Time) float64 {
	r := s.rateAt(now)
	if age := now.Sub(s.firstSeen); s.calls > 0 && age > 0 && age < 8*callRateHalfLife {
		r /= -math.Expm1(-math.Ln2 * age.Seconds() / callRateHalfLife.Seconds())
	}
	return r
}

func (s *series) rateAt(now time.Time) float64 {
	d := s.callRate
	d.decay(now, callRateHalfLife)
	// A decayed count with half-life T estimates rate × T/ln 2.
	return d.N * math.Ln2 / callRateHalfLife.Seconds()
}

// maybeWarm ends the prior phase once the series has enough calls and history of its own: from
// then on its baselines are its own (Status.Baseline.From is BaselineOwn), its hard-outage member
// is designed on the upper credible bound like the others, and it is redesigned every minute
// instead of every second.
func (s *series) maybeWarm(cfg *Config, now time.Time) {
	if !s.warm && s.calls >= uint64(cfg.WarmupCalls) && now.Sub(s.firstSeen) >= cfg.WarmupAge &&
		!s.suspicious(mError, mMid, mTrunc, mRate, mTTFT, mLatency) {
		s.warm = true
		s.designedAt = time.Time{}
	}
}

// maintain runs the time-driven upkeep of a tick: redesign, decay of sketches, decay of the
// down count.
func (s *series) maintain(e *Engine, now time.Time) {
	cfg := &e.cfg
	s.maybeWarm(cfg, now)
	if now.Sub(s.designedAt) >= redesignEvery {
		s.design(e, now)
	}
	if s.decayedAt.IsZero() {
		s.decayedAt = now
	}
	if dt := now.Sub(s.decayedAt); dt >= 10*time.Second {
		s.ttftRecent.scale(float32(math.Exp2(-dt.Seconds() / figuresHalfLife.Seconds())))
		s.latRecent.scale(float32(math.Exp2(-dt.Seconds() / figuresHalfLife.Seconds())))
		f := float32(math.Exp2(-dt.Seconds() / latencyHalfLife.Seconds()))
		s.ttftBase.scale(f)
		s.latBase.scale(f)
		s.decayedAt = now
	}
	if s.downCount > 0 && s.state == StateHealthy && now.Sub(s.downDecayAt) >= downCountDecay {
		s.downCount--
		s.downDecayAt = now
	}
}

// evaluate computes the series' own state (for a provider, from its pooled bank only) and the
// evidence of a change.
func (s *series) evaluate(cfg *Config, now time.Time) (State, Evidence) {
	s.expireVerdicts(now)
	recovered, cleared := s.clearLatches(cfg, now)
	quiet := now.Sub(s.lastCall)
	silent := s.calls > 0 && quiet > cfg.SilenceMin && quiet > s.silenceTimeout(cfg)
	if silent && len(s.latches) > 0 {
		// A degraded or down series whose traffic stopped (the router drained it) becomes
		// unknown only after its hold-down and a silence: never healthy without evidence.
		held := false
		for _, l := range s.latches {
			if now.Before(l.holdUntil) {
				held = true
			}
		}
		if !held {
			s.latches = s.latches[:0]
		}
	}
	state, ev := StateHealthy, Evidence{}
	for _, l := range s.latches {
		if l.verdict != verdictProvider {
			continue // a local verdict is its caller's (settleLocal); a pending one is not told yet
		}
		if l.level.Worse(state) || (l.level == state && state != StateHealthy && ev.Detector == "") {
			state, ev = l.level, l.evidence
		}
	}
	if state != StateHealthy {
		if cleared && s.state.Worse(state) {
			return state, recovered // stepped down: say which alarm cleared
		}
		return state, ev
	}
	switch {
	case s.calls == 0:
		return StateUnknown, Evidence{Detector: DetectorWarmup, CallRate: s.rate(now)}
	case silent:
		return StateUnknown, Evidence{Detector: DetectorSilence, Window: now.Sub(s.lastCall), CallRate: s.rateAt(s.lastCall)}
	case cleared:
		return StateHealthy, recovered
	case s.state == StateUnknown:
		return StateHealthy, Evidence{Detector: DetectorWarmup, SampleSize: int(s.calls), CallRate: s.rate(now)}
	}
	return StateHealthy, s.evidence
}

// status describes the series for Status.
func (s *series) status(now time.Time) Status {
	f := s.fig
	f.calls.decay(now, figuresHalfLife)
	f.errors.decay(now, figuresHalfLife)
	f.truncation.decay(now, figuresHalfLife)
	f.rateLimit.decay(now, figuresHalfLife)
	ratio := func(d decayed) float64 {
		if d.N < 1e-9 {
			return 0
		}
		return d.K / d.N
	}
	return Status{
		Series:   s.key,
		State:    s.state,
		Since:    s.since,
		Evidence: s.evidence,
		Baseline: s.baselineSource(),
		Local:    s.localStatuses(),
		Figures: Figures{
			CallRate:       f.calls.K * math.Ln2 / figuresHalfLife.Seconds(),
			ErrorRate:      ratio(f.errors),
			TruncationRate: ratio(f.truncation),
			RateLimitRate:  ratio(f.rateLimit),
			LatencyP95:     s.latRecent.quantile(0.95),
			TTFTP95:        s.ttftRecent.quantile(0.95),
			Calls:          s.calls,
		},
	}
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
