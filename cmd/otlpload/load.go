package main

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// result classifies the answer to one export request.
type result int

const (
	// resultOK: the receiver accepted the request (possibly partially).
	resultOK result = iota
	// resultRefused: the receiver asked to retry later (HTTP 429/503, gRPC
	// Unavailable/ResourceExhausted).
	resultRefused
	// resultFailed: anything else (transport error, bad status, bad response).
	resultFailed
)

// outcome is what a sender learnt from one request.
type outcome struct {
	result result
	// rejected is the partial-success rejected_spans count of an OK answer.
	rejected int64
	// err describes a refusal or failure.
	err error
}

// sender sends one pre-marshalled export request and classifies the answer.
// Implementations are safe for concurrent use; worker is the caller's index
// in [0, connections), so a sender can give each worker its own connection.
// The body is shared and must not be modified.
type sender interface {
	send(ctx context.Context, worker int, r request) outcome
	close()
}

// Backoff after a refusal or failure: start small and double up to a cap,
// so a refusing daemon (or a dead endpoint) is not hammered in a tight loop
// while the run still measures it.
const (
	minBackoff = 2 * time.Millisecond
	maxBackoff = 50 * time.Millisecond
)

// loader runs workers that cycle through the pre-built requests.
type loader struct {
	s       sender
	reqs    []request
	workers int

	ok, refused, failed atomic.Int64
	accepted, rejected  atomic.Int64
	mu                  sync.Mutex
	lastErr             string // last failure; guarded by mu
}

func newLoader(s sender, reqs []request, workers int) *loader {
	return &loader{s: s, reqs: reqs, workers: workers}
}

// loadResult is the tally of one run.
type loadResult struct {
	elapsed             time.Duration
	ok, refused, failed int64
	accepted, rejected  int64
	meanBodyBytes       int
	lastErr             string
}

// run sends until d has passed or ctx is cancelled, then waits for the
// workers. Requests cut off by the deadline are not counted.
func (l *loader) run(ctx context.Context, d time.Duration) loadResult {
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	end, _ := ctx.Deadline() // the earlier of start+d and the caller's deadline
	var wg sync.WaitGroup
	for w := range l.workers {
		wg.Go(func() { l.work(ctx, w, end) })
	}
	wg.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	return loadResult{
		elapsed:       time.Since(start),
		ok:            l.ok.Load(),
		refused:       l.refused.Load(),
		failed:        l.failed.Load(),
		accepted:      l.accepted.Load(),
		rejected:      l.rejected.Load(),
		meanBodyBytes: meanBodySize(l.reqs),
		lastErr:       l.lastErr,
	}
}

// work is one worker's loop until end. Worker w starts at request w so the
// workers do not send the same body in lockstep.
//
// The clock is checked besides ctx because gRPC fails a call whose deadline
// has passed at once, before the context's own timer has cancelled it:
// relying on ctx.Err alone would count a burst of DeadlineExceeded failures.
func (l *loader) work(ctx context.Context, w int, end time.Time) {
	var backoff time.Duration
	for i := w; ctx.Err() == nil && time.Now().Before(end); i += l.workers {
		r := l.reqs[i%len(l.reqs)]
		o := l.s.send(ctx, w, r)
		if o.result != resultOK && (ctx.Err() != nil || !time.Now().Before(end)) {
			return // cut off by the deadline, not an answer from the receiver
		}
		l.record(r, o)
		if o.result == resultOK {
			backoff = 0
			continue
		}
		backoff = min(max(2*backoff, minBackoff), maxBackoff)
		sleep(ctx, backoff)
	}
}

// record tallies one outcome.
func (l *loader) record(r request, o outcome) {
	switch o.result {
	case resultOK:
		l.ok.Add(1)
		rejected := min(max(o.rejected, 0), r.spans)
		l.rejected.Add(rejected)
		l.accepted.Add(r.spans - rejected)
		return
	case resultRefused:
		l.refused.Add(1)
		return
	}
	l.failed.Add(1)
	if o.err != nil {
		l.mu.Lock()
		l.lastErr = o.err.Error()
		l.mu.Unlock()
	}
}

// sleep waits for d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
