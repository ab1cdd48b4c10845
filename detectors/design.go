package detectors

import (
	"math"
	"time"
)

// How a series' detectors are designed: the baselines they are tested against (the series'
// own, its provider's or the global priors, with their uncertainty), the lagged counts of a new
// series, and each member's alternative and threshold.

// Rates of lag.
const (
	rateErr = iota
	rateTrunc
	rateLimit
	numRates
)

// lagCalls is the period, in calls, of the lagged counts a new series is designed on: long
// enough for a partial fault at any rate to be detected before it enters the design (about 50
// calls at 20% errors, 10 to 30 at a third of streams cut), short enough that the design
// follows the series' own rate within minutes at 1 call/s.
const lagCalls = 100

// rotateLag moves the lagged counts on every lagCalls calls, unless a rate member is more than
// half-way to its threshold: evidence under suspicion does not enter the design of the members
// judging it (a fault that takes longer than the lag to be told apart, 20% errors on a 5%
// baseline, would otherwise be learned before it is detected).
func (s *series) rotateLag() {
	if s.warm || s.calls-s.lagAt < lagCalls {
		return
	}
	if s.suspicious(mError, mMid, mTrunc, mRate) {
		return
	}
	s.lag[0] = s.lag[1]
	s.lag[1] = [numRates]decayed{s.errBase.EWMA, s.truncBase.EWMA, s.rateBase.EWMA}
	s.lagAt = s.calls
}

// suspicious reports whether any of members is more than a quarter of the way to its
// threshold. While a series is new, such evidence is kept out of what its members are designed
// on (the lagged counts, the latency and TTFT sketches), and the series does not turn warm, so
// that a fault slower to tell apart than the lag is not learned as the series' baseline.
func (s *series) suspicious(members ...member) bool {
	for _, m := range members {
		if c := &s.members[m]; c.h > 0 && c.s > c.h/4 {
			return true
		}
	}
	return false
}

// lagDesign is rateBaseline.design on the lagged counts of rate r.
func (s *series) lagDesign(r int, now time.Time, halfLife time.Duration, prior, margin, lo, hi float64) (float64, float64) {
	e := s.lag[0][r]
	e.decay(now, halfLife)
	return betaDesign(e.N, e.K, prior, margin, lo, hi)
}

// priors are what a series' baselines start from before its own evidence takes over
// (docs/detection.md, "Priors"): its provider's learned baselines when the provider series is
// warm, else the global priors.
type priors struct {
	err, trunc, rateLimit float64
	ttftQ95, latencyQ95   float64 // seconds (per output token for latency)
}

// Global priors: the baselines of a series whose provider has no history (docs/detection.md
// says why these values). The error rate's is Config.ColdStartBaseline.
const (
	globalTruncationPrior = 0.01
	globalRateLimitPrior  = 0.02
	globalTTFTQ95         = 20.0 // seconds
	globalLatencyQ95      = 0.5  // seconds per output token
	// latencyPriorWidening multiplies a prior's q95 before it is used as a latency limit: a
	// series whose latencies are twice its prior's still exceeds the limit less often than the
	// latency members' design baseline assumes.
	latencyPriorWidening = 2.0
)

// priors returns the series' priors at now.
func (s *series) priors(cfg *Config, now time.Time) priors {
	pr := priors{
		err: cfg.ColdStartBaseline, trunc: globalTruncationPrior, rateLimit: globalRateLimitPrior,
		ttftQ95: globalTTFTQ95, latencyQ95: globalLatencyQ95,
	}
	p := s.provider
	if p == nil || !p.warm {
		return pr
	}
	half := cfg.BaselineHalfLife
	pr.err = p.errBase.rate(now, half, pr.err)
	pr.trunc = p.truncBase.rate(now, half, pr.trunc)
	pr.rateLimit = p.rateBase.rate(now, half, pr.rateLimit)
	if p.ttftBase.Total >= float32(cfg.LatencyMinSamples) {
		pr.ttftQ95 = p.ttftBase.quantile(0.95).Seconds()
	}
	if p.latBase.Total >= float32(cfg.LatencyMinSamples) {
		pr.latencyQ95 = p.latBase.quantile(0.95).Seconds()
	}
	return pr
}

// baselineSource says where the series' baselines come from now, for Status.
func (s *series) baselineSource() BaselineSource {
	from := BaselineOwn
	if !s.warm {
		from = BaselineGlobal
		if s.provider != nil && s.provider.warm {
			from = BaselineProvider
		}
	}
	return BaselineSource{From: from, Calls: s.calls}
}

// design (re)computes every member's baseline, alternative and threshold from the baselines and
// the priors. Every member runs from the series' first call: the priors enter each rate
// baseline's Beta posterior as pseudo-counts, so that its upper credible bound, the design
// baseline, is wide while the series has few calls and narrows to its own rate as they grow.
func (s *series) design(e *Engine, now time.Time) {
	cfg := &e.cfg
	s.designedAt = now
	lambdaRef := gridUp(max(s.peak.peak(), cfg.MinReferenceRate), 1.25)
	// Each member of a family is calibrated for (members)·λ_ref·T_FA calls, so that the union of
	// the family's members keeps one false alarm per T_FA at any rate up to λ_ref.
	target := 2 * lambdaRef * cfg.FalseAlarmInterval.Seconds()
	errTarget := errorMembers * lambdaRef * cfg.FalseAlarmInterval.Seconds()
	half := cfg.BaselineHalfLife
	pr := s.priors(cfg, now)

	// The margin protects the null hypothesis (false alarms); the alternatives scale with the
	// estimate itself (mean), which keeps them where the design puts them.
	rateDesign := func(r int, b *rateBaseline, prior, lo float64) (float64, float64) {
		if !s.warm {
			return s.lagDesign(r, now, half, prior, cfg.BaselineMargin, lo, cfg.BaselineMax)
		}
		return b.design(now, half, prior, cfg.BaselineMargin, lo, cfg.BaselineMax)
	}
	p0, mean := rateDesign(rateErr, &s.errBase, pr.err, cfg.BaselineMin)
	p0 = gridUp(p0, baselineGrid)
	// The hard-outage member needs a run of errors: while the series leans on its priors it is
	// designed on the posterior mean or the prior's rate, whichever is higher (× margin), not on
	// the upper bound, so that a new model
	// that is dead from its first call is down after as many errors as a warm one (the lag
	// keeps those errors out of its design).
	// docs/detection.md ("Priors") gives the false-alarm cost.
	pDown := p0
	if !s.warm {
		// Never below the prior's rate: a hundred calls without an error put the posterior
		// mean far below a rate of 1%, and a run of three errors would then be an outage.
		pDown = gridUp(min(cfg.BaselineMax, max(cfg.BaselineMin, cfg.BaselineMargin*max(mean, pr.err))), baselineGrid)
	}
	s.setMember(e, mDown, pDown, cfg.DownRate, errTarget)
	s.setMember(e, mError, p0, alternative(p0, cfg.DegradedMinRate, cfg.DegradedFactor*mean), errTarget)
	s.setMember(e, mMid, p0, alternative(p0, cfg.MidRate, 0), errTarget)
	pt, tmean := rateDesign(rateTrunc, &s.truncBase, pr.trunc, cfg.TruncationBaselineMin)
	pt = gridUp(pt, baselineGrid)
	s.setMember(e, mTrunc, pt, alternative(pt, cfg.TruncationMinRate, cfg.TruncationFactor*tmean), target)
	prl, rmean := rateDesign(rateLimit, &s.rateBase, pr.rateLimit, cfg.BaselineMin)
	prl = gridUp(prl, baselineGrid)
	s.setMember(e, mRate, prl, alternative(prl, cfg.RateLimitMinRate, cfg.RateLimitFactor*rmean), target)
	pl := cfg.LatencyBaseline * cfg.BaselineMargin
	s.ttftLimit = cfg.LatencyFactor * latencyQ95(&s.ttftBase, cfg, pr.ttftQ95, s.warm)
	s.setMember(e, mTTFT, pl, cfg.LatencyAlternative, target)
	s.latLimit = cfg.LatencyFactor * latencyQ95(&s.latBase, cfg, pr.latencyQ95, s.warm)
	s.setMember(e, mLatency, pl, cfg.LatencyAlternative, target)
}

// latencyQ95 is the q95 (seconds) a latency member tests against: the series' own once its
// sketch holds LatencyMinSamples samples, else the prior's, widened. A warm series uses its
// sketch's q95; a new one its upper 95% confidence bound.
func latencyQ95(own *sketch, cfg *Config, prior float64, warm bool) float64 {
	if n := float64(own.Total); n >= float64(cfg.LatencyMinSamples) {
		if warm {
			return own.quantile(0.95).Seconds()
		}
		// The upper 95% confidence bound of the q95 from n samples (the normal approximation
		// of its order statistic): the quantile at 0.95 + 1.645·√(0.95·0.05/n), 0.975 from 200
		// samples, 0.962 from 1,200.
		return own.quantile(0.95 + 1.645*math.Sqrt(0.95*0.05/n)).Seconds()
	}
	return latencyPriorWidening * prior
}

// errorMembers is the size of the error-rate family.
const errorMembers = 3

// alternative is a member's p1: max(floor, scaled), above p0 and below 0.95, on a 5% log grid so
// that calibrations are cached.
func alternative(p0, floor, scaled float64) float64 {
	return min(0.95, gridUp(max(floor, scaled, p0*1.5), 1.05))
}

// baselineGrid is the ratio of the log grid design baselines are rounded up to.
const baselineGrid = 1.02

func (s *series) setMember(e *Engine, m member, p0, p1, target float64) {
	c := &s.members[m]
	if c.p0 == p0 && c.p1 == p1 && c.h > 0 && c.target == target {
		return
	}
	c.setParams(p0, p1, e.th.get(p0, p1, target))
	c.target = target
}
