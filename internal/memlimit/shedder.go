package memlimit

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// DefaultInterval is how long a reading of the process's memory is reused.
const DefaultInterval = 100 * time.Millisecond

// ShedderOptions are the Shedder's dependencies; the zero value reads the Go runtime on the
// wall clock and registers no metrics.
type ShedderOptions struct {
	// Interval is how long a reading is reused (DefaultInterval when 0), so that Shed costs an
	// atomic load and a clock read on the request path.
	Interval time.Duration
	// Read returns the process's memory in use in bytes (RuntimeReader's Read when nil). It is
	// called by one goroutine at a time.
	Read func() uint64
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Registerer receives the outagewatch_memory_* metrics (metrics.go) when not nil.
	Registerer prometheus.Registerer
}

// Shedder decides whether to refuse new work for lack of memory: it sheds from when the memory
// in use reaches cfg.ShedAbove of the ceiling until it falls under cfg.ShedBelow (hysteresis).
// With no ceiling it never sheds. A nil *Shedder never sheds. Its methods are safe for
// concurrent use.
type Shedder struct {
	ceiling   int64
	high, low uint64
	interval  time.Duration
	read      func() uint64
	now       func() time.Time
	start     time.Time

	// next is when the reading goes stale, as nanoseconds since start (monotonic); the fast
	// path reads it without the lock.
	next     atomic.Int64
	inUse    atomic.Uint64
	shedding atomic.Bool
	// mu is held by the one goroutine that reads the memory and updates the fields above; the
	// others do not wait for it, they use the last decision.
	mu      sync.Mutex
	metrics *metrics
}

// NewShedder returns a Shedder for the ceiling (bytes, 0 for none) with cfg's thresholds; cfg
// must be valid.
func NewShedder(cfg Config, ceiling int64, opts ShedderOptions) *Shedder {
	s := &Shedder{
		ceiling:  max(ceiling, 0),
		high:     uint64(float64(max(ceiling, 0)) * cfg.ShedAbove),
		low:      uint64(float64(max(ceiling, 0)) * cfg.ShedBelow),
		interval: opts.Interval,
		read:     opts.Read,
		now:      opts.Now,
	}
	if s.interval <= 0 {
		s.interval = DefaultInterval
	}
	if s.read == nil {
		s.read = NewRuntimeReader().Read
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.start = s.now()
	if opts.Registerer != nil {
		s.metrics = newMetrics(opts.Registerer, s)
	}
	return s
}

// Shed reports whether new work should be refused now, with a retryable status (the OTLP
// receivers answer HTTP 429 with Retry-After, gRPC ResourceExhausted with RetryInfo): the memory
// in use is at or above the high-water mark, or has not yet fallen under the low one since it
// was. Each true answer is counted. It has the signature of the ingest receivers' admission
// hook (AdmissionOptions.Shed) and costs a clock read and atomic loads but once per interval.
func (s *Shedder) Shed() bool {
	if s == nil || s.ceiling == 0 {
		return false
	}
	s.refresh()
	if !s.shedding.Load() {
		return false
	}
	if s.metrics != nil {
		s.metrics.shed.Inc()
	}
	return true
}

// Shedding reports the last decision without counting it or reading the memory.
func (s *Shedder) Shedding() bool { return s != nil && s.shedding.Load() }

// InUse returns the memory in use that Shed compares, in bytes, read at most Interval ago.
func (s *Shedder) InUse() uint64 {
	if s == nil {
		return 0
	}
	s.refresh()
	return s.inUse.Load()
}

// Ceiling returns the ceiling in bytes, 0 for none.
func (s *Shedder) Ceiling() int64 {
	if s == nil {
		return 0
	}
	return s.ceiling
}

// refresh reads the memory and updates the decision when the last reading is stale. A caller
// that finds another one reading goes on with the last decision rather than wait.
func (s *Shedder) refresh() {
	now := int64(s.now().Sub(s.start))
	if now < s.next.Load() || !s.mu.TryLock() {
		return
	}
	defer s.mu.Unlock()
	if now < s.next.Load() {
		return
	}
	inUse := s.read()
	s.inUse.Store(inUse)
	switch shedding := s.shedding.Load(); {
	case s.ceiling == 0:
	case !shedding && inUse >= s.high:
		s.shedding.Store(true)
	case shedding && inUse < s.low:
		s.shedding.Store(false)
	}
	s.next.Store(now + int64(s.interval))
}

// Check is the shedder's part of the daemon's readiness (/readyz): an error while it sheds load,
// so that a load balancer sends OTLP to another replica until memory falls under the low mark.
// It reads the memory (at most once per interval) without counting a shed.
func (s *Shedder) Check(context.Context) error {
	if s == nil || s.ceiling == 0 {
		return nil
	}
	s.refresh()
	if s.shedding.Load() {
		return fmt.Errorf("shedding load: %d MiB of memory in use, ceiling %d MiB", s.inUse.Load()>>20, s.ceiling>>20)
	}
	return nil
}
