package detectors

import (
	"math"
	"time"
)

// decayed is an exponentially decayed counter pair (observations, events) with a half-life.
type decayed struct {
	N, K float64
	At   time.Time
}

// decay applies the decay since the last one. It waits until a second has passed (the half-
// lives are minutes to hours, so the error is under 0.25%) to keep math.Exp2 off the per-call
// path.
func (d *decayed) decay(now time.Time, halfLife time.Duration) {
	if d.At.IsZero() {
		d.At = now
		return
	}
	if dt := now.Sub(d.At); dt >= time.Second {
		f := math.Exp2(-float64(dt) / float64(halfLife))
		d.N *= f
		d.K *= f
		d.At = now
	}
}

// bump counts one observation; the owner ages the counter (series.age).
func (d *decayed) bump(event bool) {
	d.N++
	if event {
		d.K++
	}
}

// scale applies a decay factor computed by the owner, as of now.
func (d *decayed) scale(f float64, now time.Time) {
	d.N *= f
	d.K *= f
	d.At = now
}

// hoursPerWeek is the number of hour-of-week buckets.
const hoursPerWeek = 168

// weekDecay weighs last week's count of an hour-of-week bucket against this week's: about four
// weeks of memory.
const weekDecay = 0.75

// howCounts are one hour-of-week bucket's decayed counts of one rate.
type howCounts struct {
	N, K float32
}

// rateBaseline learns the rate of one kind of event (errors, truncations, 429s) per call, while
// the series is healthy: per hour of week (decayed over about four weeks) and as an EWMA with a
// half-life of hours. design gives p̃0, the baseline the detectors are designed for.
type rateBaseline struct {
	How   [hoursPerWeek]howCounts
	Week  int32 // the week number the buckets' current counts belong to
	EWMA  decayed
	Count uint64
}

// weekHour returns the week number and the hour of the week of t (weeks start on Monday, UTC).
func weekHour(t time.Time) (int32, int) {
	// 1970-01-01 was a Thursday: shift so that weeks start on Monday 00:00 UTC.
	h := t.Unix()/3600 + 3*24
	return int32(h / hoursPerWeek), int(h % hoursPerWeek)
}

func (r *rateBaseline) add(week int32, hour int, event bool) {
	if week != r.Week {
		f := float32(math.Pow(weekDecay, float64(week-r.Week)))
		if r.Week == 0 || week < r.Week {
			f = 1
		}
		for i := range r.How {
			r.How[i].N *= f
			r.How[i].K *= f
		}
		r.Week = week
	}
	b := &r.How[hour]
	b.N++
	if event {
		b.K++
	}
	r.EWMA.bump(event)
	r.Count++
}

// design returns p̃0: the 95% upper confidence bound of the rate (a Beta posterior over the hour-
// of-week bucket and the EWMA, with a prior of strength 20 calls at prior), times margin,
// clamped to [lo, hi]; and the posterior mean.
func (r *rateBaseline) design(now time.Time, halfLife time.Duration, prior, margin, lo, hi float64) (float64, float64) {
	_, hour := weekHour(now)
	b := r.How[hour]
	e := r.EWMA
	e.decay(now, halfLife)
	return betaDesign(float64(b.N)+e.N, float64(b.K)+e.K, prior, margin, lo, hi)
}

// priorStrength is the weight of a prior in a rate's Beta posterior, in calls.
const priorStrength = 20

// betaDesign returns the design baseline of k events in n observations with a prior of
// priorStrength calls at prior: the posterior's 95% upper credible bound × margin, clamped to
// [lo, hi], and the posterior mean.
func betaDesign(n, k, prior, margin, lo, hi float64) (float64, float64) {
	const strength = priorStrength
	alpha := k + strength*prior
	beta := n - k + strength*(1-prior)
	mean := alpha / (alpha + beta)
	sd := math.Sqrt(alpha * beta / ((alpha + beta) * (alpha + beta) * (alpha + beta + 1)))
	return min(hi, max(lo, margin*(mean+1.645*sd))), mean
}

// rate is the EWMA estimate of the rate, or prior when there is no data.
func (r *rateBaseline) rate(now time.Time, halfLife time.Duration, prior float64) float64 {
	e := r.EWMA
	e.decay(now, halfLife)
	if e.N < 1 {
		return prior
	}
	return e.K / e.N
}

// sketch is a small log-bucketed histogram of positive durations (a DDSketch with a fixed
// range): relative accuracy about 2.5% from 100 µs to about 2.8 hours. Counts decay so that it
// forgets slowly.
type sketch struct {
	Bins  [sketchBins]float32
	Total float32
}

const (
	sketchGamma = 1.05
	sketchMin   = 1e-4 // seconds
	sketchBins  = 360
)

var log2Gamma = math.Log2(sketchGamma)

// log2Mantissa[i] is log2(1 + (i+0.5)/256): fastLog2 reads the exponent from the float's bits and
// the mantissa's logarithm from this table, to within 0.003 (a 0.2% relative error, against bins
// 5% wide), at a fraction of math.Log's cost on the per-call path.
var log2Mantissa = func() (t [256]float64) {
	for i := range t {
		t[i] = math.Log2(1 + (float64(i)+0.5)/256)
	}
	return t
}()

func fastLog2(x float64) float64 {
	bits := math.Float64bits(x)
	exp := int((bits>>52)&0x7ff) - 1023
	return float64(exp) + log2Mantissa[(bits>>44)&0xff]
}

func sketchIndex(seconds float64) int {
	if !(seconds > sketchMin) { // also NaN
		return 0
	}
	i := int(fastLog2(seconds/sketchMin) / log2Gamma)
	return min(i, sketchBins-1)
}

func (s *sketch) add(d time.Duration) { s.addIndex(sketchIndex(d.Seconds())) }

// sketchMaxTotal keeps the float32 counts exact: past it, every count is halved, so that the
// sketch weighs at most about a million recent samples (float32 stops adding 1 past 2^24, and a
// saturated total would bias every quantile low).
const sketchMaxTotal = 1 << 20

func (s *sketch) addIndex(i int) {
	s.Bins[i]++
	s.Total++
	if s.Total >= sketchMaxTotal {
		s.scale(0.5)
	}
}

// scale multiplies every count by f: how the sketch forgets.
func (s *sketch) scale(f float32) {
	for i := range s.Bins {
		s.Bins[i] *= f
	}
	s.Total *= f
}

// quantile returns the q-quantile (the upper edge of its bin), or 0 when empty.
func (s *sketch) quantile(q float64) time.Duration {
	if s.Total <= 0 {
		return 0
	}
	target := float32(q) * s.Total
	var acc float32
	for i, c := range s.Bins {
		acc += c
		if acc >= target && c > 0 {
			return time.Duration(sketchMin * math.Pow(sketchGamma, float64(i+1)) * float64(time.Second))
		}
	}
	return time.Duration(sketchMin * math.Pow(sketchGamma, sketchBins) * float64(time.Second))
}

// peakRate tracks λ_ref's input: the peak one-minute call rate of each of the last seven days.
type peakRate struct {
	Minute      int64 // unix minute of the current count
	MinuteCount float64
	Day         int64 // unix day of Peaks[0]
	Peaks       [7]float64
}

func (p *peakRate) add(now time.Time, calls float64) {
	m := now.Unix() / 60
	if m != p.Minute {
		p.roll(now)
		p.Minute, p.MinuteCount = m, 0
	}
	p.MinuteCount += calls
}

// roll closes the current minute into the day's peak and shifts the days.
func (p *peakRate) roll(now time.Time) {
	if p.Minute != 0 {
		r := p.MinuteCount / 60
		day := p.Minute / 1440
		if day > p.Day {
			shift := min(day-p.Day, 7)
			copy(p.Peaks[shift:], p.Peaks[:7-shift])
			clear(p.Peaks[:shift])
			p.Day = day
		}
		if day == p.Day {
			p.Peaks[0] = max(p.Peaks[0], r)
		}
	}
	_ = now
}

// peak returns the highest one-minute rate of the last seven days, including the minute under
// way (counted as if it had ended).
func (p *peakRate) peak() float64 {
	r := p.MinuteCount / 60
	for _, v := range p.Peaks {
		r = max(r, v)
	}
	return r
}

// decayTable holds 2^(−k/T) for k = 0…1023 seconds, for one half-life T: series.age reads its
// factors from tables so that the per-call path has no Exp2. Each engine builds its own
// (decayTables, at NewEngine: 24 KB), so engines share no state.
type decayTable struct {
	halfLife time.Duration
	f        [1024]float64
}

func newDecayTable(halfLife time.Duration) *decayTable {
	t := &decayTable{halfLife: halfLife}
	for k := range t.f {
		t.f[k] = math.Exp2(-float64(k) / halfLife.Seconds())
	}
	return t
}

// factor returns 2^(−secs/T), from the table for the common short gaps.
func (t *decayTable) factor(secs int64) float64 {
	if secs >= int64(len(t.f)) {
		return math.Exp2(-float64(secs) / t.halfLife.Seconds())
	}
	return t.f[secs]
}

// decayTables are an engine's tables, one per half-life series.age uses: the figures', the call
// rate's and the baselines' EWMA (Config.BaselineHalfLife).
type decayTables struct {
	figures, callRate, base *decayTable
}

func newDecayTables(baseHalfLife time.Duration) decayTables {
	return decayTables{
		figures:  newDecayTable(figuresHalfLife),
		callRate: newDecayTable(callRateHalfLife),
		base:     newDecayTable(baseHalfLife),
	}
}
