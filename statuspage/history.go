package statuspage

import (
	"context"
	"iter"
	"math"
	"sync"
	"time"

	"github.com/outagewatch/outagewatch/detectors"
	"github.com/outagewatch/outagewatch/health"
)

// MaxSeries bounds the series a History keeps. Ingest's caps (providers × models per provider)
// bound the board below it with the default configuration; the cap holds whatever they are set
// to. At 360 points a series, a full History holds about 35 MB.
const MaxSeries = 4096

// Defaults of NewHistory.
const (
	DefaultEvery = 10 * time.Second
	DefaultKeep  = time.Hour
)

// Point is one sample of a series' figures.
type Point struct {
	At             time.Time
	CallRate       float64 // calls per second
	ErrorRate      float64 // provider errors per call
	TruncationRate float64 // truncated calls per call that produced output
	LatencyP95     time.Duration
}

// History keeps the recent figures of every series of the board, sampled at a fixed interval,
// in one fixed-size ring per series, for the page's charts. Its memory is bounded: keep/every
// points per series and at most MaxSeries series; a series that has not been sampled for keep
// (gone from the board) is dropped. It is safe for concurrent use: Run (or Sample) writes, the
// page reads.
type History struct {
	board *health.Board
	every time.Duration
	keep  time.Duration
	size  int // points per series

	mu     sync.RWMutex
	series map[detectors.SeriesKey]*ring
	// lastAt is the time of the last Sample: a series first seen after it had no calls then.
	lastAt time.Time
	// skipped counts samples of series refused because MaxSeries were kept already.
	skipped uint64
}

// sample is a Point stored compactly: charts need no more than float32 precision, and a full
// History is 4,096 × 360 of them.
type sample struct {
	at int64 // Unix nanoseconds
	v  [4]float32
}

// ring holds a series' last samples; next is where the next one goes. Its samples keep the
// engine's call-rate figure as it is (a decayed count, see callRateBetween); origin, when not 0,
// is a time (Unix nanoseconds) before its first sample at which the series had no calls: the
// History's previous sample, which did not see it.
type ring struct {
	buf    []sample
	next   int
	last   time.Time
	origin int64
}

// NewHistory returns a History of board's series sampled every every (DefaultEvery when not
// positive) and kept for keep (DefaultKeep when not positive). It starts nothing: call Run.
func NewHistory(board *health.Board, every, keep time.Duration) *History {
	if every <= 0 {
		every = DefaultEvery
	}
	if keep <= 0 {
		keep = DefaultKeep
	}
	size := int((keep + every - 1) / every)
	return &History{board: board, every: every, keep: keep, size: max(size, 1), series: map[detectors.SeriesKey]*ring{}}
}

// Every returns the sampling interval.
func (h *History) Every() time.Duration { return h.every }

// Keep returns how long samples are kept.
func (h *History) Keep() time.Duration { return h.keep }

// Run samples the board every interval until ctx ends, then returns nil.
func (h *History) Run(ctx context.Context) error {
	h.Sample(time.Now())
	t := time.NewTicker(h.every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case now := <-t.C:
			h.Sample(now)
		}
	}
}

// Sample records the current figures of every series of the board at now, and forgets the
// series not sampled for longer than the History keeps.
func (h *History) Sample(now time.Time) {
	_, statuses := h.board.Snapshot()
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, s := range statuses {
		r, ok := h.series[s.Series]
		if !ok {
			if len(h.series) >= MaxSeries {
				h.skipped++
				continue
			}
			r = &ring{buf: make([]sample, 0, min(h.size, 64))}
			if !h.lastAt.IsZero() {
				r.origin = h.lastAt.UnixNano()
			}
			h.series[s.Series] = r
		}
		r.push(h.size, now, s.Figures)
	}
	for k, r := range h.series {
		if now.Sub(r.last) > h.keep {
			delete(h.series, k)
		}
	}
	h.lastAt = now
}

// push appends a sample, overwriting the oldest once the ring holds size of them. The buffer
// grows to size as samples arrive, so a young series costs little.
func (r *ring) push(size int, now time.Time, f detectors.Figures) {
	s := sample{at: now.UnixNano(), v: [4]float32{
		float32(f.CallRate), float32(f.ErrorRate), float32(f.TruncationRate), float32(f.LatencyP95.Seconds()),
	}}
	r.last = now
	if len(r.buf) < size {
		if len(r.buf) == cap(r.buf) {
			// Grow by doubling but never past size: append's own growth left room for 512
			// points where 360 were wanted.
			r.buf = append(make([]sample, 0, min(size, 2*cap(r.buf))), r.buf...)
		}
		r.buf = append(r.buf, s)
		return
	}
	r.buf[r.next] = s
	r.next = (r.next + 1) % size
}

// Series returns the kept samples of a series (a provider's own when key.Model is ""), oldest
// first; nil when there are none.
func (h *History) Series(key detectors.SeriesKey) []Point {
	h.mu.RLock()
	defer h.mu.RUnlock()
	r, ok := h.series[key]
	if !ok {
		return nil
	}
	out := make([]Point, 0, len(r.buf))
	for i := range r.buf {
		out = append(out, r.point(i))
	}
	return out
}

// points yields the kept samples of a series, oldest first, holding the read lock: the page
// draws its charts from them without copying an hour of points per series.
func (h *History) points(key detectors.SeriesKey) iter.Seq[Point] {
	return func(yield func(Point) bool) {
		h.mu.RLock()
		defer h.mu.RUnlock()
		r, ok := h.series[key]
		if !ok {
			return
		}
		for i := range r.buf {
			if !yield(r.point(i)) {
				return
			}
		}
	}
}

// CallRate returns a series' true recent call rate at now, given the engine's current call-rate
// figure (detectors.Figures.CallRate): the calls of about the last minute over its length,
// measured against the series' kept samples. Without a sample to measure against, it returns
// the figure as it is.
func (h *History) CallRate(key detectors.SeriesKey, figure float64, now time.Time) float64 {
	h.mu.RLock()
	defer h.mu.RUnlock()
	r, ok := h.series[key]
	if !ok {
		return figure
	}
	return r.callRate(len(r.buf), now.UnixNano(), figure)
}

// The engine's call-rate figure is a count of calls decayed with a 5-minute half-life, times
// ln 2 over the half-life (detectors.Status): the rate itself once the rate has held for many
// half-lives, but far below it while the series is young (from zero: 8 calls/s for a minute
// reads 1.1/s) and slow to follow a change. The page shows the rate over a recent window instead,
// from the figure at both of its ends.
const (
	// figuresHalfLife is the half-life of the engine's figures (detectors' figuresHalfLife).
	figuresHalfLife = 5 * time.Minute
	// rateWindow is how far back the shown call rate looks.
	rateWindow = time.Minute
)

// callRateBetween is the call rate over (t0, t1] from the engine's call-rate figures r0 at t0 and
// r1 at t1: the figure is K·ln2/T for a decayed count K, and K(t1) = K(t0)·f + the calls of the
// interval decayed to t1, with f = 2^(−Δ/T); for calls at a steady rate r those are
// r·T/ln2·(1−f), so r = (r1 − r0·f)/(1−f). From r0 = 0 at the series' start t0 this is
// N·ln2/(T·(1−2^(−t/T))) for its age t.
func callRateBetween(r0 float64, t0 int64, r1 float64, t1 int64) float64 {
	f := math.Exp2(-float64(t1-t0) / float64(figuresHalfLife))
	return max((r1-r0*f)/(1-f), 0)
}

// callRate is the call rate at t (Unix nanoseconds) from the figure there, measured against the
// samples before logical index i (oldest first) and the origin: the newest of them at least
// rateWindow before t, else the oldest at least a second before it; the figure as it is when
// there is none.
func (r *ring) callRate(i int, t int64, figure float64) float64 {
	type base struct {
		at   int64
		rate float64
	}
	var oldest, chosen *base
	if r.origin != 0 && r.origin <= t-int64(time.Second) {
		oldest = &base{at: r.origin}
		if r.origin <= t-int64(rateWindow) {
			chosen = oldest
		}
	}
	for j := i - 1; j >= 0; j-- {
		s := r.buf[(r.next+j)%len(r.buf)]
		if s.at > t-int64(time.Second) {
			continue
		}
		if s.at <= t-int64(rateWindow) {
			chosen = &base{at: s.at, rate: float64(s.v[0])}
			break
		}
		oldest = &base{at: s.at, rate: float64(s.v[0])}
	}
	if chosen == nil {
		chosen = oldest
	}
	if chosen == nil {
		return figure
	}
	return callRateBetween(chosen.rate, chosen.at, figure, t)
}

// point is the sample at logical index i (oldest first), its call rate measured as callRate says.
func (r *ring) point(i int) Point {
	s := r.buf[(r.next+i)%len(r.buf)]
	p := s.point()
	p.CallRate = r.callRate(i, s.at, float64(s.v[0]))
	return p
}

func (s sample) point() Point {
	return Point{
		At: time.Unix(0, s.at), CallRate: float64(s.v[0]), ErrorRate: float64(s.v[1]),
		TruncationRate: float64(s.v[2]), LatencyP95: time.Duration(float64(s.v[3]) * float64(time.Second)),
	}
}

// Len returns the number of series kept, and the samples refused because MaxSeries were kept.
func (h *History) Len() (series int, skipped uint64) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(h.series), h.skipped
}
