package wire

import (
	"sync"

	"github.com/outagewatch/outagewatch/ingest/normalize"
)

// Decoder reads OTLP trace requests, as protobuf bytes (the fast path) or as pdata, into the
// records of their LLM calls and provider attempts. It owns the caches of its reads: the
// interned strings of its records (bounded, see interner), its scratch states and its record
// slices; they go with it. It is safe for concurrent use.
type Decoder struct {
	norm    *normalize.Normalizer
	strs    *interner
	states  sync.Pool // *fastState
	records sync.Pool // *[]normalize.Record
}

// New returns a decoder that hands each span to norm.
func New(norm *normalize.Normalizer) *Decoder {
	d := &Decoder{norm: norm, strs: newInterner(internCapacity)}
	d.states.New = func() any { return &fastState{strs: internCache{tab: d.strs}} }
	return d
}

// Batch is one request's reading: the records, and the counts ingest reports.
type Batch struct {
	Records  []normalize.Record
	Spans    int
	Rejected int
	// RejectMsg says why the first rejected span was rejected (for partial success).
	RejectMsg string
}

func (b *Batch) reject(msg string) {
	b.Rejected++
	if b.RejectMsg == "" {
		b.RejectMsg = msg
	}
}

// maxPooledRecords bounds the record slices kept for reuse.
const maxPooledRecords = 8192

// getRecords returns an empty record slice, reused when one was released: records are large,
// and allocating them per request was most of the fast path's garbage.
func (d *Decoder) getRecords() []normalize.Record {
	if p, ok := d.records.Get().(*[]normalize.Record); ok {
		return (*p)[:0]
	}
	return nil
}

// Release gives the records of a batch back for reuse once they have been read; the caller must
// not touch them afterwards. The stale records a pooled slice holds keep only interned strings
// and capped error messages alive.
func (d *Decoder) Release(recs []normalize.Record) {
	if cap(recs) == 0 || cap(recs) > maxPooledRecords {
		return
	}
	d.records.Put(&recs)
}
