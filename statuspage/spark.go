package statuspage

import (
	"iter"
	"strconv"
	"strings"
	"time"

	"github.com/outagewatch/outagewatch/detectors"
)

// Sparklines: small inline SVG charts drawn on the server, so the static view needs no
// JavaScript. Each shows one figure over the History's window, as the peak of each of
// sparkWidth time buckets (an outage's spike survives the downsampling), scaled from 0 to the
// larger of the window's peak and the metric's floor (so that noise on a quiet series stays
// flat).

// The chart's coordinate system; CSS scales it.
const (
	sparkWidth  = 120
	sparkHeight = 32
)

// metric is one charted figure.
type metric struct {
	ID     string // for classes and data attributes
	Label  string
	value  func(Point) float64
	now    func(detectors.Figures) float64
	floor  float64
	format func(float64) string
}

var metrics = []metric{
	{ID: "call_rate", Label: "call rate", floor: 1, format: formatRate,
		value: func(p Point) float64 { return p.CallRate }, now: func(f detectors.Figures) float64 { return f.CallRate }},
	{ID: "error_rate", Label: "error rate", floor: 0.05, format: formatPercent,
		value: func(p Point) float64 { return p.ErrorRate }, now: func(f detectors.Figures) float64 { return f.ErrorRate }},
	{ID: "truncation_rate", Label: "truncation", floor: 0.05, format: formatPercent,
		value: func(p Point) float64 { return p.TruncationRate }, now: func(f detectors.Figures) float64 { return f.TruncationRate }},
	{ID: "latency_p95", Label: "p95 latency", floor: 1, format: formatSeconds,
		value: func(p Point) float64 { return p.LatencyP95.Seconds() }, now: func(f detectors.Figures) float64 { return f.LatencyP95.Seconds() }},
}

// chart is a sparkline ready for the template.
type chart struct {
	ID      string
	Label   string
	Now     string // the current value, as text
	Summary string // the accessible description of the whole chart
	Path    string // the SVG path; "" when there is no data
}

// charts draws every metric of a series over [to-window, to], in one pass over its points.
func charts(points iter.Seq[Point], current detectors.Figures, to time.Time, window time.Duration) []chart {
	from := to.Add(-window)
	acc := make([]accumulator, len(metrics))
	for p := range points {
		if p.At.Before(from) || p.At.After(to) {
			continue
		}
		i := min(int(float64(sparkWidth)*float64(p.At.Sub(from))/float64(window)), sparkWidth-1)
		for m := range metrics {
			acc[m].add(i, max(metrics[m].value(p), 0))
		}
	}
	out := make([]chart, 0, len(metrics))
	for m, mt := range metrics {
		out = append(out, acc[m].chart(mt, current, window))
	}
	return out
}

// accumulator gathers one metric's points into the chart's buckets, keeping each bucket's peak.
type accumulator struct {
	buckets [sparkWidth]float64
	filled  [sparkWidth]bool
	lo, hi  float64
	n       int
}

func (a *accumulator) add(i int, v float64) {
	if !a.filled[i] || v > a.buckets[i] {
		a.buckets[i] = v
	}
	a.filled[i] = true
	if a.n == 0 || v < a.lo {
		a.lo = v
	}
	a.hi = max(a.hi, v)
	a.n++
}

func (a *accumulator) chart(m metric, current detectors.Figures, window time.Duration) chart {
	c := chart{ID: m.ID, Label: m.Label, Now: m.format(m.now(current))}
	if a.n == 0 {
		c.Summary = m.Label + ", last " + formatDuration(window) + ": no data yet; now " + c.Now
		return c
	}
	c.Summary = m.Label + ", last " + formatDuration(window) + ": now " + c.Now +
		", peak " + m.format(a.hi) + ", low " + m.format(a.lo)
	c.Path = sparkPath(a.buckets[:], a.filled[:], max(a.hi, m.floor))
	return c
}

// sparkPath joins neighbouring filled buckets with lines; a gap starts a new subpath, a lone
// bucket is a short dash, and the inner points of a flat run are left out.
func sparkPath(buckets []float64, filled []bool, top float64) string {
	ys := make([]string, len(buckets))
	for i, v := range buckets {
		if filled[i] {
			// One unit of margin top and bottom, so the stroke is never clipped.
			ys[i] = strconv.FormatFloat(sparkHeight-1-v/top*(sparkHeight-2), 'f', 1, 64)
		}
	}
	var b strings.Builder
	for i, y := range ys {
		if y == "" {
			continue
		}
		prev, next := i > 0 && ys[i-1] != "", i+1 < len(ys) && ys[i+1] != ""
		switch {
		case prev && next && ys[i-1] == y && ys[i+1] == y:
			// inside a flat run
		case prev:
			b.WriteString("L" + strconv.Itoa(i) + " " + y)
		case next:
			b.WriteString("M" + strconv.Itoa(i) + " " + y)
		default:
			b.WriteString("M" + strconv.Itoa(i) + " " + y + "h1")
		}
	}
	return b.String()
}
