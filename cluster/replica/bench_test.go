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
// first full frame of a stream (with gob's type descriptions), then one-second updates in which
// every series' figures moved and one series went down (a delta: delta.go), and, for
// comparison, the same update carrying every status. ns/op is the diff and encoding of a delta.
func BenchmarkFrameBytes(b *testing.B) {
	prev := boardOf(10_000)
	var buf bytes.Buffer
	enc := gob.NewEncoder(&buf)
	if err := enc.Encode(&frame{Kind: frameFull, Version: 1, Term: 3, SentAt: time.Now().UnixNano(), Statuses: prev}); err != nil {
		b.Fatal(err)
	}
	full := buf.Len()
	next := slices.Clone(prev)
	for i := range next {
		next[i].Figures.CallRate += 0.01
		next[i].Figures.ErrorRate += 1e-4
		next[i].Figures.LatencyP95 += time.Millisecond
		next[i].Figures.Calls += 3
	}
	next[1].State, next[1].Evidence = detectors.StateDown, downEvidence
	trs := []detectors.Transition{{Series: next[1].Series, From: detectors.StateHealthy, To: detectors.StateDown, At: t0, Evidence: downEvidence}}
	var update int
	b.ResetTimer()
	for range b.N {
		buf.Reset()
		changed, figures, ok := diff(prev, next)
		if !ok {
			b.Fatal("no delta")
		}
		if err := enc.Encode(&frame{Kind: frameUpdate, Version: 2, Term: 3, SentAt: time.Now().UnixNano(), Transitions: trs,
			Delta: true, Changed: changed, Figures: figures}); err != nil {
			b.Fatal(err)
		}
		update = buf.Len()
	}
	b.StopTimer()
	buf.Reset()
	if err := enc.Encode(&frame{Kind: frameUpdate, Version: 2, Term: 3, SentAt: time.Now().UnixNano(), Transitions: trs, Statuses: next}); err != nil {
		b.Fatal(err)
	}
	whole := buf.Len()
	buf.Reset()
	if err := enc.Encode(&frame{Kind: frameHeartbeat, Version: 2, Term: 3, SentAt: time.Now().UnixNano()}); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(full), "full-bytes")
	b.ReportMetric(float64(update), "delta-bytes")
	b.ReportMetric(float64(whole), "whole-update-bytes")
	b.ReportMetric(float64(buf.Len()), "heartbeat-bytes")
}

// BenchmarkFrameDecode is the follower's side of the update above (every figure moved, one
// status changed), for 10,000 series: decoding the delta, patching and installing it with
// Replicate.
func BenchmarkFrameDecode(b *testing.B) {
	prev := boardOf(10_000)
	next := slices.Clone(prev)
	for i := range next {
		next[i].Figures.CallRate += 0.01
	}
	next[1].State = detectors.StateDown
	changed, figures, _ := diff(prev, next)
	pr, pw := io.Pipe()
	enc := gob.NewEncoder(pw)
	go func() {
		_ = enc.Encode(&frame{Kind: frameFull, Version: 1, Statuses: prev})
		for range b.N {
			_ = enc.Encode(&frame{Kind: frameUpdate, Version: 1, Delta: true, Changed: changed, Figures: figures})
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
	cur := first.Statuses
	b.ResetTimer()
	for range b.N {
		var f frame
		if err := dec.Decode(&f); err != nil {
			b.Fatal(err)
		}
		statuses, err := patch(cur, f.Changed, f.Figures)
		if err != nil {
			b.Fatal(err)
		}
		board.Replicate(f.Version, statuses, f.Transitions)
	}
	b.StopTimer()
	_, _ = io.Copy(io.Discard, pr)
}
