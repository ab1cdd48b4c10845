package receiver

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"net/http/httptest"
)

// BenchmarkGzipBombs sends 64 gzip bombs (16 KB inflating to 16 MiB) at once, per iteration,
// to the OTLP/HTTP and gRPC receivers, with the default budget (128 MiB) and without one, and
// reports the peak heap (runtime/metrics, sampled every millisecond), the peak RSS and the peak
// bytes charged. The bound is asserted here, on a reported figure, not in a timed unit test:
// with the budget, the heap may not pass 512 MiB, a container's size.
//
//	go test ./ingest/receiver -run '^$' -bench GzipBombs -benchtime 3x
func BenchmarkGzipBombs(b *testing.B) {
	for _, proto := range []string{"http", "grpc"} {
		for _, bounded := range []bool{true, false} {
			name := proto + "/budget=128MiB"
			if !bounded {
				name = proto + "/unbounded"
			}
			b.Run(name, func(b *testing.B) {
				var adm *Admission
				if bounded {
					adm = NewAdmission(AdmissionOptions{MaxBytesInFlight: 128 << 20, MaxWaiters: 128, MaxWait: 2 * time.Second})
				}
				send := bombSender(b, proto, adm)
				var peak peakSampler
				runtime.GC()
				stop := peak.start()
				var refused, other atomic.Int64
				for b.Loop() {
					var wg sync.WaitGroup
					for range bombs {
						wg.Go(func() {
							switch send() {
							case "refused":
								refused.Add(1)
							case "other":
								other.Add(1)
							}
						})
					}
					wg.Wait()
				}
				stop()
				b.ReportMetric(float64(peak.heap.Load())/(1<<20), "peak-heap-MB")
				b.ReportMetric(float64(peak.rss.Load())/(1<<20), "peak-rss-MB")
				b.ReportMetric(float64(refused.Load())/float64(b.N), "refused/op")
				if adm != nil {
					b.ReportMetric(float64(adm.snapshot().peak)/(1<<20), "peak-charged-MB")
					if h := peak.heap.Load(); h > 512<<20 {
						b.Errorf("peak heap %d MiB with a 128 MiB budget", h>>20)
					}
				}
				if other.Load() > 0 {
					b.Errorf("%d bombs got neither 400/InvalidArgument nor a retryable refusal", other.Load())
				}
			})
		}
	}
}

// bombSender returns a function sending one bomb and classifying the answer: "ok" (decoded and
// refused as malformed), "refused" (retryable), "other".
func bombSender(b *testing.B, proto string, adm *Admission) func() string {
	b.Helper()
	if proto == "grpc" {
		conn := dialGRPC(b, startGRPC(b, &decodingSink{}, adm), grpc.WithCompressor(grpcBombCompressor{})) //nolint:staticcheck // legacy: sends the bomb as is
		return func() string {
			switch exportRaw(conn, []byte{0}).Code() {
			case codes.InvalidArgument:
				return "ok"
			case codes.ResourceExhausted:
				return "refused"
			}
			return "other"
		}
	}
	srv := httptest.NewServer(NewHTTPHandler(&decodingSink{}, NewMetrics(prometheus.NewRegistry()), bombLimit, adm))
	b.Cleanup(srv.Close)
	return func() string {
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, srv.URL, bytes.NewReader(bombBody()))
		req.Header.Set("Content-Type", contentTypeProto)
		req.Header.Set("Content-Encoding", "gzip")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return "other"
		}
		_ = resp.Body.Close()
		switch resp.StatusCode {
		case http.StatusBadRequest:
			return "ok"
		case http.StatusTooManyRequests:
			return "refused"
		}
		return "other"
	}
}

// peakSampler keeps the highest heap (bytes in heap objects, live or not yet collected) and RSS
// seen.
type peakSampler struct{ heap, rss atomic.Int64 }

func (p *peakSampler) start() (stop func()) {
	done, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			metrics.Read(sample)
			if v := int64(sample[0].Value.Uint64()); v > p.heap.Load() {
				p.heap.Store(v)
			}
			if v := rss(); v > p.rss.Load() {
				p.rss.Store(v)
			}
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	return func() { close(done); <-finished }
}

// rss reads the resident set size from /proc (0 elsewhere).
func rss() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.ParseInt(f[1], 10, 64)
	return pages * int64(os.Getpagesize())
}
