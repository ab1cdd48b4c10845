package main

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
)

// tally counts answers by code ("200", "429", "RESOURCE_EXHAUSTED", "transport error"). It is
// safe for concurrent use.
type tally struct {
	mu sync.Mutex
	n  map[string]int64
}

func newTally() *tally { return &tally{n: map[string]int64{}} }

// add counts one answer with code.
func (t *tally) add(code string) {
	t.mu.Lock()
	t.n[code]++
	t.mu.Unlock()
}

// counts returns a copy of the counts.
func (t *tally) counts() map[string]int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return maps.Clone(t.n)
}

// total returns the number of answers counted.
func (t *tally) total() int64 {
	var sum int64
	for _, n := range t.counts() {
		sum += n
	}
	return sum
}

// formatCounts writes counts as "429: 1,234, 400: 5", the most frequent first; "-" when empty.
func formatCounts(counts map[string]int64) string {
	keys := slices.Collect(maps.Keys(counts))
	slices.SortFunc(keys, func(a, b string) int {
		return cmp.Or(cmp.Compare(counts[b], counts[a]), cmp.Compare(a, b))
	})
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		if counts[k] != 0 {
			parts = append(parts, fmt.Sprintf("%s: %s", k, thousands(counts[k])))
		}
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, ", ")
}

// thousands formats n with comma separators.
func thousands(n int64) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
