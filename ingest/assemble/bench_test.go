package assemble

import (
	"testing"
	"time"

	"github.com/outagewatch/outagewatch/detectors"
	"github.com/outagewatch/outagewatch/ingest/normalize"
	"github.com/outagewatch/outagewatch/ingest/wire"
	"github.com/outagewatch/outagewatch/internal/spangen"
)

// BenchmarkAssemble measures the assembler alone on the records of a 512-span GenAI request:
// what the pipeline goroutine spends per record before the detectors.
func BenchmarkAssemble(b *testing.B) {
	var res wire.Batch
	if err := wire.New(normalize.New(nil)).DecodeProto(spangen.MarshalProto(spangen.GenAIBatch(512, 1)), &res); err != nil {
		b.Fatal(err)
	}
	a := New(Config{Wait: 6 * time.Second, MaxProviders: 32, MaxModels: 64})
	now := time.Unix(1_782_000_000, 0)
	var calls []detectors.Call
	b.ReportAllocs()
	for b.Loop() {
		now = now.Add(time.Second)
		calls = a.Add(now, res.Records, calls[:0])
		calls = a.Tick(now, calls)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(res.Records)), "ns/record")
}
