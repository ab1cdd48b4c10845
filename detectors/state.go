package detectors

import (
	"time"
)

// State is the health of a series.
type State uint8

// States. The zero value is StateUnknown.
const (
	// StateUnknown: no recent traffic to judge (no call yet, or silence). A new series with
	// calls is judged from its first call (Status.Baseline says on what evidence). Routers treat
	// it as usable unless asked otherwise.
	StateUnknown State = iota
	StateHealthy
	// StateDegraded: a detector fired at the warning level, or a partial outage.
	StateDegraded
	StateDown
	numStates
)

var stateNames = [numStates]string{"unknown", "healthy", "degraded", "down"}

// String returns unknown, healthy, degraded or down.
func (s State) String() string {
	if s < numStates {
		return stateNames[s]
	}
	return "invalid"
}

// States lists every state, for pre-creating label values.
func States() []State { return []State{StateUnknown, StateHealthy, StateDegraded, StateDown} }

// ParseState is the inverse of String.
func ParseState(s string) (State, bool) {
	for i, n := range stateNames {
		if n == s {
			return State(i), true
		}
	}
	return StateUnknown, false
}

// severity orders states by precedence: down > degraded > unknown > healthy.
func (s State) severity() int {
	switch s {
	case StateDown:
		return 3
	case StateDegraded:
		return 2
	case StateUnknown:
		return 1
	}
	return 0
}

// Worse reports whether s takes precedence over t (down > degraded > unknown > healthy).
func (s State) Worse(t State) bool { return s.severity() > t.severity() }

// Detector names which detector produced a piece of evidence.
type Detector string

// Detectors of the bank, and the other reasons a state changes.
const (
	DetectorErrorRate  Detector = "error_rate"      // the error CUSUM tuned for degradation
	DetectorErrorMid   Detector = "error_rate_mid"  // the error CUSUM tuned for a partial outage
	DetectorErrorDown  Detector = "error_rate_down" // the error CUSUM tuned for a hard outage
	DetectorTruncation Detector = "truncation"      // streams cut off or ended abnormally
	DetectorRateLimit  Detector = "rate_limit"      // 429s and throttling
	DetectorTTFT       Detector = "ttft"            // time to first token
	DetectorLatency    Detector = "latency"         // latency per output token of non-streaming calls
	DetectorSilence    Detector = "silence"         // no calls for longer than the traffic explains
	DetectorWarmup     Detector = "warmup"          // calls arrived: the series is judged (first calls, or traffic after unknown)
	DetectorRecovery   Detector = "recovery"        // a latched alarm cleared after its hold-down
	DetectorRollup     Detector = "rollup"          // a provider's state follows its models
	// DetectorWidened ends a local verdict: the failures are no longer one caller's, and the
	// model's own (the provider's) verdict took them over.
	DetectorWidened Detector = "widened"
)

// ClassCount is how many errors of one class a window held.
type ClassCount struct {
	Class ErrorClass
	Count int
}

// Evidence says why a state changed: the detector that decided, the figures it compared and
// the window it looked at.
type Evidence struct {
	Detector Detector
	// Observed is the estimated rate since the change point (errors, truncations, 429s or slow
	// calls per observation), Baseline the design baseline it was tested against, Threshold the
	// CUSUM threshold h in nats.
	Observed  float64
	Baseline  float64
	Threshold float64
	// ChangePoint is the estimated start of the change (the last time the CUSUM was zero);
	// Window is the time from it to the decision.
	ChangePoint time.Time
	Window      time.Duration
	// SampleSize observations since the change point, of which Events were errors (or
	// truncations, 429s, slow calls).
	SampleSize int
	Events     int
	// CallRate is the series' recent call rate, per second.
	CallRate float64
	// Classes are the top error classes since the change point, most frequent first.
	Classes []ClassCount
	// SampleError is one error message seen since the change point.
	SampleError string
	// Callers are the calling services (service.name) of the observations since the change
	// point, most events first, with their observations: whether the failures are everyone's or
	// one caller's. Empty when they all came from one caller.
	Callers []CallerShare
	// Endpoints are the same for the provider endpoint hosts the calls went to; empty when they
	// all went to one host (or no span named it).
	Endpoints []CallerShare
	// ConfinedTo is the caller the events are confined to, when the verdict is local: the
	// alarm's failures are that caller's while the model's other callers stay at their baseline
	// (docs/detection.md, "Whose failures"). Zero when the failures are the provider's.
	ConfinedTo Caller
}

// Transition is a change of a series' state.
type Transition struct {
	Series   SeriesKey
	From, To State
	At       time.Time
	Evidence Evidence
}

// Figures are a series' current traffic and quality figures, over recent minutes.
type Figures struct {
	CallRate       float64 // calls per second
	ErrorRate      float64 // provider errors per call
	TruncationRate float64 // truncated or incomplete calls per call that produced output
	RateLimitRate  float64 // 429s per call
	LatencyP95     time.Duration
	TTFTP95        time.Duration
	Calls          uint64 // calls seen since the series appeared
}

// Where a series' baselines come from (BaselineSource.From).
const (
	// BaselineOwn: the series has its own history (Config.WarmupCalls calls over
	// Config.WarmupAge); its priors weigh no more than a few dozen calls against it.
	BaselineOwn = "own"
	// BaselineProvider: a new series, designed on its provider's learned baselines (the
	// provider series is warm), blended with its own calls as they come.
	BaselineProvider = "provider"
	// BaselineGlobal: a new series whose provider has no history either (a fresh daemon, a new
	// provider, a restart without a snapshot), designed on the global priors of
	// docs/detection.md, blended with its own calls as they come.
	BaselineGlobal = "global"
)

// BaselineSource says how sure a series' answer is: where the baselines its detectors are
// designed on come from, and how much evidence of its own it holds. Every detector judges a
// series from its first call; while From is not BaselineOwn, the design baselines are wider
// (the prior's uncertainty is part of them), so small changes take longer to be told from noise.
type BaselineSource struct {
	// From is BaselineOwn, BaselineProvider or BaselineGlobal.
	From string
	// Calls is the number of calls the series has seen since it appeared (its own evidence).
	Calls uint64
}

// Status is a series' current state, with the evidence of its last transition.
type Status struct {
	Series   SeriesKey
	State    State
	Since    time.Time
	Evidence Evidence
	// Baseline says where the series' baselines come from and how much evidence it holds.
	Baseline BaselineSource
	Figures  Figures
	// Local are a model's local verdicts: for each caller whose failures are its own (its
	// calls fail while the model's other callers stay at their baseline), that caller's state
	// (degraded or down), since when, and the evidence, with Series.Caller set. State above
	// is not changed by them: the model stays usable for everyone else.
	Local []Status
}
