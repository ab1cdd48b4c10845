package main

import (
	"time"

	"github.com/outagewatch/outagewatch/detectors"
)

// LiteLLM router defaults (litellm/constants.py).
const (
	litellmFailurePercent = 0.5             // DEFAULT_FAILURE_THRESHOLD_PERCENT
	litellmMinRequests    = 5               // DEFAULT_FAILURE_THRESHOLD_MINIMUM_REQUESTS
	litellmAllFailVolume  = 1000            // SINGLE_DEPLOYMENT_TRAFFIC_FAILURE_THRESHOLD
	litellmCooldown       = 5 * time.Second // DEFAULT_COOLDOWN_TIME_SECONDS
	litellmCounterTTL     = 60 * time.Second
)

// minuteCounter is one of LiteLLM's "for the current minute" counters.
//
// As read (router_utils/router_callbacks/track_deployment_metrics.py with the InMemoryCache of
// caching/in_memory_cache.py), "{id}:successes" and "{id}:fails" are separate cache keys
// incremented with ttl=60, and set_cache only sets a TTL on a key that has none or whose TTL
// expired: each counter's window starts at its own first increment after expiry and is not
// refreshed, so the two windows are misaligned. The aligned variant keys both by calendar
// minute instead, as older versions did.
type minuteCounter struct {
	n       int
	expires time.Time // misaligned: end of the 60 s window; aligned: end of the minute
}

func (m *minuteCounter) get(now time.Time) int {
	if now.After(m.expires) {
		return 0
	}
	return m.n
}

func (m *minuteCounter) inc(now time.Time, aligned bool) {
	if now.After(m.expires) {
		m.n = 0
		if aligned {
			m.expires = now.Truncate(time.Minute).Add(time.Minute - time.Nanosecond)
		} else {
			m.expires = now.Add(litellmCounterTTL)
		}
	}
	m.n++
}

// litellm models the LiteLLM router's deployment cooldown (router_utils/cooldown_handlers.py,
// v2 logic: no allowed_fails policy, a model group of several deployments):
//   - each success increments the successes counter and each failure the fails counter;
//   - on a failure whose status requires a cooldown (_is_cooldown_required: 429, 401, 404, 408
//     and every non-4xx status, but not connection errors), the deployment cools down if the
//     status is 429, or if fails/(successes+fails) > 50% with at least 5 requests in the
//     counters, or all of at least 1000 requests failed, or the status is not retryable;
//   - a cooldown lasts 5 s and is not extended by a new one (the cache keeps the first TTL);
//     while it lasts the router sends the traffic elsewhere, so calls are not counted.
//
// It is alarmed while cooling down.
type litellm struct {
	aligned      bool
	successes    minuteCounter
	fails        minuteCounter
	coolingUntil time.Time
	now          time.Time // the time of the last event
}

func newLiteLLM(aligned bool) *litellm { return &litellm{aligned: aligned} }

func (l *litellm) observe(now time.Time, c *detectors.Call) {
	l.now = now
	if now.Before(l.coolingUntil) {
		return
	}
	if !clientFailure(c) {
		l.successes.inc(now, l.aligned)
		return
	}
	l.fails.inc(now, l.aligned)
	if !litellmCooldownRequired(c) {
		return
	}
	s, f := l.successes.get(now), l.fails.get(now)
	total := s + f
	pct := 0.0
	if total > 0 {
		pct = float64(f) / float64(total)
	}
	if litellmStatus(c) == 429 ||
		(pct == 1 && total >= litellmAllFailVolume) ||
		(pct > litellmFailurePercent && total >= litellmMinRequests) ||
		!litellmRetryable(c.HTTPStatus) {
		l.coolingUntil = now.Add(litellmCooldown)
	}
}

func (l *litellm) tick(now time.Time) { l.now = now }

// alarmed reports whether the deployment is cooling down at the time of the last event.
func (l *litellm) alarmed() bool { return l.now.Before(l.coolingUntil) }

// litellmCooldownRequired is _is_cooldown_required: 429, 401, 404 and 408 cool down, other 4xx
// do not, everything else does, except LiteLLM's APIConnectionError (no status).
func litellmCooldownRequired(c *detectors.Call) bool {
	st := litellmStatus(c)
	if st == 0 {
		return false // APIConnectionError
	}
	if st >= 400 && st < 500 {
		return st == 429 || st == 401 || st == 404 || st == 408
	}
	return true
}

// litellmRetryable is litellm._should_retry: 408, 409, 429 and 5xx are retried.
func litellmRetryable(status int) bool {
	return status == 408 || status == 409 || status == 429 || status >= 500
}

// litellmStatus is the status LiteLLM's exception carries: the HTTP status, 408 for its
// Timeout, none for connection errors.
func litellmStatus(c *detectors.Call) int {
	switch {
	case c.HTTPStatus != 0:
		return c.HTTPStatus
	case c.ErrorClass == detectors.ClassTimeout:
		return 408
	case c.ErrorClass == detectors.ClassNetwork:
		return 0
	}
	return 500
}
