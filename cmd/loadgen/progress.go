package main

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"
)

// targetStats counts one target's calls once they have ended (their root span emitted).
type targetStats struct {
	key       string
	calls     int64
	ok        int64
	failed    int64 // failed after their retries
	truncated int64
	attempts  int64
	// attemptErrors counts failed HTTP attempts by result (the errors injected).
	attemptErrors [numResults]int64
	// latency sums the durations of the calls that succeeded.
	latency time.Duration
}

func (t *targetStats) add(o *targetStats) {
	t.calls += o.calls
	t.ok += o.ok
	t.failed += o.failed
	t.truncated += o.truncated
	t.attempts += o.attempts
	for i := range t.attemptErrors {
		t.attemptErrors[i] += o.attemptErrors[i]
	}
	t.latency += o.latency
}

// injected is the number of failed attempts, cut streams included.
func (t *targetStats) injected() int64 {
	var n int64
	for r := resultOverloaded; r < numResults; r++ {
		n += t.attemptErrors[r]
	}
	return n
}

// stats is the run's tally. Only the scheduler's goroutine touches it.
type stats struct {
	targets   []targetStats
	inflight  int
	abandoned int
	lastCalls int64 // calls at the last progress line
}

func newStats(sc *scenario) *stats {
	st := &stats{}
	for _, t := range sc.Traffic.Targets {
		st.targets = append(st.targets, targetStats{key: t.label()})
	}
	return st
}

// record counts a call whose spans have all been emitted.
func (s *stats) record(c *callPlan) {
	t := &s.targets[c.target]
	t.calls++
	t.attempts += int64(len(c.attempts))
	for _, a := range c.attempts {
		if a.result != resultOK {
			t.attemptErrors[a.result]++
		}
	}
	switch {
	case c.failed():
		t.failed++
	case c.truncated():
		t.truncated++
	default:
		t.ok++
		t.latency += c.end.Sub(c.start)
	}
}

func (s *stats) total() targetStats {
	tot := targetStats{key: "total"}
	for i := range s.targets {
		tot.add(&s.targets[i])
	}
	return tot
}

// writeProgress writes one progress line: the calls so far and in the last second, the errors
// injected, the cut streams, and the phase with its time left.
func (s *stats) writeProgress(w io.Writer, now, start time.Time, win *window, exportErrors int64) {
	tot := s.total()
	left := max(win.to.Sub(now), 0).Round(time.Second)
	fmt.Fprintf(w, "%s phase %s (%s left) | calls %d (+%d) failed %d truncated %d | attempt errors %d | in flight %d | export errors %d\n",
		now.Sub(start).Round(time.Second), win.name, left, tot.calls, tot.calls-s.lastCalls, tot.failed,
		tot.truncated, tot.injected()-tot.attemptErrors[resultTruncated], s.inflight, exportErrors)
	s.lastCalls = tot.calls
}

// writeSummary writes the per-target table of the run.
func (s *stats) writeSummary(w io.Writer, elapsed time.Duration) error {
	fmt.Fprintf(w, "loadgen: %s; calls counted when their spans were emitted; error columns count failed HTTP attempts, \"failed\" the calls that failed after their retries\n",
		elapsed.Round(time.Millisecond))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "target\tcalls\tok\tfailed\ttruncated\tattempts\toverloaded\trate_limited\tserver_error\ttimeout\tmean ok latency\t")
	rows := append(append([]targetStats(nil), s.targets...), s.total())
	for _, t := range rows {
		mean := "-"
		if t.ok > 0 {
			mean = (t.latency / time.Duration(t.ok)).Round(time.Millisecond).String()
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%s\t\n", t.key, t.calls, t.ok, t.failed, t.truncated,
			t.attempts, t.attemptErrors[resultOverloaded], t.attemptErrors[resultRateLimited],
			t.attemptErrors[resultServerError], t.attemptErrors[resultTimeout], mean)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write summary: %w", err)
	}
	if s.abandoned > 0 {
		fmt.Fprintf(w, "%d calls still in flight at the end were abandoned (their LLM spans never ended, as when an application exits)\n", s.abandoned)
	}
	return nil
}
