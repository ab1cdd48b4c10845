package detectors

import (
	"math"
	"time"
)

// cusum is one Bernoulli CUSUM member of a series' bank. Between the last time its statistic
// was zero (the change-point estimate τ̂) and now it counts observations, events and the error
// classes of events, which are the evidence of an alarm.
type cusum struct {
	p0, p1 float64 // design baseline and alternative
	a, b   float64 // log-likelihood ratio of an event and of a non-event
	h      float64
	target float64 // the in-control run length h was calibrated for
	s      float64

	since   time.Time // τ̂: the time of the first observation after S was last zero
	n, k    int32
	classes [numClasses]uint16
	sample  string
	callers [numDims]callerCounts
}

// setParams (re)designs the member; its statistic is kept.
func (c *cusum) setParams(p0, p1, h float64) {
	c.p0, c.p1, c.h = p0, p1, h
	c.a = math.Log(p1 / p0)
	c.b = math.Log((1 - p1) / (1 - p0))
}

// ready reports whether the member has been designed.
func (c *cusum) ready() bool { return c.h > 0 }

// observe adds one observation and reports whether the statistic reached the threshold.
func (c *cusum) observe(now time.Time, event bool, class ErrorClass, msg string, w *who) bool {
	if !c.ready() {
		return false
	}
	if c.s == 0 {
		if !event {
			return false // S stays at zero: no excursion under way
		}
		// An event lifts S off zero: the change-point estimate τ̂ is now.
		c.since, c.n, c.k, c.sample = now, 0, 0, ""
		clear(c.classes[:])
		c.callers = [numDims]callerCounts{}
	}
	c.n++
	for d := range numDims {
		if w[d] != "" {
			c.callers[d].add(w[d], event)
		}
	}
	if event {
		c.s += c.a
		c.k++
		if class < numClasses && c.classes[class] < math.MaxUint16 {
			c.classes[class]++
		}
		if c.sample == "" {
			c.sample = msg
		}
	} else {
		c.s = max(0, c.s+c.b)
	}
	return c.s >= c.h
}

// estimate is p̂, the event rate since the change point.
func (c *cusum) estimate() float64 {
	if c.n == 0 {
		return 0
	}
	return float64(c.k) / float64(c.n)
}

// evidence describes the member's current excursion.
func (c *cusum) evidence(det Detector, now time.Time) Evidence {
	return Evidence{
		Detector:    det,
		Observed:    c.estimate(),
		Baseline:    c.p0,
		Threshold:   c.h,
		ChangePoint: c.since,
		Window:      now.Sub(c.since),
		SampleSize:  int(c.n),
		Events:      int(c.k),
		Classes:     topClasses(&c.classes),
		SampleError: c.sample,
		Callers:     c.callers[dimService].shares(),
		Endpoints:   c.callers[dimEndpoint].shares(),
	}
}

// reset starts the member afresh (after an alarm has been latched).
func (c *cusum) reset() { c.s = 0 }

// topClasses lists the classes with counts, most frequent first (at most three).
func topClasses(counts *[numClasses]uint16) []ClassCount {
	var out []ClassCount
	for cl, n := range counts {
		if n == 0 || ErrorClass(cl) == ClassNone {
			continue
		}
		out = append(out, ClassCount{Class: ErrorClass(cl), Count: int(n)})
	}
	// Insertion sort: at most a handful of classes.
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].Count > out[j-1].Count; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	if len(out) > 3 {
		out = out[:3]
	}
	return out
}
