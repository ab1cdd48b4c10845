package wire

import (
	"testing"

	"github.com/outagewatch/outagewatch/internal/spangen"
)

// BenchmarkFastPathOnly measures the fast path's extraction alone, without assembly: what the
// receivers' goroutines spend per span before the hand-off.
func BenchmarkFastPathOnly(b *testing.B) {
	for _, bc := range []struct {
		name string
		body []byte
	}{
		{"GenAI512", spangen.MarshalProto(spangen.GenAIBatch(512, 1))},
		{"Mixed512", spangen.MarshalProto(spangen.MixedBatch(512, 0.1, 1))},
	} {
		b.Run(bc.name, func(b *testing.B) {
			d := newDecoder()
			b.SetBytes(int64(len(bc.body)))
			b.ReportAllocs()
			for b.Loop() {
				var res Batch
				if err := d.DecodeProto(bc.body, &res); err != nil {
					b.Fatal(err)
				}
				d.Release(res.Records)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*512), "ns/span")
		})
	}
}
