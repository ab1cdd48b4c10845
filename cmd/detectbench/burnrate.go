package main

import (
	"time"

	"github.com/outagewatch/outagewatch/detectors"
)

// The SRE Workbook's fastest multiwindow burn-rate alert ("Alerting on SLOs", page at 2% of a
// 30-day budget in 1 h): burn rate 14.4 over 1 h and over 5 min, for a 99.9% SLO.
const (
	burnFactor     = 14.4
	burnSLOBudget  = 0.001 // 1 - 99.9%
	burnLongWindow = 3600  // seconds
	burnShortWin   = 300   // seconds
)

// burnRate models that alert as a Prometheus rule evaluated every tick over per-second
// buckets: it fires while the error ratio (provider faults and 429s over all calls) exceeds
// 14.4 × 0.1% in both the last hour and the last 5 minutes, the current second included.
// There is no "for:" clause.
type burnRate struct {
	total, errs          [burnLongWindow]uint32 // by second, ring-indexed by unix second
	sec                  int64                  // the current second; 0 before the first event
	longTotal, longErrs  int64
	shortTotal, shortErr int64
	firing               bool
}

func newBurnRate() *burnRate { return &burnRate{} }

func (b *burnRate) observe(now time.Time, c *detectors.Call) {
	b.advance(now.Unix())
	i := b.sec % burnLongWindow
	b.total[i]++
	b.longTotal++
	b.shortTotal++
	if sloFailure(c) {
		b.errs[i]++
		b.longErrs++
		b.shortErr++
	}
}

func (b *burnRate) tick(now time.Time) {
	b.advance(now.Unix())
	const limit = burnFactor * burnSLOBudget
	b.firing = b.longTotal > 0 && b.shortTotal > 0 &&
		float64(b.longErrs) > limit*float64(b.longTotal) &&
		float64(b.shortErr) > limit*float64(b.shortTotal)
}

// advance moves the current second to s, dropping the buckets that leave each window.
func (b *burnRate) advance(s int64) {
	if b.sec == 0 || s-b.sec >= burnLongWindow {
		*b = burnRate{sec: s, firing: b.firing}
		return
	}
	for b.sec < s {
		b.sec++
		old := (b.sec - burnShortWin) % burnLongWindow // leaves the 5-minute window
		b.shortTotal -= int64(b.total[old])
		b.shortErr -= int64(b.errs[old])
		i := b.sec % burnLongWindow // leaves the 1-hour window; becomes the current second
		b.longTotal -= int64(b.total[i])
		b.longErrs -= int64(b.errs[i])
		b.total[i], b.errs[i] = 0, 0
	}
}

func (b *burnRate) alarmed() bool { return b.firing }
