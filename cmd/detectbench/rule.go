package main

import (
	"time"

	"github.com/outagewatch/outagewatch/detectors"
)

// rule is one outage detector under test: a reference rule or the outagewatch engine. The
// harness feeds every rule the same calls in time order and ticks it every simulated second;
// a rule is not safe for concurrent use.
type rule interface {
	// observe feeds one call that ended at now (now == c.Time). The rule must not keep c.
	observe(now time.Time, c *detectors.Call)
	// tick advances the rule's clock to now without a call.
	tick(now time.Time)
	// alarmed reports whether the rule currently declares the series unhealthy (ejected,
	// open, cooling down, firing, degraded or down).
	alarmed() bool
}

// ruleKind names a rule and builds fresh instances of it, one per replay.
type ruleKind struct {
	name string
	// about is a one-line description for the table's legend.
	about string
	build func() (rule, error)
}

// referenceRules returns the rules people use today, with the settings docs/bench.md lists
// ("The reference rules").
func referenceRules() []ruleKind {
	return []ruleKind{
		{"envoy", "Envoy outlier detection, consecutive_5xx=5", func() (rule, error) { return newEnvoy(), nil }},
		{"hystrix", "Hystrix: ≥20 requests and ≥50% errors in a rolling 10 s", func() (rule, error) { return newHystrix(), nil }},
		{"litellm", "LiteLLM cooldown: >50% fails of ≥5 in the minute, independent 60 s counters", func() (rule, error) { return newLiteLLM(false), nil }},
		{"litellm-al", "LiteLLM cooldown with aligned calendar-minute counters", func() (rule, error) { return newLiteLLM(true), nil }},
		{"burnrate", "SRE burn rate 14.4× over 1 h and 5 min, 99.9% SLO", func() (rule, error) { return newBurnRate(), nil }},
	}
}

// upstreamFailure reports whether a proxy in front of the provider sees the call as a failure
// of the upstream: a 5xx status, or a locally originated failure (timeout, connection error),
// which Envoy maps to 5xx unless split_external_local_origin_errors is set. 429s and other
// 4xx are upstream successes for a proxy, and so are streams cut after a 200.
func upstreamFailure(c *detectors.Call) bool {
	if c.Outcome != detectors.OutcomeError {
		return false
	}
	if c.HTTPStatus >= 500 && c.HTTPStatus < 600 {
		return true
	}
	switch c.ErrorClass {
	case detectors.ClassOverloaded, detectors.ClassServerError, detectors.ClassTimeout, detectors.ClassNetwork:
		return true
	}
	return false
}

// clientFailure reports whether an in-process client library (Hystrix, LiteLLM) sees the call
// fail: any error it gets back, except the caller's own 4xx and cancellations. 429s count.
func clientFailure(c *detectors.Call) bool {
	if c.Outcome != detectors.OutcomeError {
		return false
	}
	switch c.ErrorClass {
	case detectors.ClassClientError, detectors.ClassAuth, detectors.ClassCancelled:
		return false
	}
	return true
}

// sloFailure reports whether the call burns the availability SLO's error budget: a provider
// fault or a 429, as LLM API SLOs usually count them (docs/bench.md notes the 5% baseline this
// gives).
func sloFailure(c *detectors.Call) bool {
	return c.Outcome == detectors.OutcomeError &&
		(c.ErrorClass.ProviderFault() || c.ErrorClass == detectors.ClassRateLimited)
}
