package detectors

import (
	"slices"
	"strings"
	"time"
)

// retryMemory bounds the logical requests whose errors are counted, and how long they are kept.
const (
	retryMemory    = 1 << 17
	retryRetention = 10 * time.Minute
)

// Engine decides, from calls, the health state of every (provider, model) series and of every
// provider. It is deterministic: the same calls and ticks at the same times give the same
// transitions. It is not safe for concurrent use; it does no I/O and reads no clock: every
// method takes the time. It tracks at most Config.Limits series (Refused, Folded), and saves
// and restores its state with Snapshot and Restore.
type Engine struct {
	cfg       Config
	series    map[SeriesKey]*series
	ordered   []*series // every series, sorted by key, for deterministic ticks
	providers map[string]*series

	// th caches calibrations and decay holds the factor tables of series.age. Both belong to
	// this engine alone: engines in one process share no mutable state.
	th    thresholds
	decay decayTables

	retries     map[uint64]uint8
	retryOrder  []retryEntry
	retryCursor int

	// refused and folded count the calls beyond cfg.Limits (Refused, Folded).
	refused, folded uint64
}

type retryEntry struct {
	id uint64
	at time.Time
}

// NewEngine validates cfg and returns an engine with no series.
func NewEngine(cfg Config) (*Engine, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Engine{
		cfg:       cfg,
		th:        thresholds{exact: true},
		series:    make(map[SeriesKey]*series),
		providers: make(map[string]*series),
		decay:     newDecayTables(cfg.BaselineHalfLife),
		retries:   make(map[uint64]uint8),
	}, nil
}

// Config returns the engine's configuration.
func (e *Engine) Config() Config { return e.cfg }

func (e *Engine) insert(s *series) {
	i, _ := slices.BinarySearchFunc(e.ordered, s.key, func(a *series, k SeriesKey) int { return compareKeys(a.key, k) })
	e.ordered = slices.Insert(e.ordered, i, s)
}

func compareKeys(a, b SeriesKey) int {
	if c := strings.Compare(a.Provider, b.Provider); c != 0 {
		return c
	}
	return strings.Compare(a.Model, b.Model)
}

// Observe takes one call seen at time now and appends the transitions it causes to out.
func (e *Engine) Observe(now time.Time, c *Call, out []Transition) []Transition {
	model := c.Model
	if model == "" {
		model = UnknownModel
	}
	if model == UnknownModel && c.Source == SourceAttempt {
		// HTTP attempts whose LLM span never came (in time) tell about the provider, not about a
		// model: they feed the provider's pooled bank only. As a series of its own, "unknown"
		// would collect the first failed attempt of every retried request whose LLM span came
		// after the wait, and look like a model that always fails.
		p := e.admitProvider(c.Provider)
		if p == nil {
			e.refused++
			return out
		}
		o := e.observation(now, c)
		p.observe(e, now, &o)
		return e.settleProvider(now, p, out)
	}
	s := e.lookup(SeriesKey{Provider: c.Provider, Model: model})
	if s == nil {
		e.refused++ // a provider beyond Limits.MaxProviders
		return out
	}
	o := e.observation(now, c)
	s.observe(e, now, &o)
	s.provider.observe(e, now, &o)
	// A call cannot change a quiet series' state unless it raised an alarm, which adds a latch
	// and so makes it not quiet: skip evaluating quiet series on the per-call path.
	if !s.quiet() {
		out = e.settle(now, s, out)
	}
	if p := s.provider; p.unhealthy != 0 || !p.quiet() {
		out = e.settleProvider(now, p, out)
	}
	return out
}

// observation turns a call into detector inputs: its failed attempts and final outcome, with the
// errors of one logical request capped at MaxRetryErrors.
func (e *Engine) observation(now time.Time, c *Call) observation {
	o := observation{msg: c.ErrorMessage, weight: c.AdjustedCount(), who: who{c.ServiceCaller(), c.Endpoint}}
	o.week, o.hour = weekHour(now)
	events, class := c.FailedAttempts, c.AttemptClass
	if c.Outcome == OutcomeError {
		events, class = max(events, 1), c.ErrorClass
	} else {
		o.success = true
		o.truncated = c.Outcome == OutcomeTruncated || c.Outcome == OutcomeIncomplete
	}
	o.errClass = class
	switch {
	case class == ClassRateLimited:
		o.rateLimited = events
	case class.ProviderFault():
		o.providerErrors = events
	}
	if n := o.rateLimited + o.providerErrors; n > 0 {
		allowed := e.retryBudget(now, c.RequestID, n)
		if o.providerErrors > allowed {
			o.providerErrors = allowed
		}
		o.rateLimited = min(o.rateLimited, allowed-o.providerErrors)
	}
	if c.Outcome != OutcomeError {
		if c.Streaming && c.TTFT > 0 {
			o.ttft = c.TTFT
			o.ttftIndex = sketchIndex(c.TTFT.Seconds())
		}
		if c.Outcome == OutcomeOK && c.Duration > 0 {
			o.duration = c.Duration
			o.durationIndex = sketchIndex(c.Duration.Seconds())
			if !c.Streaming && c.OutputTokens > 0 {
				o.perToken = c.Duration.Seconds() / float64(c.OutputTokens)
				o.perTokenIndex = sketchIndex(o.perToken)
			}
		}
	}
	return o
}

// retryBudget returns how many of n errors the logical request id may still contribute.
func (e *Engine) retryBudget(now time.Time, id uint64, n int) int {
	limit := e.cfg.MaxRetryErrors
	if id == 0 {
		return min(n, limit)
	}
	used, seen := e.retries[id]
	allowed := min(n, max(limit-int(used), 0))
	if !seen {
		if len(e.retryOrder) < retryMemory {
			e.retryOrder = append(e.retryOrder, retryEntry{id, now})
		} else {
			old := e.retryOrder[e.retryCursor]
			delete(e.retries, old.id)
			e.retryOrder[e.retryCursor] = retryEntry{id, now}
			e.retryCursor = (e.retryCursor + 1) % retryMemory
		}
	}
	e.retries[id] = uint8(min(int(used)+allowed, 255))
	return allowed
}

// expireRetries forgets logical requests older than retryRetention.
func (e *Engine) expireRetries(now time.Time) {
	n := len(e.retryOrder)
	for n > 0 {
		i := e.retryCursor % n
		if now.Sub(e.retryOrder[i].at) < retryRetention {
			return
		}
		delete(e.retries, e.retryOrder[i].id)
		e.retryOrder = slices.Delete(e.retryOrder, i, i+1)
		n--
		if n > 0 {
			e.retryCursor %= n
		} else {
			e.retryCursor = 0
		}
	}
}

// settle evaluates a model series and records a transition of its state.
func (e *Engine) settle(now time.Time, s *series, out []Transition) []Transition {
	st, ev := s.evaluate(&e.cfg, now)
	out = s.transition(now, st, ev, out)
	return s.settleLocal(now, out)
}

func (s *series) transition(now time.Time, st State, ev Evidence, out []Transition) []Transition {
	if st == s.state {
		if st == StateDown || st == StateDegraded {
			s.evidence = ev // fresher figures for the same state (an escalation, a re-alarm)
		}
		return out
	}
	out = append(out, Transition{Series: s.key, From: s.state, To: st, At: now, Evidence: ev})
	if p := s.provider; p != nil {
		p.unhealthy += unhealthy(st) - unhealthy(s.state)
	}
	s.state, s.since, s.evidence = st, now, ev
	return out
}

// settleProvider evaluates a provider: the worse of its pooled bank's state and the roll-up of
// its models (down when the traffic-weighted majority of its models is down, degraded when any
// model is degraded or down).
func (e *Engine) settleProvider(now time.Time, p *series, out []Transition) []Transition {
	st, ev := p.evaluate(&e.cfg, now)
	var worst *series
	for _, m := range p.models {
		if p.unhealthy == 0 {
			break
		}
		if (m.state == StateDown || m.state == StateDegraded) && (worst == nil || m.state.Worse(worst.state)) {
			worst = m
		}
	}
	roll := StateHealthy
	if worst != nil {
		roll = StateDegraded
		if worst.state == StateDown {
			// Weigh the models by traffic only when one is down: rates cost an Exp2 each.
			var total, down float64
			for _, m := range p.models {
				w := m.rate(now)
				total += w
				if m.state == StateDown {
					down += w
				}
			}
			if total > 0 && down > total/2 {
				roll = StateDown
			}
		}
	}
	if roll.Worse(st) {
		st, ev = roll, worst.evidence
		ev.Detector = DetectorRollup
	}
	out = p.transition(now, st, ev, out)
	return p.settleLocal(now, out)
}

// Tick advances time to now without a call: silences, hold-downs, warm-ups and redesigns take
// effect. Call it about every second. It appends the transitions to out.
func (e *Engine) Tick(now time.Time, out []Transition) []Transition {
	e.expireRetries(now)
	for _, s := range e.ordered {
		s.maintain(e, now)
		if s.provider != nil {
			out = e.settle(now, s, out)
		}
	}
	for _, s := range e.ordered {
		if s.provider == nil {
			out = e.settleProvider(now, s, out)
		}
	}
	return out
}

// Status appends the current status of every series, models and providers, sorted by key, to
// out.
func (e *Engine) Status(now time.Time, out []Status) []Status {
	for _, s := range e.ordered {
		out = append(out, s.status(now))
	}
	return out
}

// quiet reports a healthy series with no alarm.
func (s *series) quiet() bool {
	return s.state == StateHealthy && len(s.latches) == 0
}

func unhealthy(s State) int {
	if s == StateDown || s == StateDegraded {
		return 1
	}
	return 0
}
