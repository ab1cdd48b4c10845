package hosts

import (
	"cmp"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Entry is one line of the listing of endpoint hosts: configured (ingest.provider_hosts) or
// learned.
type Entry struct {
	Host string `json:"host"`
	// Route is the learned route ("" for a configured host: every route).
	Route    string `json:"route,omitempty"`
	Provider string `json:"provider"`
	// Source is "configured" or "learned".
	Source     string            `json:"source"`
	Pairs      map[string]uint64 `json:"pairs,omitempty"`
	Attributed uint64            `json:"attributed,omitempty"`
	LastSeen   *time.Time        `json:"last_seen,omitempty"`
}

// Listing returns the configured hosts (host or host:port → provider), then what was learned.
func (m *Map) Listing(configured map[string]string) []Entry {
	out := make([]Entry, 0, len(configured))
	for h, p := range configured {
		out = append(out, Entry{Host: strings.ToLower(h), Provider: p, Source: "configured"})
	}
	slices.SortFunc(out, func(a, b Entry) int { return cmp.Compare(a.Host, b.Host) })
	for _, mp := range m.List() {
		seen := mp.LastSeen
		out = append(out, Entry{Host: mp.Host, Route: mp.Route, Provider: mp.Provider, Source: "learned",
			Pairs: mp.Pairs, Attributed: mp.Attributed, LastSeen: &seen})
	}
	return out
}

// Handler serves GET /v1/hosts: {"hosts": Listing(configured)}, with the thresholds that
// decide it, so that a person can tell why a host is or is not attributed.
func (m *Map) Handler(configured map[string]string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_ = json.NewEncoder(w).Encode(struct {
			Hosts    []Entry `json:"hosts"`
			MinPairs int     `json:"min_pairs"`
			MaxHosts int     `json:"max_hosts"`
		}{m.Listing(configured), MinPairs, MaxHosts})
	})
}
