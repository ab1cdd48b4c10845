package health

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/outagewatch/outagewatch/detectors"
)

// BenchmarkProviderEndpointHTTP measures GET /v1/health/{provider} over loopback HTTP/1.1 with
// keep-alive, from parallel clients (client and server share the machine's cores).
func BenchmarkProviderEndpointHTTP(b *testing.B) {
	board, _ := fixture()
	mux := http.NewServeMux()
	NewAPI(board, HTTPOptions{}).Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	client := &http.Client{Transport: tr}
	url := srv.URL + "/v1/health/anthropic/claude-sonnet-4-5"
	b.SetParallelism(8)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := client.Get(url)
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusServiceUnavailable {
				b.Errorf("status %d", resp.StatusCode)
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
}

// BenchmarkProviderEndpointHandler measures the handler alone, without the network.
func BenchmarkProviderEndpointHandler(b *testing.B) {
	board, _ := fixture()
	mux := http.NewServeMux()
	NewAPI(board, HTTPOptions{}).Register(mux)
	req := httptest.NewRequest(http.MethodGet, "/v1/health/anthropic", nil)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			rec := httptest.NewRecorder()
			mux.ServeHTTP(rec, req)
		}
	})
}

// deliveryBench flips a series between down and healthy b.N times and measures the time from
// each board update to its delivery to a watcher, which reports through got.
func deliveryBench(b *testing.B, board *Board, statuses []detectors.Status, got <-chan time.Time) {
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		from, to := statuses[4].State, detectors.StateDown
		if from == detectors.StateDown {
			to = detectors.StateHealthy
		}
		statuses[4].State = to
		sent := time.Now()
		board.Update(statuses, []detectors.Transition{{Series: statuses[4].Series, From: from, To: to}})
		select {
		case at := <-got:
			lat = append(lat, at.Sub(sent))
		case <-time.After(5 * time.Second):
			b.Fatal("change not delivered")
		}
	}
	b.StopTimer()
	slices.Sort(lat)
	var sum time.Duration
	for _, l := range lat {
		sum += l
	}
	b.ReportMetric(float64(sum.Microseconds())/float64(len(lat)), "µs-mean")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "µs-p99")
}

func BenchmarkDeliveryLongPoll(b *testing.B) {
	board, statuses := fixture()
	waiting := waitingSignal(board)
	mux := http.NewServeMux()
	NewAPI(board, HTTPOptions{}).Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	got := make(chan time.Time, 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var after atomic.Uint64
	after.Store(board.Version())
	go func() {
		for ctx.Err() == nil {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/v1/health?wait=30s&after="+uitoa(after.Load()), nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			now := time.Now()
			v := strings.Trim(strings.TrimPrefix(resp.Header.Get("ETag"), "W/"), `"`)
			if v != uitoa(after.Load()) {
				after.Store(atou(v))
				got <- now
			}
		}
	}()
	waitFor(b, waiting, "the first long-poll to wait")
	deliveryBench(b, board, statuses, got)
}

func BenchmarkDeliverySSE(b *testing.B) {
	board, statuses := fixture()
	mux := http.NewServeMux()
	NewAPI(board, HTTPOptions{}).Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	got := make(chan time.Time, 1)
	resp, err := http.Get(srv.URL + "/v1/health/stream")
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	subscribed := make(chan struct{})
	go func() {
		r := bufio.NewReader(resp.Body)
		first := true
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			switch {
			case strings.HasPrefix(line, "event: snapshot") && first: // a lagging stream gets others
				first = false
				close(subscribed) // the stream follows the board from here
			case strings.HasPrefix(line, "event: change"):
				got <- time.Now()
			}
		}
	}()
	waitFor(b, subscribed, "the snapshot")
	deliveryBench(b, board, statuses, got)
}

func BenchmarkDeliveryGRPCWatch(b *testing.B) {
	board, statuses := fixture()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	s := grpc.NewServer()
	NewGRPCServer(board).Register(s)
	go func() { _ = s.Serve(ln) }()
	defer s.Stop()
	conn, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w, err := healthpb.NewHealthClient(conn).Watch(ctx, &healthpb.HealthCheckRequest{Service: "aws.bedrock/anthropic.claude-3-5-sonnet-20240620-v1:0"})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := w.Recv(); err != nil {
		b.Fatal(err)
	}
	got := make(chan time.Time, 1)
	go func() {
		for {
			if _, err := w.Recv(); err != nil {
				return
			}
			got <- time.Now()
		}
	}()
	deliveryBench(b, board, statuses, got)
}

func uitoa(v uint64) string { return strconv.FormatUint(v, 10) }

func atou(s string) uint64 {
	v, _ := strconv.ParseUint(s, 10, 64)
	return v
}
