package replica

import (
	"bytes"
	"encoding/gob"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/outagewatch/outagewatch/detectors"
	"github.com/outagewatch/outagewatch/health"
)

// BenchmarkLeaderUpdateToFollowerLongPoll measures, over loopback, the time from a leader's
// Board.Update with a transition to the answer of a long-poll waiting on a follower's HTTP API:
// publisher, gob frame, gRPC stream, Replicate, the long-poll's wake and its answer. ns/op is
// that time; p50 and p99 are reported too.
func BenchmarkLeaderUpdateToFollowerLongPoll(b *testing.B) {
	lb, st := healthyBoard()
	l := startLeader(b, lb)
	r := startReplica(b, l.addr, testToken, 2*time.Second)
	r.waitFresh(b)

	// arrived signals that a long-poll reached the follower's handler (it waits at once).
	arrived := make(chan struct{}, 1)
	mux := http.NewServeMux()
	health.NewAPI(r.board, health.HTTPOptions{}).Register(mux)
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		arrived <- struct{}{}
		mux.ServeHTTP(w, req)
	}))
	defer api.Close()
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()

	states := []detectors.State{detectors.StateDown, detectors.StateHealthy}
	var took []time.Duration
	b.ResetTimer()
	for i := range b.N {
		v := lb.Version()
		for r.board.Version() != v {
			<-r.board.Changed()
		}
		done := make(chan time.Time, 1)
		go func() {
			resp, err := client.Get(fmt.Sprintf("%s/v1/health?wait=30s&after=%d", api.URL, v))
			if err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			done <- time.Now()
		}()
		<-arrived
		st = slices.Clone(st)
		from, to := states[(i+1)%2], states[i%2]
		st[1].State = to
		start := time.Now()
		lb.Update(st, []detectors.Transition{{Series: modelKey, From: from, To: to, At: t0, Evidence: downEvidence}})
		took = append(took, (<-done).Sub(start))
	}
	b.StopTimer()
	slices.Sort(took)
	var sum time.Duration
	for _, d := range took {
		sum += d
	}
	b.ReportMetric(float64(sum.Nanoseconds())/float64(len(took)), "ns/op")
	b.ReportMetric(float64(took[len(took)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(took[len(took)*99/100].Microseconds()), "p99-µs")
}

// boardOf returns n series: n/500 providers of 499 models each (with the provider's own), every
// one with figures, a baseline and the evidence of its last change.
func boardOf(n int) []detectors.Status {
	out := make([]detectors.Status, 0, n)
	for p := 0; len(out) < n; p++ {
		prov := fmt.Sprintf("provider-%02d", p)
		for m := 0; m < 500 && len(out) < n; m++ {
			k := detectors.SeriesKey{Provider: prov}
			if m > 0 {
				k.Model = fmt.Sprintf("model-family-%d-2026-06-%02d", m, m%28+1)
			}
			ev := detectors.Evidence{
				Detector: detectors.DetectorRecovery, Observed: 0.011 + float64(m)/1e5, Baseline: 0.012, Threshold: 9.1,
				ChangePoint: t0.Add(-time.Duration(m) * time.Second), Window: time.Duration(m) * time.Millisecond,
				SampleSize: 300 + m, Events: 3, CallRate: 2.5 + float64(m)/100,
			}
			s := status2(k, detectors.StateHealthy, ev)
			s.Figures = detectors.Figures{
				CallRate: 2.5 + float64(m)/100, ErrorRate: 0.01 + float64(m)/1e6, TruncationRate: 0.001, RateLimitRate: 0.002,
				LatencyP95: time.Duration(1+m%7) * time.Second, TTFTP95: time.Duration(300+m) * time.Millisecond, Calls: uint64(1e5 + m),
			}
			out = append(out, s)
		}
	}
	return out
}

// BenchmarkFrameBytes encodes the frames of a board of 10,000 series as a Publisher does: the
// first full frame of a stream (with gob's type descriptions), then a one-second update (every
// status again, with figures moved, and one transition). It reports the bytes of each; ns/op is
// the encoding of an update.
func BenchmarkFrameBytes(b *testing.B) {
	statuses := boardOf(10_000)
	var buf bytes.Buffer
	enc := gob.NewEncoder(&buf)
	if err := enc.Encode(&frame{Kind: frameFull, Version: 1, Term: 3, SentAt: time.Now().UnixNano(), Statuses: statuses}); err != nil {
		b.Fatal(err)
	}
	full := buf.Len()
	upd := &frame{Kind: frameUpdate, Version: 2, Term: 3, Statuses: statuses,
		Transitions: []detectors.Transition{{Series: statuses[1].Series, From: detectors.StateHealthy, To: detectors.StateDown, At: t0, Evidence: downEvidence}}}
	var update int
	b.ResetTimer()
	for range b.N {
		buf.Reset()
		upd.SentAt = time.Now().UnixNano()
		if err := enc.Encode(upd); err != nil {
			b.Fatal(err)
		}
		update = buf.Len()
	}
	b.StopTimer()
	buf.Reset()
	if err := enc.Encode(&frame{Kind: frameHeartbeat, Version: 2, Term: 3, SentAt: time.Now().UnixNano()}); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(full), "full-bytes")
	b.ReportMetric(float64(update), "update-bytes")
	b.ReportMetric(float64(buf.Len()), "heartbeat-bytes")
}

// BenchmarkFrameDecode is the follower's side of an update of 10,000 series: decoding it and
// installing it with Replicate.
func BenchmarkFrameDecode(b *testing.B) {
	statuses := boardOf(10_000)
	pr, pw := io.Pipe()
	enc := gob.NewEncoder(pw)
	go func() {
		_ = enc.Encode(&frame{Kind: frameFull, Version: 1, Statuses: statuses})
		for i := range b.N {
			_ = enc.Encode(&frame{Kind: frameUpdate, Version: uint64(i) + 1, Statuses: statuses})
		}
		pw.Close()
	}()
	dec := gob.NewDecoder(pr)
	board := health.NewBoard()
	var first frame
	if err := dec.Decode(&first); err != nil {
		b.Fatal(err)
	}
	board.Replicate(first.Version, first.Statuses, nil)
	b.ResetTimer()
	for range b.N {
		var f frame
		if err := dec.Decode(&f); err != nil {
			b.Fatal(err)
		}
		board.Replicate(f.Version, f.Statuses, f.Transitions)
	}
	b.StopTimer()
	_, _ = io.Copy(io.Discard, pr)
}
