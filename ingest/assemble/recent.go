package assemble

import (
	"encoding/binary"
	"math/rand/v2"
	"time"

	"github.com/outagewatch/outagewatch/ingest/normalize"
)

// Flags of recentSet.
const (
	recentParent uint8 = 1 << iota
	recentEmitted
)

// recentSet remembers span keys with flags for at least ttl, in two generations: a key lives
// until the generation after its own is dropped, between ttl and 2·ttl. Dropping a generation is
// one clear, not a delete per key. A generation holds at most maxRecentSpans keys; a full one is
// rotated early, so that memory stays bounded at any rate. Keys are stored as a seeded 64-bit
// hash of the trace and span IDs (a collision, at odds of about 2^-40 with a full set, would drop
// one call).
type recentSet struct {
	ttl      time.Duration
	seed     uint64
	cur, old map[uint64]uint8
	since    time.Time // when cur began
}

func newRecentSet(ttl time.Duration) recentSet {
	return recentSet{ttl: ttl, seed: rand.Uint64(), cur: make(map[uint64]uint8), old: make(map[uint64]uint8)}
}

// add remembers k with flag; the caller calls expire from time to time (the pipeline's tick).
func (s *recentSet) add(now time.Time, k normalize.SpanKey, flag uint8) {
	if len(s.cur) >= maxRecentSpans {
		s.rotate(now)
	}
	s.cur[s.hash(k)] |= flag
}

func (s *recentSet) has(k normalize.SpanKey, flag uint8) bool {
	h := s.hash(k)
	return (s.cur[h]|s.old[h])&flag != 0
}

// hash mixes the key's three words with a per-process seed (trace and span IDs are random
// already; the seed keeps crafted collisions out of reach).
func (s *recentSet) hash(k normalize.SpanKey) uint64 {
	h := (binary.LittleEndian.Uint64(k[0:]) ^ s.seed) * 0x9E3779B97F4A7C15
	h = (h ^ binary.LittleEndian.Uint64(k[8:])) * 0xBF58476D1CE4E5B9
	h = (h ^ binary.LittleEndian.Uint64(k[16:])) * 0x94D049BB133111EB
	return h ^ h>>31
}

// expire drops the generations older than ttl.
func (s *recentSet) expire(now time.Time) {
	switch age := now.Sub(s.since); {
	case age >= 2*s.ttl:
		clear(s.old)
		clear(s.cur)
		s.since = now
	case age >= s.ttl:
		s.rotate(now)
	}
}

func (s *recentSet) rotate(now time.Time) {
	s.old, s.cur = s.cur, s.old
	clear(s.cur)
	s.since = now
}
