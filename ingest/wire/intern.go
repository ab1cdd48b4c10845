package wire

import (
	"hash/maphash"
	"strings"
	"sync/atomic"
)

// internCapacity is the number of strings a Decoder's interner holds at most: far more than
// the providers, models, services and finish reasons of real traffic, few enough (some 64 KiB
// of slots, and strings of at most 128 bytes) to ignore.
const internCapacity = 1 << 13

// interner gives the strings that records keep a copy of their own, shared by every record that
// names the same provider, model, service or finish reason, so that records do not pin the
// request bytes and a recurring name is not copied per call.
//
// It is bounded: a fixed number of slots in sets of two, where a new string takes the first
// slot and moves the set's other string to the second, dropping the older one. A million
// hostile model names leave it at its capacity, and a legitimate name they evicted costs one
// copy when it comes back. It is safe for concurrent use without a lock: each slot is an
// atomic pointer, and a lost race only costs a copy.
type interner struct {
	seed  maphash.Seed
	slots []atomic.Pointer[string]
}

// newInterner returns an interner of capacity slots; capacity must be a power of two, at
// least 2.
func newInterner(capacity int) *interner {
	if capacity < 2 || capacity&(capacity-1) != 0 {
		panic("wire: interner capacity must be a power of two, at least 2")
	}
	return &interner{seed: maphash.MakeSeed(), slots: make([]atomic.Pointer[string], capacity)}
}

// intern returns a string equal to s that does not share s's bytes.
func (t *interner) intern(s string) string {
	i := maphash.String(t.seed, s) & uint64(len(t.slots)-1) &^ 1
	first, second := &t.slots[i], &t.slots[i+1]
	if p := first.Load(); p != nil && *p == s {
		return *p
	}
	if p := second.Load(); p != nil && *p == s {
		return *p
	}
	v := strings.Clone(s)
	if old := first.Swap(&v); old != nil {
		second.Store(old)
	}
	return v
}

// size returns the number of strings held.
func (t *interner) size() int {
	n := 0
	for i := range t.slots {
		if t.slots[i].Load() != nil {
			n++
		}
	}
	return n
}

// capacity returns the number of strings the interner holds at most.
func (t *interner) capacity() int { return len(t.slots) }
