package forward

import (
	"context"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/outagewatch/outagewatch/detectors"
)

// BenchmarkForward measures the cost of forwarding per call: the wire format alone (a batch of
// 1024 realistic calls encoded, decoded, or both), and end to end through a real loopback gRPC
// stream, from ConsumeCalls on a client to the leader's sink. ns/call is wall time; cpu-ns/call
// is the process's CPU time (client and server together) per call.
func BenchmarkForward(b *testing.B) {
	batch := calls(0, DefaultBatchCalls)
	for i := range batch {
		batch[i].ErrorMessage = ""
		batch[i].Outcome, batch[i].ErrorClass, batch[i].HTTPStatus = detectors.OutcomeOK, detectors.ClassNone, 200
	}
	wire := AppendBatch(nil, batch)
	b.Run("encode", func(b *testing.B) {
		buf := make([]byte, 0, len(wire))
		b.ReportAllocs()
		cpu0 := cpuTime()
		for b.Loop() {
			buf = AppendBatch(buf[:0], batch)
		}
		perCall(b, len(batch), cpu0)
		b.ReportMetric(float64(len(wire))/float64(len(batch)), "bytes/call")
	})
	b.Run("decode", func(b *testing.B) {
		into := make([]detectors.Call, 0, len(batch))
		b.ReportAllocs()
		cpu0 := cpuTime()
		for b.Loop() {
			into, _ = DecodeBatch(wire, into[:0])
		}
		perCall(b, len(batch), cpu0)
	})
	b.Run("encode+decode", func(b *testing.B) {
		buf := make([]byte, 0, len(wire))
		into := make([]detectors.Call, 0, len(batch))
		b.ReportAllocs()
		cpu0 := cpuTime()
		for b.Loop() {
			buf = AppendBatch(buf[:0], batch)
			into, _ = DecodeBatch(buf, into[:0])
		}
		perCall(b, len(batch), cpu0)
	})
	b.Run("grpc", func(b *testing.B) { benchmarkGRPC(b, batch) })
}

// perCall reports, for a loop of batches of n calls that began at cpu0, the wall and CPU
// nanoseconds per call and the CPU milliseconds per million calls (on a shared machine the CPU
// time is the steadier figure).
func perCall(b *testing.B, n int, cpu0 time.Duration) {
	total := float64(b.N * n)
	cpu := float64((cpuTime() - cpu0).Nanoseconds()) / total
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/total, "ns/call")
	b.ReportMetric(cpu, "cpu-ns/call")
	b.ReportMetric(cpu, "cpu-ms/1M-calls") // 1e6 calls × ns = ms
}

func benchmarkGRPC(b *testing.B, batch []detectors.Call) {
	var received atomic.Int64
	progress := make(chan struct{}, 1)
	sink := SinkFunc(func(calls []detectors.Call) {
		received.Add(int64(len(calls)))
		select {
		case progress <- struct{}{}:
		default:
		}
	})
	srv := startServer(b, true, ServerOptions{Sink: func() Sink { return sink }})
	var l leaderAt
	l.set(srv.addr)
	c, _ := newTestClient(b, &l, ClientOptions{FlushEvery: DefaultFlushEvery})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()

	// The producer is faster than the stream: it waits for the sink rather than let the queue
	// drop, so that every call is measured.
	const ahead = DefaultQueueCalls / 2
	total := int64(b.N * len(batch))
	cpu0, start := cpuTime(), time.Now()
	var queued int64
	for range b.N {
		for queued-received.Load() > ahead {
			<-progress
		}
		c.ConsumeCalls(batch)
		queued += int64(len(batch))
	}
	for received.Load() < total {
		<-progress
	}
	elapsed, cpu := time.Since(start), cpuTime()-cpu0
	b.ReportAllocs()
	b.ReportMetric(float64(elapsed.Nanoseconds())/float64(total), "ns/call")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(total), "cpu-ns/call")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(total), "cpu-ms/1M-calls")
}

// cpuTime is the CPU time the process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
