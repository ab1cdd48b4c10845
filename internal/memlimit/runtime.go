package memlimit

import rtmetrics "runtime/metrics"

// The runtime/metrics samples RuntimeReader reads. Reading them does not stop the world.
const (
	metricTotal    = "/memory/classes/total:bytes"
	metricReleased = "/memory/classes/heap/released:bytes"
	metricFree     = "/memory/classes/heap/free:bytes"
	metricObjects  = "/memory/classes/heap/objects:bytes"
	metricLive     = "/gc/heap/live:bytes"
)

// RuntimeReader reads the memory the process cannot give back: all the memory the Go runtime
// has mapped, less what it returned to the OS, its free heap pages and the dead objects not yet
// collected. That is about what the process would hold just after a collection: the live heap,
// stacks, fragmentation and the runtime's own metadata. Garbage is left out on purpose, since
// the soft limit makes the collector reclaim it before the ceiling; what the collector cannot
// reclaim is what shedding must keep down. Memory outside the Go runtime (cgo) is not counted;
// outagewatch has none.
//
// A RuntimeReader is not safe for concurrent use (the Shedder calls it from one goroutine at a
// time).
type RuntimeReader struct {
	samples []rtmetrics.Sample
}

// NewRuntimeReader returns a reader of the Go runtime's memory figures.
func NewRuntimeReader() *RuntimeReader {
	names := []string{metricTotal, metricReleased, metricFree, metricObjects, metricLive}
	r := &RuntimeReader{samples: make([]rtmetrics.Sample, len(names))}
	for i, name := range names {
		r.samples[i].Name = name
	}
	return r
}

// Read returns the memory in use in bytes.
func (r *RuntimeReader) Read() uint64 {
	rtmetrics.Read(r.samples)
	v := make([]int64, len(r.samples))
	for i, s := range r.samples {
		if s.Value.Kind() == rtmetrics.KindUint64 {
			v[i] = int64(s.Value.Uint64())
		}
	}
	total, released, free, objects, live := v[0], v[1], v[2], v[3], v[4]
	return uint64(max(total-released-free-objects+min(live, objects), 0))
}
