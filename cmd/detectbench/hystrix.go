package main

import (
	"time"

	"github.com/outagewatch/outagewatch/detectors"
)

// Hystrix circuit-breaker defaults (HystrixCommandProperties).
const (
	hystrixBuckets        = 10 // metrics.rollingStats: 10 s in 10 buckets of 1 s
	hystrixVolume         = 20 // circuitBreaker.requestVolumeThreshold
	hystrixErrorPercent   = 50 // circuitBreaker.errorThresholdPercentage
	hystrixSleepWindowDur = 5 * time.Second
)

// hystrix models a Hystrix circuit breaker around the calls to the series. While closed it
// counts requests and failures (any exception but a bad request) in a rolling window of 10
// one-second buckets, the current one included, and opens when the window holds at least 20
// requests with an integer error percentage of at least 50, checked on every request and
// every tick. While open, requests are short-circuited and not counted; the first request
// after the 5 s sleep window is a single trial that closes the circuit (and resets the
// window) if it succeeds and re-opens it if it fails.
//
// It is alarmed while open or half-open. (Hystrix 1.5 evaluates a health snapshot every
// 500 ms over completed buckets instead, which adds up to half a second.)
type hystrix struct {
	sec    [hystrixBuckets]int64 // the second each bucket holds
	total  [hystrixBuckets]int
	errors [hystrixBuckets]int
	open   bool
	since  time.Time // when the circuit last opened
}

func newHystrix() *hystrix { return &hystrix{} }

func (h *hystrix) observe(now time.Time, c *detectors.Call) {
	failed := clientFailure(c)
	if h.open {
		if now.Sub(h.since) < hystrixSleepWindowDur {
			return // short-circuited
		}
		if failed { // the trial failed: stay open for another sleep window
			h.since = now
			return
		}
		h.open = false
		h.sec = [hystrixBuckets]int64{}
		return
	}
	s := now.Unix()
	i := s % hystrixBuckets
	if h.sec[i] != s {
		h.sec[i], h.total[i], h.errors[i] = s, 0, 0
	}
	h.total[i]++
	if failed {
		h.errors[i]++
	}
	h.evaluate(now)
}

func (h *hystrix) tick(now time.Time) {
	if !h.open {
		h.evaluate(now)
	}
}

func (h *hystrix) evaluate(now time.Time) {
	s := now.Unix()
	total, errs := 0, 0
	for i := range hystrixBuckets {
		if h.sec[i] > s-hystrixBuckets && h.sec[i] <= s {
			total += h.total[i]
			errs += h.errors[i]
		}
	}
	if total >= hystrixVolume && errs*100/total >= hystrixErrorPercent {
		h.open, h.since = true, now
	}
}

func (h *hystrix) alarmed() bool { return h.open }
