package engine

import (
	"sync"

	"github.com/outagewatch/outagewatch/detectors"
)

// fanout is the bounded, ordered hand-off of published changes from the engine's lock to the
// goroutine that delivers them. Statuses coalesce (only the newest matter: they replace the
// board's whole table), transitions queue in order, at most limit of them: when the queue is
// full the engine waits for the consumer (back-pressure, counted) rather than drop a
// transition, which would leave an incident open or a router failed over for ever. The
// consumers are in memory and never wait on I/O, so a wait is short; a slow store waits in the
// incident manager's own queue, never here.
type fanout struct {
	mu       sync.Mutex
	taken    *sync.Cond // signalled when the consumer takes the queue
	statuses []detectors.Status
	fresh    bool // statuses were pushed since the last delivery
	trans    []detectors.Transition
	limit    int
	// stopped is set when the delivering goroutine has ended: pushes no longer wait.
	stopped bool
	// spare holds the slices of the last delivery, for reuse.
	spareS []detectors.Status
	spareT []detectors.Transition

	// wake tells the consumer there is work.
	wake chan struct{}
	// delivering serialises deliveries, so that they happen in push order.
	delivering sync.Mutex
	m          *metrics
}

func newFanout(limit int, m *metrics) *fanout {
	f := &fanout{limit: limit, wake: make(chan struct{}, 1), m: m}
	f.taken = sync.NewCond(&f.mu)
	return f
}

// push queues a copy of statuses and trs.
func (f *fanout) push(statuses []detectors.Status, trs []detectors.Transition) {
	f.mu.Lock()
	if len(f.trans) > 0 && len(f.trans)+len(trs) > f.limit && !f.stopped {
		f.m.fanoutWaits.Inc()
		for len(f.trans) > 0 && len(f.trans)+len(trs) > f.limit && !f.stopped {
			f.taken.Wait()
		}
	}
	f.statuses = append(f.statuses[:0], statuses...)
	f.fresh = true
	f.trans = append(f.trans, trs...)
	f.mu.Unlock()
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

// depth returns the transitions waiting for delivery.
func (f *fanout) depth() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.trans)
}

// drain delivers what is queued, if anything, to handle.
func (f *fanout) drain(handle func([]detectors.Status, []detectors.Transition)) {
	f.delivering.Lock()
	defer f.delivering.Unlock()
	f.mu.Lock()
	if !f.fresh && len(f.trans) == 0 {
		f.mu.Unlock()
		return
	}
	s, t := f.statuses, f.trans
	f.statuses, f.trans, f.fresh = f.spareS[:0], f.spareT[:0], false
	f.taken.Broadcast()
	f.mu.Unlock()

	handle(s, t)

	f.mu.Lock()
	f.spareS, f.spareT = s, t
	f.mu.Unlock()
}

// stop marks the consumer gone: pushes stop waiting and queue for a last drain.
func (f *fanout) stop() {
	f.mu.Lock()
	f.stopped = true
	f.taken.Broadcast()
	f.mu.Unlock()
}
