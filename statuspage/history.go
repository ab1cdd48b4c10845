package statuspage

import (
	"context"
	"iter"
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
	// skipped counts samples of series refused because MaxSeries were kept already.
	skipped uint64
}

// sample is a Point stored compactly: charts need no more than float32 precision, and a full
// History is 4,096 × 360 of them.
type sample struct {
	at int64 // Unix nanoseconds
	v  [4]float32
}

// ring holds a series' last samples; next is where the next one goes.
type ring struct {
	buf  []sample
	next int
	last time.Time
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
			h.series[s.Series] = r
		}
		r.push(h.size, now, s.Figures)
	}
	for k, r := range h.series {
		if now.Sub(r.last) > h.keep {
			delete(h.series, k)
		}
	}
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
		out = append(out, r.buf[(r.next+i)%len(r.buf)].point())
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
			if !yield(r.buf[(r.next+i)%len(r.buf)].point()) {
				return
			}
		}
	}
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
