package wire

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/outagewatch/outagewatch/internal/spangen"
)

// FuzzFastPathMatchesPdata feeds the same bytes to pdata and to the protobuf fast path: both
// must accept or both reject, and on accept make the same records and counts.
func FuzzFastPathMatchesPdata(f *testing.F) {
	files, _ := filepath.Glob(conventionsDir + "/*.pb")
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		f.Add(ascending(f, b))
	}
	f.Add([]byte(nil))
	for _, b := range [][]byte{spangen.MarshalProto(spangen.GenAIBatch(4, 1)), spangen.MarshalProto(spangen.MixedBatch(16, 0.3, 2))} {
		f.Add(b)
		f.Add(ascending(f, b))
	}
	d := newDecoder()
	f.Fuzz(func(t *testing.T, body []byte) {
		diffPaths(t, d, body)
	})
}
