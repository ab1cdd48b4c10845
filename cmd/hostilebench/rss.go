package main

import (
	"context"
	"sync"
	"time"
)

// rssInterval is how often the sampler reads the watcher's resident set.
const rssInterval = 50 * time.Millisecond

// rssSampler reads a process's VmRSS every rssInterval and keeps the highest.
type rssSampler struct {
	read func() (int64, error) // the current VmRSS in bytes: (*watcherproc.Process).RSS
	mu   sync.Mutex
	peak int64 // bytes
	n    int   // samples taken
}

// run samples until ctx is done. A failed read (the process gone) ends it.
func (s *rssSampler) run(ctx context.Context) {
	t := time.NewTicker(rssInterval)
	defer t.Stop()
	for {
		rss, err := s.read()
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
