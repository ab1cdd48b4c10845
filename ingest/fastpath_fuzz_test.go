package ingest

import (
	"testing"

	"github.com/outagewatch/outagewatch/internal/spangen"
)

// FuzzFastPathMatchesPdata feeds the same bytes to pdata and to the protobuf fast path: both
// must accept or both reject, and on accept make the same records and counts.
func FuzzFastPathMatchesPdata(f *testing.F) {
	seedFuzz(f, func(b []byte, json bool) {
		if !json {
			f.Add(b)
			f.Add(ascending(f, b))
		}
	})
	for _, b := range [][]byte{spangen.MarshalProto(spangen.GenAIBatch(4, 1)), spangen.MarshalProto(spangen.MixedBatch(16, 0.3, 2))} {
		f.Add(b)
		f.Add(ascending(f, b))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		diffPaths(t, body)
	})
}
