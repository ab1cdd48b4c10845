package genaimetrics

import (
	"container/list"
	"encoding/binary"
	"hash/maphash"
	"slices"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// streamKey identifies one stream: a metric name, its resource, scope and data point
// attributes, hashed to 128 bits (two seeded 64-bit hashes), so that a stream's state is a few
// words whatever its attributes. Two streams share a key with a probability of about 2^-128
// per pair.
type streamKey [2]uint64

// streamState is what a cumulative stream keeps of its last point.
type streamState struct {
	key   streamKey
	start uint64 // start timestamp, unix nanoseconds
	time  uint64 // timestamp of the last point
	count uint64
	sum   float64
	elem  *list.Element
}

// streamTable keeps the last point of at most max cumulative streams; beyond that the stream
// updated least recently is forgotten first. A forgotten stream seen again counts from its
// next point on (its first point again sets the baseline): the keys of the last max streams
// forgotten are kept for that, 16 bytes each.
type streamTable struct {
	max     int
	m       map[streamKey]*streamState
	lru     list.List // front: most recently updated; values are *streamState
	evicted uint64
	// gone remembers the keys of the last max streams forgotten (ring holds them in order, next
	// is where the next one goes): a forgotten stream seen again must set its baseline, not
	// count every call since its start a second time.
	gone map[streamKey]struct{}
	ring []streamKey
	next int
}

func newStreamTable(max int) *streamTable {
	return &streamTable{max: max, m: make(map[streamKey]*streamState), gone: make(map[streamKey]struct{})}
}

// get returns the state of k, or nil.
func (t *streamTable) get(k streamKey) *streamState { return t.m[k] }

// put stores the state of k after a point (start, time, count, sum), evicting the oldest stream
// when the table is full.
func (t *streamTable) put(k streamKey, start, time, count uint64, sum float64) {
	if s := t.m[k]; s != nil {
		s.start, s.time, s.count, s.sum = start, time, count, sum
		t.lru.MoveToFront(s.elem)
		return
	}
	for len(t.m) >= t.max && t.lru.Len() > 0 {
		old := t.lru.Remove(t.lru.Back()).(*streamState)
		delete(t.m, old.key)
		t.evicted++
		t.forget(old.key)
	}
	s := &streamState{key: k, start: start, time: time, count: count, sum: sum}
	s.elem = t.lru.PushFront(s)
	t.m[k] = s
}

// forget remembers k as forgotten, forgetting the oldest such key beyond max.
func (t *streamTable) forget(k streamKey) {
	if len(t.ring) < t.max {
		t.ring = append(t.ring, k)
	} else {
		delete(t.gone, t.ring[t.next])
		t.ring[t.next] = k
		t.next = (t.next + 1) % t.max
	}
	t.gone[k] = struct{}{}
}

// forgotten reports whether k is a stream forgotten lately.
func (t *streamTable) forgotten(k streamKey) bool {
	_, ok := t.gone[k]
	return ok
}

// hasher builds stream keys. Its seeds are the process's: keys are never stored.
type hasher struct {
	seeds [2]maphash.Seed
	kv    []string // scratch: sorted key=value pairs
	buf   strings.Builder
}

func newHasher() *hasher {
	return &hasher{seeds: [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}}
}

// streamID is what names a stream but its data point's attributes: the metric's name, its
// resource's attributes and its scope.
type streamID struct {
	name           string
	res            pcommon.Map
	scope, version string
}

// key hashes a stream: id and a data point's attributes. Attributes are sorted, so that their
// order in an export does not make a new stream.
func (h *hasher) key(id streamID, attrs pcommon.Map) streamKey {
	h.buf.Reset()
	writeField(&h.buf, id.name)
	h.writeMap(id.res)
	writeField(&h.buf, id.scope)
	writeField(&h.buf, id.version)
	h.writeMap(attrs)
	s := h.buf.String()
	return streamKey{maphash.String(h.seeds[0], s), maphash.String(h.seeds[1], s)}
}

func (h *hasher) writeMap(m pcommon.Map) {
	h.kv = h.kv[:0]
	var b strings.Builder
	for k, v := range m.All() {
		b.Reset()
		writeField(&b, k)
		writeField(&b, v.Type().String())
		writeField(&b, v.AsString())
		h.kv = append(h.kv, b.String())
	}
	slices.Sort(h.kv)
	writeUvarint(&h.buf, uint64(len(h.kv)))
	for _, kv := range h.kv {
		h.buf.WriteString(kv)
	}
}

// writeField writes s with its length first, so that no two sequences of fields write the same
// bytes.
func writeField(b *strings.Builder, s string) {
	writeUvarint(b, uint64(len(s)))
	b.WriteString(s)
}

func writeUvarint(b *strings.Builder, n uint64) {
	var buf [binary.MaxVarintLen64]byte
	b.Write(binary.AppendUvarint(buf[:0], n))
}
