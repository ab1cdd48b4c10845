package statuspage

import (
	"strconv"
	"time"
)

// The endpoints part of the page: which hosts serve which provider, configured or learned.

// Endpoint is one host (and route) known to serve a provider.
type Endpoint struct {
	Host string
	// Route is the learned route; "" for a configured host (every route).
	Route string
	// Provider is a provider, "gateway:H" for a host that serves several, or "" while the
	// host is still being learned.
	Provider string
	// Source is "configured" or "learned".
	Source string
	// Attributed counts the attempts to Host whose LLM span never came, counted for Provider.
	Attributed uint64
	// LastSeen is when a call last showed the mapping (zero for a configured host).
	LastSeen time.Time
}

// endpointsView is the endpoints part.
type endpointsView struct {
	Shown bool // an Endpoints source is configured
	Rows  []endpointRow
}

type endpointRow struct {
	// Key is host and route as given, for scripts and tests (data-endpoint).
	Key                           string
	Host, Route, Provider, Source string
	Attributed                    string
	LastSeen                      timeText
}

// buildEndpoints reads the endpoints source into its part.
func (p *Page) buildEndpoints(now time.Time) endpointsView {
	if p.opts.Endpoints == nil {
		return endpointsView{}
	}
	v := endpointsView{Shown: true}
	for _, e := range p.opts.Endpoints() {
		row := endpointRow{Key: e.Host + e.Route, Host: e.Host, Route: e.Route, Provider: e.Provider, Source: e.Source,
			Attributed: strconv.FormatUint(e.Attributed, 10), LastSeen: timeTextOf(e.LastSeen, now)}
		if row.Route == "" {
			row.Route = "every route"
		}
		if row.Provider == "" {
			row.Provider = "learning"
		}
		v.Rows = append(v.Rows, row)
	}
	return v
}
