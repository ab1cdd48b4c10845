package vendorstatus

import (
	"slices"
	"strings"
	"sync"
)

// Board holds the latest Status of each provider. It is safe for concurrent use; what Get and All
// return is the caller's (copies).
type Board struct {
	mu       sync.RWMutex // guards statuses
	statuses map[string]Status
}

// NewBoard returns an empty board.
func NewBoard() *Board { return &Board{statuses: map[string]Status{}} }

// Set records s as its provider's latest status (the poller's; tests may set one directly).
func (b *Board) Set(s Status) {
	s = s.clone()
	b.mu.Lock()
	defer b.mu.Unlock()
	b.statuses[s.Provider] = s
}

// Get returns provider's latest status; false when its page was never polled.
func (b *Board) Get(provider string) (Status, bool) {
	b.mu.RLock()
	s, ok := b.statuses[provider]
	b.mu.RUnlock()
	return s.clone(), ok
}

// All returns every provider's latest status, sorted by provider.
func (b *Board) All() []Status {
	b.mu.RLock()
	out := make([]Status, 0, len(b.statuses))
	for _, s := range b.statuses {
		out = append(out, s.clone())
	}
	b.mu.RUnlock()
	slices.SortFunc(out, func(a, b Status) int { return strings.Compare(a.Provider, b.Provider) })
	return out
}

// clone copies the slices of s, so that the board's copy and a caller's share nothing.
func (s Status) clone() Status {
	s.Components = slices.Clone(s.Components)
	for i := range s.Components {
		s.Components[i].Models = slices.Clone(s.Components[i].Models)
	}
	s.Incidents = slices.Clone(s.Incidents)
	for i := range s.Incidents {
		s.Incidents[i].Components = slices.Clone(s.Incidents[i].Components)
		s.Incidents[i].Models = slices.Clone(s.Incidents[i].Models)
	}
	return s
}
