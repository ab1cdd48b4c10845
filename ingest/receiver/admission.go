package receiver

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// AdmissionOptions bound the request bytes the receivers hold at once (issue 20): compressed
// bodies, decompressed bodies and the buffers they are read into, charged before they are
// allocated. The OTel-Arrow receiver's admission controller (BoundedQueue) is the model: a
// budget in bytes, a bounded line of waiters, and a retryable refusal beyond them.
type AdmissionOptions struct {
	// MaxBytesInFlight is the budget of request bytes held at once, across both receivers.
	MaxBytesInFlight int64
	// MaxWaiters bounds the requests waiting for budget; one more is refused at once.
	MaxWaiters int
	// MaxWait bounds how long a request waits for budget before it is refused.
	MaxWait time.Duration
	// Shed, when set and returning true, refuses new requests at once, without waiting, with the
	// same retryable status (a process memory ceiling passes one). Requests already admitted
	// finish. It is called once per request, from the receivers' goroutines.
	Shed func() bool
}

// Admission is the byte budget of the receivers. It is safe for concurrent use. Requests wait
// in arrival order: one that does not fit holds up the ones behind it, so a large request is
// not starved by a stream of small ones (golang.org/x/sync/semaphore's rule); a request already
// admitted that needs more (a body growing past its hint) goes first when it fits.
type Admission struct {
	opts AdmissionOptions

	mu       sync.Mutex
	inFlight int64     // bytes charged and not yet released
	waiters  list.List // *admissionWaiter, in arrival order
	stats    admissionStats
}

type admissionWaiter struct {
	n     int64
	ready chan struct{} // closed when n is charged to the waiter
}

// admissionStats counts what happened, for tests and the docs' figures.
type admissionStats struct {
	admitted, waited, refused, shed int64
	peak                            int64 // the most bytes charged at once
}

// Refusals. Both are retryable: the receivers answer HTTP 429 with Retry-After and gRPC
// ResourceExhausted with RetryInfo.
var (
	errOverloaded = errors.New("ingest is over its budget of request bytes in flight: retry later")
	errShedding   = errors.New("ingest is shedding load (memory): retry later")
)

// NewAdmission returns the budget of o. A MaxBytesInFlight of 0 or less admits everything.
func NewAdmission(o AdmissionOptions) *Admission { return &Admission{opts: o} }

// InFlight returns the bytes charged now.
func (a *Admission) InFlight() int64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.inFlight
}

// Waiters returns the number of requests waiting for budget now.
func (a *Admission) Waiters() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.waiters.Len()
}

func (a *Admission) snapshot() admissionStats {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.stats
}

// acquire charges n bytes, waiting (in line, at most MaxWait, and while ctx lives) when they do
// not fit. admitted says whether the caller already holds a charge: such growth is not shed and
// skips the line when it fits. It returns errOverloaded, errShedding or ctx's error when nothing
// was charged.
func (a *Admission) acquire(ctx context.Context, n int64, admitted bool) error {
	if a == nil || a.opts.MaxBytesInFlight <= 0 || n <= 0 {
		return nil
	}
	if !admitted && a.opts.Shed != nil && a.opts.Shed() {
		a.count(func(s *admissionStats) { s.shed++ })
		return errShedding
	}
	a.mu.Lock()
	if n > a.opts.MaxBytesInFlight {
		a.stats.refused++
		a.mu.Unlock()
		return fmt.Errorf("%w (a request of %d bytes exceeds the whole budget)", errOverloaded, n)
	}
	if (admitted || a.waiters.Len() == 0) && a.inFlight+n <= a.opts.MaxBytesInFlight {
		a.inFlight += n
		a.stats.admitted++
		a.stats.peak = max(a.stats.peak, a.inFlight)
		a.mu.Unlock()
		return nil
	}
	if a.waiters.Len() >= a.opts.MaxWaiters {
		a.stats.refused++
		a.mu.Unlock()
		return errOverloaded
	}
	w := &admissionWaiter{n: n, ready: make(chan struct{})}
	elem := a.waiters.PushBack(w)
	a.stats.waited++
	a.mu.Unlock()

	timer := time.NewTimer(a.opts.MaxWait)
	defer timer.Stop()
	var err error
	select {
	case <-w.ready:
		return nil
	case <-ctx.Done():
		err = ctx.Err()
	case <-timer.C:
		err = errOverloaded
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	select {
	case <-w.ready: // granted while giving up: hand it back
		a.inFlight -= n
	default:
		a.waiters.Remove(elem)
	}
	a.stats.refused++
	a.grantLocked() // the head leaving may let the next ones in
	return err
}

// release returns n charged bytes and admits the waiters that now fit, in order.
func (a *Admission) release(n int64) {
	if a == nil || a.opts.MaxBytesInFlight <= 0 || n <= 0 {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.inFlight -= n
	if a.inFlight < 0 {
		panic("receiver: admission released more than it charged") // a bug of ours, not input
	}
	a.grantLocked()
}

func (a *Admission) grantLocked() {
	for e := a.waiters.Front(); e != nil; e = a.waiters.Front() {
		w := e.Value.(*admissionWaiter)
		if a.inFlight+w.n > a.opts.MaxBytesInFlight {
			return
		}
		a.inFlight += w.n
		a.stats.admitted++
		a.stats.peak = max(a.stats.peak, a.inFlight)
		a.waiters.Remove(e)
		close(w.ready)
	}
}

func (a *Admission) count(f func(*admissionStats)) {
	a.mu.Lock()
	defer a.mu.Unlock()
	f(&a.stats)
}

// ticket is one request's charge. Not safe for concurrent use: a request is read by one
// goroutine.
type ticket struct {
	a    *Admission
	held int64
	// used says whether anything was ever charged: the first charge is a new request's (shed,
	// in line), the later ones growth.
	used bool
}

// charge adds n bytes to t, waiting as acquire says.
func (t *ticket) charge(ctx context.Context, n int64) error {
	if err := t.a.acquire(ctx, n, t.used); err != nil {
		return err
	}
	t.used = true
	t.held += n
	return nil
}

// refund returns n of t's bytes (a buffer given up before the request ends).
func (t *ticket) refund(n int64) {
	n = min(n, t.held)
	t.held -= n
	t.a.release(n)
}

// release returns everything t holds; it is safe to call more than once.
func (t *ticket) release() { t.refund(t.held) }

// overloaded reports whether err is an admission refusal (or the client's giving up while it
// waited), which the receivers answer with the retryable status.
func overloaded(err error) bool {
	return errors.Is(err, errOverloaded) || errors.Is(err, errShedding) ||
		errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}
