package scenario

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/outagewatch/outagewatch/detectors"
)

// Origin is the default time origin of every stream: Monday 2026-06-01 00:00 UTC, so that
// hour-of-week buckets start at a week boundary.
var Origin = time.Date(2026, time.June, 1, 0, 0, 0, 0, time.UTC)

// Defaults for the identity and shape of the generated calls.
const (
	DefaultProvider = "anthropic"
	DefaultModel    = "claude-sonnet-4-5"
	DefaultService  = "bench"
	// DefaultLatency is the median Duration of a successful non-streaming call, and the median
	// generation time (after the first token) of a stream.
	DefaultLatency = 2 * time.Second
	// DefaultTTFT is the median time to first token of a stream.
	DefaultTTFT = 400 * time.Millisecond
	// DefaultSigma is the σ of the lognormal latencies (σ=0.5); docs/detection.md (Inputs) says
	// how the latency detectors test them.
	DefaultSigma = 0.5
	// DefaultOutputTokens is the OutputTokens of a successful call.
	DefaultOutputTokens = 200
)

// Step is a probability that changes once: Before the change time, After it until the recovery
// time, and Before again from then on.
type Step struct {
	Before, After float64
}

// Flat returns a Step that does not change.
func Flat(p float64) Step { return Step{Before: p, After: p} }

func (s Step) at(changed bool) float64 {
	if changed {
		return s.After
	}
	return s.Before
}

// Spec describes one stream. Optional features are off at their zero value; durations are
// offsets from Start.
type Spec struct {
	// Seed selects the random sequence; the same Spec always yields the same calls.
	Seed uint64
	// Start is the time origin; zero means Origin.
	Start time.Time
	// Rate is λ, the Poisson arrival rate in calls per second while traffic is on.
	Rate float64
	// Change is when every Step and slowdown factor takes its After value.
	Change time.Duration
	// Recover, when greater than Change, is when everything returns to its Before value.
	Recover time.Duration
	// End, when positive, is when traffic stops for good (silence): Next returns false for
	// every call that would arrive at or after it.
	End time.Duration
	// FlapPeriod, when positive, makes traffic alternate after Change: off for FlapPeriod, on
	// for FlapPeriod, and so on. Before Change traffic is steady.
	FlapPeriod time.Duration

	// Errors is the probability that a call fails with ErrorClass (overloaded, 529, by default).
	Errors Step
	// ErrorClass is the class of those failures; ClassNone means ClassOverloaded. The HTTP
	// status follows from it (529, 429, 500, 504, or 0 for network errors).
	ErrorClass detectors.ErrorClass
	// RateLimited is the probability that a call is throttled (rate_limited, 429), drawn
	// after Errors: a call is an error with probability Errors, else a 429 with probability
	// RateLimited, else it succeeds.
	RateLimited Step
	// Streaming makes every call a stream with a TTFT.
	Streaming bool
	// Truncated is the probability that a successful stream is cut off: OutcomeTruncated, no
	// finish reason. It needs Streaming.
	Truncated Step

	// Latency is the median Duration of a successful non-streaming call, or the median
	// generation time of a stream after its first token; zero means DefaultLatency.
	// LatencyFactor multiplies it after Change (zero means 1).
	Latency       time.Duration
	LatencyFactor float64
	// TTFT is the median time to first token of a stream; zero means DefaultTTFT. TTFTFactor
	// multiplies it after Change (zero means 1).
	TTFT       time.Duration
	TTFTFactor float64
	// Sigma is the σ of every lognormal latency; zero means DefaultSigma.
	Sigma float64
	// OutputTokens of a successful call; zero means DefaultOutputTokens. A truncated stream
	// has half, a failed call none.
	OutputTokens int64

	// RetryEvery, when positive, turns about one logical request in RetryEvery into a retry
	// storm: a request that failed all RetryAttempts attempts (Attempts = FailedAttempts =
	// RetryAttempts), as one client's SDK retries into an overloaded provider. The gaps
	// between storms are uniform in [RetryEvery/2, 3·RetryEvery/2] requests, so storms never
	// pile up by chance. It must be 0 or at least 2.
	RetryEvery int
	// RetryAttempts is the number of failed attempts of a storm request; zero means 3.
	RetryAttempts int

	// Provider, Model and Service name the series; empty means the defaults above.
	Provider, Model, Service string
}

// Validate reports the first field that cannot be generated.
func (s Spec) Validate() error {
	var errs []error
	if !(s.Rate > 0) || math.IsInf(s.Rate, 0) {
		errs = append(errs, fmt.Errorf("rate: must be positive and finite, got %v", s.Rate))
	}
	for _, p := range []struct {
		name string
		s    Step
	}{{"errors", s.Errors}, {"rate limited", s.RateLimited}, {"truncated", s.Truncated}} {
		if !probability(p.s.Before) || !probability(p.s.After) {
			errs = append(errs, fmt.Errorf("%s: probabilities must be in [0, 1], got %v", p.name, p.s))
		}
	}
	if !s.Streaming && (s.Truncated.Before > 0 || s.Truncated.After > 0) {
		errs = append(errs, errors.New("truncated: needs streaming"))
	}
	if s.Change < 0 || s.Recover < 0 || s.End < 0 || s.FlapPeriod < 0 || s.Latency < 0 || s.TTFT < 0 {
		errs = append(errs, errors.New("durations must not be negative"))
	}
	if s.LatencyFactor < 0 || s.TTFTFactor < 0 || s.Sigma < 0 || s.OutputTokens < 0 {
		errs = append(errs, errors.New("factors, sigma and output tokens must not be negative"))
	}
	if s.RetryEvery == 1 || s.RetryEvery < 0 || s.RetryAttempts < 0 {
		errs = append(errs, fmt.Errorf("retry every: must be 0 or at least 2, got %d", s.RetryEvery))
	}
	return errors.Join(errs...)
}

func probability(p float64) bool { return p >= 0 && p <= 1 }

// StepOutage is i.i.d. traffic at rate calls/s whose error rate (overloaded, 529) steps from p0
// to p1 at change: the stream of the bench's step rows (docs/bench.md), whose optimum column is
// the fastest possible mean delay on it.
func StepOutage(rate, p0, p1 float64, change time.Duration) Spec {
	return Spec{Rate: rate, Change: change, Errors: Step{Before: p0, After: p1}}
}

// Noise is normal traffic at error rate p0 with a retry storm about every retryEvery logical
// requests (none when retryEvery is 0): the false-alarm stream.
func Noise(rate, p0 float64, retryEvery int) Spec {
	return Spec{Rate: rate, Errors: Flat(p0), RetryEvery: retryEvery}
}

// TruncationStorm is streaming traffic at error rate p0 whose truncation rate steps from
// before to after at change.
func TruncationStorm(rate, p0, before, after float64, change time.Duration) Spec {
	return Spec{
		Rate: rate, Change: change, Errors: Flat(p0), Streaming: true,
		Truncated: Step{Before: before, After: after},
	}
}

// LatencySlowdown is non-streaming traffic at error rate p0 whose Duration is multiplied by
// factor at change (output tokens unchanged, so latency per token grows by factor).
func LatencySlowdown(rate, p0, factor float64, change time.Duration) Spec {
	return Spec{Rate: rate, Change: change, Errors: Flat(p0), LatencyFactor: factor}
}

// TTFTSlowdown is streaming traffic at error rate p0 whose time to first token is multiplied
// by factor at change.
func TTFTSlowdown(rate, p0, factor float64, change time.Duration) Spec {
	return Spec{Rate: rate, Change: change, Errors: Flat(p0), Streaming: true, TTFTFactor: factor}
}

// RateLimitStorm is traffic at error rate p0 whose 429 rate steps from before to after at
// change.
func RateLimitStorm(rate, p0, before, after float64, change time.Duration) Spec {
	return Spec{
		Rate: rate, Change: change, Errors: Flat(p0), RateLimited: Step{Before: before, After: after},
	}
}

// Silence is traffic at error rate p0 that stops at change.
func Silence(rate, p0 float64, change time.Duration) Spec {
	return Spec{Rate: rate, Change: change, End: change, Errors: Flat(p0)}
}

// Recovery is traffic whose error rate steps from p0 to p1 at change and back to p0 at
// recover.
func Recovery(rate, p0, p1 float64, change, recover time.Duration) Spec {
	return Spec{Rate: rate, Change: change, Recover: recover, Errors: Step{Before: p0, After: p1}}
}

// Flapping is traffic at error rate p0 that, from change on, alternates between off and on
// (at rate) every period.
func Flapping(rate, p0 float64, change, period time.Duration) Spec {
	return Spec{Rate: rate, Change: change, FlapPeriod: period, Errors: Flat(p0)}
}
