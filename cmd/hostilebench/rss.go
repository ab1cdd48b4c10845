package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"
)

// rssInterval is how often the sampler reads the watcher's resident set.
const rssInterval = 50 * time.Millisecond

// errNoField is returned by statusField for a field /proc/PID/status does not have.
var errNoField = errors.New("no such field in /proc/PID/status")

// rssSampler reads a process's VmRSS every rssInterval and keeps the highest.
type rssSampler struct {
	pid  int
	mu   sync.Mutex
	peak int64 // bytes
	n    int   // samples taken
}

// run samples until ctx is done. A failed read (the process gone) ends it.
func (s *rssSampler) run(ctx context.Context) {
	t := time.NewTicker(rssInterval)
	defer t.Stop()
	for {
		rss, err := readStatus(s.pid, "VmRSS")
		if err != nil {
			return
		}
		s.mu.Lock()
		s.peak, s.n = max(s.peak, rss), s.n+1
		s.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// result returns the highest VmRSS seen and the number of samples.
func (s *rssSampler) result() (int64, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peak, s.n
}

// readStatus returns a field of /proc/PID/status given in kB (VmRSS, VmHWM), in bytes.
func readStatus(pid int, field string) (int64, error) {
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	return statusField(status, field)
}

// statusField returns field of the contents of /proc/PID/status, in bytes.
func statusField(status []byte, field string) (int64, error) {
	for line := range bytes.Lines(status) {
		rest, ok := bytes.CutPrefix(line, []byte(field+":"))
		if !ok {
			continue
		}
		f := bytes.Fields(rest)
		if len(f) != 2 || string(f[1]) != "kB" {
			return 0, fmt.Errorf("%s: unexpected value %q", field, bytes.TrimSpace(rest))
		}
		kB, err := strconv.ParseInt(string(f[0]), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", field, err)
		}
		return kB << 10, nil
	}
	return 0, fmt.Errorf("%s: %w", field, errNoField)
}
