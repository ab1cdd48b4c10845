package forward

import (
	"sync"
	"time"

	"github.com/outagewatch/outagewatch/detectors"
)

// queued is a call waiting to be forwarded, with the time it was enqueued (since queue.start,
// on the monotonic clock).
type queued struct {
	call detectors.Call
	at   time.Duration
}

// queue is the bounded FIFO between ConsumeCalls and the stream. put never blocks: what does
// not fit is refused.
type queue struct {
	start time.Time
	limit int
	mu    sync.Mutex
	// items[head:] are waiting, at most limit of them. Taken items are cleared (their strings
	// released) and the slice compacted once head passes half its length, so len(items) stays
	// below 2*limit and every item is copied O(1) times.
	items []queued
	head  int
}

func newQueue(limit int) *queue { return &queue{start: time.Now(), limit: limit} }

// put appends as many of calls as fit and returns how many it took and how many now wait.
func (q *queue) put(calls []detectors.Call) (took, waiting int) {
	at := time.Since(q.start)
	q.mu.Lock()
	defer q.mu.Unlock()
	took = min(len(calls), q.limit-(len(q.items)-q.head))
	for i := range took {
		q.items = append(q.items, queued{call: calls[i], at: at})
	}
	return took, len(q.items) - q.head
}

// take moves up to max waiting calls to dst, oldest first, if at least least are waiting. It
// returns dst and the enqueue time of its first call.
func (q *queue) take(dst []detectors.Call, least, max int) ([]detectors.Call, time.Duration) {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := min(len(q.items)-q.head, max)
	if n == 0 || n < least {
		return dst, 0
	}
	taken := q.items[q.head : q.head+n]
	oldest := taken[0].at
	for i := range taken {
		dst = append(dst, taken[i].call)
	}
	clear(taken)
	q.head += n
	if q.head > len(q.items)/2 {
		m := copy(q.items, q.items[q.head:])
		clear(q.items[m:])
		q.items, q.head = q.items[:m], 0
	}
	return dst, oldest
}

// len returns the number of waiting calls.
func (q *queue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items) - q.head
}
