package wire

import (
	"unsafe"

	"github.com/outagewatch/outagewatch/ingest/normalize"
)

// fastState is the scratch space of one fast-path extraction. A Decoder pools its states.
type fastState struct {
	attrs normalize.Attrs
	sd    normalize.Span
	body  []byte
	strs  internCache
	arena []byte
}

// internCache is a small direct-mapped cache in front of the decoder's interner, private to
// one fastState: the same few services, models and finish reasons recur span after span.
type internCache struct {
	tab   *interner
	slots [64]string
}

func (c *internCache) intern(s string) string {
	h := (uint(len(s)) ^ uint(s[0])<<3 ^ uint(s[len(s)-1])<<6 ^ uint(s[len(s)/2])<<1) % uint(len(c.slots))
	if c.slots[h] == s {
		return c.slots[h]
	}
	v := c.tab.intern(s)
	c.slots[h] = v
	return v
}

// inBody reports whether s shares the bytes of the request being extracted.
func (st *fastState) inBody(s string) bool {
	if len(s) == 0 || len(st.body) == 0 {
		return false
	}
	p := uintptr(unsafe.Pointer(unsafe.StringData(s)))
	lo := uintptr(unsafe.Pointer(&st.body[0]))
	return p >= lo && p < lo+uintptr(len(st.body))
}

// ownRecord makes every string of r independent of the request bytes: the low-cardinality ones
// are interned, error messages copied.
func (st *fastState) ownRecord(r *normalize.Record) {
	c := &r.Call
	for _, s := range [...]*string{
		&c.Provider, &c.Model, &c.Operation, &c.FinishReasonRaw, &c.Service, &c.ServiceNamespace,
		&c.Environment, &c.Endpoint, &c.Convention, &r.URLModel, &r.Host, &r.Route,
	} {
		if st.inBody(*s) {
			*s = st.strs.intern(*s)
		}
	}
	if st.inBody(c.ErrorMessage) {
		c.ErrorMessage = st.clone(c.ErrorMessage)
	}
}

// clone copies s into the state's arena: error messages (at most 256 bytes each) share chunks of
// 4 KiB, rather than an allocation each. Bytes once handed out are never written again, so a
// chunk lives on, unchanged, as long as a record holds one of its messages.
func (st *fastState) clone(s string) string {
	if len(s) > cap(st.arena)-len(st.arena) {
		st.arena = make([]byte, 0, max(4096, len(s)))
	}
	start := len(st.arena)
	st.arena = append(st.arena, s...)
	return view(st.arena[start:])
}
