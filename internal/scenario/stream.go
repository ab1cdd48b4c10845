package scenario

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/outagewatch/outagewatch/detectors"
)

// pcgStream is the fixed PCG stream constant; only the seed varies.
const pcgStream = 0x5851f42d4c957f2d

// Stream generates the calls of one Spec in time order. It is not safe for concurrent use.
type Stream struct {
	rng   *rand.Rand
	start time.Time
	// Times are float64 seconds from start: exact to well under a microsecond over years.
	rate                     float64
	change, recover, end     float64 // recover and end are +Inf when unset
	flap                     float64 // 0 when traffic is steady
	streaming                bool
	pErr, pRL, pTrunc        [2]float64 // by phase: 0 before the change (or after recovery), 1 during
	latMu, ttftMu            [2]float64 // ln of the median, in seconds, by phase
	errMu, sigma             float64
	tokens                   int64
	class                    detectors.ErrorClass
	status                   int
	message                  string
	retryEvery, retryTries   int
	provider, model, service string

	tau       float64 // the last arrival on the traffic-on clock
	n         uint64  // logical requests generated so far
	idBase    uint64
	nextStorm uint64 // index of the next retry-storm request; 0 when there are none
	done      bool
}

// New returns the stream of spec, positioned before its first call.
func New(spec Spec) (*Stream, error) {
	if err := spec.Validate(); err != nil {
		return nil, fmt.Errorf("scenario spec: %w", err)
	}
	s := &Stream{
		rng:        rand.New(rand.NewPCG(spec.Seed, pcgStream)),
		start:      spec.Start,
		rate:       spec.Rate,
		change:     spec.Change.Seconds(),
		recover:    math.Inf(1),
		end:        math.Inf(1),
		flap:       spec.FlapPeriod.Seconds(),
		streaming:  spec.Streaming,
		sigma:      or(spec.Sigma, DefaultSigma),
		tokens:     or(spec.OutputTokens, DefaultOutputTokens),
		class:      or(spec.ErrorClass, detectors.ClassOverloaded),
		retryEvery: spec.RetryEvery,
		retryTries: or(spec.RetryAttempts, 3),
		provider:   or(spec.Provider, DefaultProvider),
		model:      or(spec.Model, DefaultModel),
		service:    or(spec.Service, DefaultService),
		idBase:     splitmix64(spec.Seed),
	}
	if s.start.IsZero() {
		s.start = Origin
	}
	if spec.Recover > spec.Change {
		s.recover = spec.Recover.Seconds()
	}
	if spec.End > 0 {
		s.end = spec.End.Seconds()
	}
	s.status, s.message = errorShape(s.class)
	lat := or(spec.Latency, DefaultLatency).Seconds()
	ttft := or(spec.TTFT, DefaultTTFT).Seconds()
	latF, ttftF := or(spec.LatencyFactor, 1), or(spec.TTFTFactor, 1)
	for ph, changed := range [2]bool{false, true} {
		s.pErr[ph] = spec.Errors.at(changed)
		s.pRL[ph] = spec.RateLimited.at(changed)
		s.pTrunc[ph] = spec.Truncated.at(changed)
		s.latMu[ph], s.ttftMu[ph] = math.Log(lat), math.Log(ttft)
		if changed {
			s.latMu[ph] += math.Log(latF)
			s.ttftMu[ph] += math.Log(ttftF)
		}
	}
	s.errMu = math.Log(lat / 4) // failures come back fast
	s.scheduleStorm()
	return s, nil
}

// Start returns the stream's time origin: the instant its offsets count from.
func (s *Stream) Start() time.Time { return s.start }

// Calls returns the number of calls generated so far.
func (s *Stream) Calls() uint64 { return s.n }

// Next fills c with the next call and reports true, or reports false once the stream has ended
// (only streams with an End do). Times never decrease. Every field of c is overwritten; the
// strings are shared constants.
func (s *Stream) Next(c *detectors.Call) bool {
	if s.done {
		return false
	}
	// Draw the same variates for every call whatever its outcome, so that two specs that
	// differ only in probabilities share their arrival times (common random numbers).
	s.tau += s.rng.ExpFloat64() / s.rate
	u, z1 := s.rng.Float64(), s.rng.NormFloat64()
	var z2, v float64
	if s.streaming {
		z2, v = s.rng.NormFloat64(), s.rng.Float64()
	}
	t := s.wall(s.tau)
	if t >= s.end {
		s.done = true
		return false
	}
	ph := 0
	if t >= s.change && t < s.recover {
		ph = 1
	}
	s.n++
	*c = detectors.Call{
		Time:       s.start.Add(time.Duration(t * 1e9)),
		Provider:   s.provider,
		Model:      s.model,
		Operation:  "chat",
		Streaming:  s.streaming,
		Service:    s.service,
		Convention: "genai",
		Source:     detectors.SourceLLM,
		Attempts:   1,
		RequestID:  s.idBase + s.n,
	}
	switch {
	case s.n == s.nextStorm:
		s.fail(c, s.class, s.status, s.message, z1)
		c.Attempts, c.FailedAttempts = s.retryTries, s.retryTries
		s.scheduleStorm()
	case u < s.pErr[ph]:
		s.fail(c, s.class, s.status, s.message, z1)
	case u < s.pErr[ph]+s.pRL[ph]:
		s.fail(c, detectors.ClassRateLimited, 429, "rate_limit_error: rate limit exceeded", z1)
	default:
		s.succeed(c, ph, z1, z2, v)
	}
	return true
}

// wall maps a time on the traffic-on clock to wall time: the identity, except that with
// FlapPeriod the wall clock skips an off period before each on period after the change.
func (s *Stream) wall(tau float64) float64 {
	if s.flap == 0 || tau < s.change {
		return tau
	}
	d := tau - s.change
	k := math.Floor(d / s.flap)
	return s.change + (2*k+1)*s.flap + (d - k*s.flap)
}

func (s *Stream) fail(c *detectors.Call, class detectors.ErrorClass, status int, msg string, z float64) {
	c.Outcome = detectors.OutcomeError
	c.ErrorClass, c.AttemptClass = class, class
	c.HTTPStatus = status
	c.ErrorMessage = msg
	c.FailedAttempts = 1
	c.Duration = seconds(math.Exp(s.errMu + s.sigma*z))
}

func (s *Stream) succeed(c *detectors.Call, ph int, z1, z2, v float64) {
	c.Outcome = detectors.OutcomeOK
	c.HTTPStatus = 200
	c.FinishReason, c.FinishReasonRaw = detectors.FinishStop, "end_turn"
	c.InputTokens = 1000
	c.OutputTokens = s.tokens
	if !s.streaming {
		c.Duration = seconds(math.Exp(s.latMu[ph] + s.sigma*z1))
		return
	}
	ttft := math.Exp(s.ttftMu[ph] + s.sigma*z1)
	gen := math.Exp(s.latMu[ph] + s.sigma*z2)
	if v < s.pTrunc[ph] {
		c.Outcome = detectors.OutcomeTruncated
		c.FinishReason, c.FinishReasonRaw = detectors.FinishNone, ""
		c.OutputTokens = s.tokens / 2
		gen /= 2
	}
	c.TTFT = seconds(ttft)
	c.Duration = seconds(ttft + gen)
}

// scheduleStorm picks the index of the next retry-storm request, uniformly in
// [n + RetryEvery/2, n + 3·RetryEvery/2].
func (s *Stream) scheduleStorm() {
	if s.retryEvery == 0 {
		return
	}
	lo := uint64(s.retryEvery / 2)
	s.nextStorm = s.n + lo + s.rng.Uint64N(uint64(s.retryEvery)+1)
}

// errorShape returns the HTTP status and a sample message of a failure of class c.
func errorShape(c detectors.ErrorClass) (int, string) {
	switch c {
	case detectors.ClassOverloaded:
		return 529, "overloaded_error: Overloaded"
	case detectors.ClassRateLimited:
		return 429, "rate_limit_error: rate limit exceeded"
	case detectors.ClassServerError:
		return 500, "api_error: Internal server error"
	case detectors.ClassTimeout:
		return 504, "timeout: deadline exceeded"
	case detectors.ClassNetwork:
		return 0, "connection reset by peer"
	}
	return 0, c.String()
}

func seconds(s float64) time.Duration { return time.Duration(s * 1e9) }

// or returns v, or def when v is the zero value.
func or[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// splitmix64 scrambles a seed into a well-spread 64-bit value.
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}
