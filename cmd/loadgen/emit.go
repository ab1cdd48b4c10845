package main

import (
	"container/heap"
	"context"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// spanSpec is one span of a call, decided in full when the call starts. The emitter starts it
// through the SDK with its start timestamp when it (or its first child) ends, and ends it with
// its end timestamp at that time on the wall clock: the exporter sees each span when a real
// application's would have, but no goroutine sleeps through a call.
type spanSpec struct {
	scope    string // instrumentation scope (the tracer's name)
	name     string
	kind     trace.SpanKind
	start    time.Time
	end      time.Time
	attrs    []attribute.KeyValue
	status   codes.Code
	message  string
	events   []eventSpec
	children []*spanSpec

	// Set by the emitter.
	service string // the call's own service.name ("" for the default); link copies the root's
	parent  *spanSpec
	ctx     context.Context
	span    trace.Span
}

// eventSpec is a span event.
type eventSpec struct {
	name  string
	at    time.Time
	attrs []attribute.KeyValue
}

// exceptionEvent is the event an SDK's RecordError adds.
func exceptionEvent(at time.Time, typ, msg string) eventSpec {
	return eventSpec{name: "exception", at: at, attrs: []attribute.KeyValue{
		attribute.String("exception.type", typ), attribute.String("exception.message", msg),
	}}
}

// emitter turns spanSpecs into SDK spans. It is not safe for concurrent use.
type emitter struct {
	tp trace.TracerProvider
	// byService holds the tracer providers of the calls' own services (each its own resource,
	// its own service.name); a call without one uses tp.
	byService map[string]trace.TracerProvider
	tracers   map[tracerKey]trace.Tracer
}

type tracerKey struct{ service, scope string }

func newEmitter(tp trace.TracerProvider) *emitter {
	return newServiceEmitter(tp, nil)
}

// newServiceEmitter emits the calls of each service in byService through its tracer provider,
// the others through tp.
func newServiceEmitter(tp trace.TracerProvider, byService map[string]trace.TracerProvider) *emitter {
	return &emitter{tp: tp, byService: byService, tracers: map[tracerKey]trace.Tracer{}}
}

// tracer returns the tracer of scope in the service's tracer provider.
func (e *emitter) tracer(service, scope string) trace.Tracer {
	k := tracerKey{service, scope}
	tr, ok := e.tracers[k]
	if !ok {
		tp, found := e.byService[service]
		if !found {
			tp = e.tp
		}
		tr = tp.Tracer(scope)
		e.tracers[k] = tr
	}
	return tr
}

// begin starts s, and its parents first, unless already started.
func (e *emitter) begin(s *spanSpec) {
	if s.span != nil {
		return
	}
	ctx := context.Background()
	if s.parent != nil {
		e.begin(s.parent)
		ctx = s.parent.ctx
	}
	s.ctx, s.span = e.tracer(s.service, s.scope).Start(ctx, s.name, trace.WithTimestamp(s.start), trace.WithSpanKind(s.kind),
		trace.WithAttributes(s.attrs...))
}

// finish ends s (starting it first if need be) with its status, events and end time.
func (e *emitter) finish(s *spanSpec) {
	e.begin(s)
	for _, ev := range s.events {
		s.span.AddEvent(ev.name, trace.WithTimestamp(ev.at), trace.WithAttributes(ev.attrs...))
	}
	if s.status != codes.Unset {
		s.span.SetStatus(s.status, s.message)
	}
	s.span.End(trace.WithTimestamp(s.end))
}

// link sets the parent pointers of root's tree and returns its spans children first, in the
// order they must end.
func link(root *spanSpec) []*spanSpec {
	var out []*spanSpec
	var walk func(s *spanSpec)
	walk = func(s *spanSpec) {
		for _, c := range s.children {
			c.parent, c.service = s, s.service
			walk(c)
		}
		out = append(out, s)
	}
	walk(root)
	return out
}

// emitNow emits a whole tree at once, whatever its times: for tests.
func (e *emitter) emitNow(root *spanSpec) {
	for _, s := range link(root) {
		e.finish(s)
	}
}

// schedule starts root now and queues each span's end at its end time; done runs after the
// root has ended.
func (e *emitter) schedule(q *scheduler, root *spanSpec, done func()) {
	spans := link(root)
	e.begin(root)
	for _, s := range spans {
		if s == root {
			q.at(s.end, func() { e.finish(s); done() })
		} else {
			q.at(s.end, func() { e.finish(s) })
		}
	}
}

// scheduler runs functions at their times on one goroutine, in time order (ties in the order
// they were queued).
type scheduler struct {
	q   eventHeap
	seq uint64
}

type event struct {
	at   time.Time
	seq  uint64
	fire func()
}

// at queues f to run at t.
func (s *scheduler) at(t time.Time, f func()) {
	s.seq++
	heap.Push(&s.q, event{at: t, seq: s.seq, fire: f})
}

// run fires the queued functions as their times come, until done reports true (checked after
// every batch), the deadline passes or ctx is cancelled.
func (s *scheduler) run(ctx context.Context, deadline time.Time, done func() bool) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for !done() {
		next := deadline
		if len(s.q) > 0 && s.q[0].at.Before(next) {
			next = s.q[0].at
		}
		if d := time.Until(next); d > 0 {
			timer.Reset(d)
			select {
			case <-ctx.Done():
				return
			case <-timer.C:
			}
		}
		now := time.Now()
		for len(s.q) > 0 && !s.q[0].at.After(now) {
			heap.Pop(&s.q).(event).fire()
		}
		if !now.Before(deadline) || ctx.Err() != nil {
			return
		}
	}
}

type eventHeap []event

func (h eventHeap) Len() int { return len(h) }
func (h eventHeap) Less(i, j int) bool {
	if !h[i].at.Equal(h[j].at) {
		return h[i].at.Before(h[j].at)
	}
	return h[i].seq < h[j].seq
}
func (h eventHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *eventHeap) Push(x any)   { *h = append(*h, x.(event)) }
func (h *eventHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = event{}
	*h = old[:len(old)-1]
	return e
}
