// Package hosts learns which provider an endpoint host serves, from the calls that show it: an
// LLM span of provider P whose HTTP attempt went to host H is a pair (H, P). When an official
// SDK's call fails, its LLM span is often never exported and only the HTTP attempt arrives; if
// its host is no known provider's (a LiteLLM proxy, a regional endpoint, a corporate egress host)
// the attempt is attributed from the pairs learned, with no configuration.
//
// A host learned to serve several providers (a gateway) is told apart by the attempt's route
// (its URL path with deployments, models and identifiers blanked, see Route) where the route
// has only ever served one; otherwise the attempt is the gateway's own, `gateway:H`, never the
// wrong provider's. Configured hosts (ingest.provider_hosts) never reach this package: the
// normaliser attributes them first.
//
// A Map is bounded (MaxHosts hosts of maxRoutes routes, maxProviders providers each; the least
// recently seen is forgotten first), safe for concurrent use, and saved with the baselines
// (Snapshot, Restore).
package hosts

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"
)

// Bounds and thresholds of a Map.
const (
	// MaxHosts is the number of hosts a Map remembers.
	MaxHosts = 1024
	// maxRoutes is the number of routes remembered per host; maxProviders the providers per route.
	maxRoutes    = 16
	maxProviders = 8
	// MinPairs is the number of pairs (H, P) before H is taken to serve P: one mislabelled span
	// does not make a host another provider's.
	MinPairs = 3
	// GatewayPrefix starts the provider name of a host that serves several providers.
	GatewayPrefix = "gateway:"
)

// Map is the learned mapping of hosts to providers.
type Map struct {
	mu    sync.Mutex
	hosts map[string]*host
}

type host struct {
	routes     map[string]*route
	lastSeen   time.Time
	attributed uint64
}

type route struct {
	providers map[string]uint64 // pairs seen per provider
	lastSeen  time.Time
}

// New returns an empty Map.
func New() *Map { return &Map{hosts: make(map[string]*host)} }

// Learn records that an LLM call of provider went through an attempt to host (host or
// host:port) on route at time at. Empty arguments and gateway names are ignored.
func (m *Map) Learn(hostName, routeName, provider string, at time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.learn(hostName, routeName, provider, 1, at)
}

func (m *Map) learn(hostName, routeName, provider string, pairs uint64, at time.Time) {
	if hostName == "" || provider == "" || strings.HasPrefix(provider, GatewayPrefix) || pairs == 0 {
		return
	}
	h, ok := m.hosts[hostName]
	if !ok {
		if len(m.hosts) >= MaxHosts {
			delete(m.hosts, oldest(m.hosts, func(h *host) time.Time { return h.lastSeen }))
		}
		h = &host{routes: make(map[string]*route)}
		m.hosts[hostName] = h
	}
	r, ok := h.routes[routeName]
	if !ok {
		if len(h.routes) >= maxRoutes {
			delete(h.routes, oldest(h.routes, func(r *route) time.Time { return r.lastSeen }))
		}
		r = &route{providers: make(map[string]uint64)}
		h.routes[routeName] = r
	}
	if _, ok := r.providers[provider]; !ok && len(r.providers) >= maxProviders {
		return // a route past the bound serves several providers already: it reads as a gateway
	}
	r.providers[provider] += pairs
	h.lastSeen, r.lastSeen = later(h.lastSeen, at), later(r.lastSeen, at)
}

// Resolve returns the provider an attempt to host on route is attributed to, and counts it; ""
// when nothing learned names one.
func (m *Map) Resolve(hostName, routeName string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	h, ok := m.hosts[hostName]
	if !ok {
		return ""
	}
	p := h.verdict(hostName, routeName)
	if p != "" {
		h.attributed++
	}
	return p
}

// verdict is the provider of an attempt on routeName: the route's when it has one; else the
// host's, unless the route, still learning, has served another provider than the host's (the
// gateway's own then, never a guess).
func (h *host) verdict(hostName, routeName string) string {
	r, ok := h.routes[routeName]
	if ok {
		if p := verdictOf(hostName, r.providers); p != "" {
			return p
		}
	}
	all := make(map[string]uint64)
	for _, r := range h.routes {
		for p, n := range r.providers {
			all[p] += n
		}
	}
	hp := verdictOf(hostName, all)
	if ok && hp != "" {
		for p := range r.providers {
			if p != hp {
				return GatewayPrefix + hostName
			}
		}
	}
	return hp
}

// verdictOf is the one provider with MinPairs pairs, the gateway when several have them, or "".
func verdictOf(hostName string, providers map[string]uint64) string {
	found := ""
	for p, n := range providers {
		if n < MinPairs {
			continue
		}
		if found != "" {
			return GatewayPrefix + hostName
		}
		found = p
	}
	return found
}

// Mapping is one learned route of a host, as listed by the API.
type Mapping struct {
	Host  string `json:"host"`
	Route string `json:"route"`
	// Provider is what an attempt to Host on Route is attributed to: a provider, "gateway:H",
	// or "" while the pairs are fewer than MinPairs.
	Provider string `json:"provider"`
	// Pairs counts the LLM calls seen through this route, per provider.
	Pairs map[string]uint64 `json:"pairs"`
	// Attributed counts the attempts to Host (any route) attributed since the daemon started.
	Attributed uint64    `json:"attributed"`
	LastSeen   time.Time `json:"last_seen"`
}

// List returns every learned route, by host then route.
func (m *Map) List() []Mapping {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]Mapping, 0, len(m.hosts))
	for name, h := range m.hosts {
		for rn, r := range h.routes {
			out = append(out, Mapping{
				Host: name, Route: rn, Provider: h.verdict(name, rn), Pairs: maps.Clone(r.providers),
				Attributed: h.attributed, LastSeen: r.lastSeen,
			})
		}
	}
	slices.SortFunc(out, func(a, b Mapping) int { return cmp.Or(cmp.Compare(a.Host, b.Host), cmp.Compare(a.Route, b.Route)) })
	return out
}

// Len returns the number of hosts learned.
func (m *Map) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.hosts)
}

// snapshotVersion is the version of the format Snapshot writes.
const snapshotVersion = 1

type snapshot struct {
	Version int         `json:"version"`
	Hosts   []savedHost `json:"hosts"`
}

type savedHost struct {
	Host   string       `json:"host"`
	Routes []savedRoute `json:"routes"`
}

type savedRoute struct {
	Route     string            `json:"route"`
	Providers map[string]uint64 `json:"providers"`
	LastSeen  time.Time         `json:"last_seen"`
}

// SnapshotName is the key under which the Map is saved beside the engine's baselines.
func (m *Map) SnapshotName() string { return "hosts" }

// Snapshot encodes what the Map learned.
func (m *Map) Snapshot() ([]byte, error) {
	m.mu.Lock()
	s := snapshot{Version: snapshotVersion, Hosts: make([]savedHost, 0, len(m.hosts))}
	for name, h := range m.hosts {
		sh := savedHost{Host: name}
		for rn, r := range h.routes {
			sh.Routes = append(sh.Routes, savedRoute{Route: rn, Providers: maps.Clone(r.providers), LastSeen: r.lastSeen})
		}
		slices.SortFunc(sh.Routes, func(a, b savedRoute) int { return cmp.Compare(a.Route, b.Route) })
		s.Hosts = append(s.Hosts, sh)
	}
	m.mu.Unlock()
	slices.SortFunc(s.Hosts, func(a, b savedHost) int { return cmp.Compare(a.Host, b.Host) })
	return json.Marshal(s)
}

// Restore replaces what the Map learned with a snapshot's content, within the Map's bounds.
func (m *Map) Restore(data []byte) error {
	var s snapshot
	if err := json.Unmarshal(data, &s); err != nil {
		return fmt.Errorf("hosts: restore: %w", err)
	}
	if s.Version != snapshotVersion {
		return fmt.Errorf("hosts: restore: snapshot version %d, want %d", s.Version, snapshotVersion)
	}
	fresh := New()
	for _, sh := range s.Hosts {
		if sh.Host == "" {
			return errors.New("hosts: restore: a host without a name")
		}
		for _, sr := range sh.Routes {
			for p, n := range sr.Providers {
				fresh.learn(sh.Host, sr.Route, p, n, sr.LastSeen)
			}
		}
	}
	m.mu.Lock()
	m.hosts = fresh.hosts
	m.mu.Unlock()
	return nil
}

func oldest[V any](m map[string]V, seen func(V) time.Time) string {
	var key string
	var at time.Time
	for k, v := range m {
		if t := seen(v); key == "" || t.Before(at) || t.Equal(at) && k < key {
			key, at = k, t
		}
	}
	return key
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
