package main

import (
	"time"

	"github.com/outagewatch/outagewatch/detectors"
)

// Envoy outlier-detection settings: consecutive_5xx = 5 as docs/bench.md lists the reference
// rules, the rest Envoy's defaults (interval 10 s, base_ejection_time 30 s, max_ejection_time
// 300 s).
const (
	envoyConsecutive5xx   = 5
	envoyInterval         = 10 * time.Second
	envoyBaseEjectionTime = 30 * time.Second
	envoyMaxEjectionTime  = 300 * time.Second
)

// envoy models Envoy's outlier detector (source/common/upstream/outlier_detection_impl.cc) for
// the one host behind the series, with consecutive_5xx = 5:
//   - every 5xx or locally originated failure increments a counter, any other response
//     resets it; when it reaches exactly 5 the host is ejected and the counter reset;
//   - max_ejection_percent (10%) always allows ejecting at least one host, and with a single
//     host Envoy's panic routing keeps sending it traffic, so every call is still seen;
//   - on each 10 s interval timer an ejected host returns once min(30 s · backoff, 300 s) has
//     passed since its ejection (counters reset), and a host that is not ejected decrements
//     its backoff; each ejection increments the backoff while 30 s · backoff < 330 s.
//
// It is alarmed while the host is ejected.
type envoy struct {
	consecutive int
	ejected     bool
	ejectedAt   time.Time
	backoff     time.Duration // multiplier of the base ejection time
	nextCheck   time.Time     // the next interval-timer firing; zero until the first event
}

func newEnvoy() *envoy { return &envoy{} }

func (e *envoy) observe(now time.Time, c *detectors.Call) {
	e.tick(now)
	if !upstreamFailure(c) {
		e.consecutive = 0
		return
	}
	e.consecutive++
	if e.consecutive == envoyConsecutive5xx && !e.ejected {
		e.ejected, e.ejectedAt = true, now
		if e.backoff*envoyBaseEjectionTime < envoyMaxEjectionTime+envoyBaseEjectionTime {
			e.backoff++
		}
		e.consecutive = 0
	}
}

func (e *envoy) tick(now time.Time) {
	if e.nextCheck.IsZero() {
		e.nextCheck = now.Add(envoyInterval)
		return
	}
	for !now.Before(e.nextCheck) {
		e.check(e.nextCheck)
		e.nextCheck = e.nextCheck.Add(envoyInterval)
	}
}

// check is Envoy's checkHostForUneject, run by the interval timer.
func (e *envoy) check(now time.Time) {
	if !e.ejected {
		if e.backoff > 0 {
			e.backoff--
		}
		return
	}
	if now.Sub(e.ejectedAt) >= min(envoyBaseEjectionTime*e.backoff, envoyMaxEjectionTime) {
		e.ejected = false
		e.consecutive = 0
	}
}

func (e *envoy) alarmed() bool { return e.ejected }
