package client

// The states of docs/health-api.md.
const (
	Healthy  = "healthy"
	Degraded = "degraded"
	Down     = "down"
	Unknown  = "unknown"
)

// report is the part of the body of GET /v1/health that the client reads.
type report struct {
	Version   uint64           `json:"version"`
	Providers []providerReport `json:"providers"`
}

// providerReport is a provider's entry in a report.
type providerReport struct {
	Provider string        `json:"provider"`
	State    string        `json:"state"`
	Models   []modelReport `json:"models"`
}

// modelReport is a model's entry in a provider's.
type modelReport struct {
	Model string `json:"model"`
	State string `json:"state"`
}

// seriesKey names a provider (model "") or one of its models.
type seriesKey struct{ provider, model string }

// verdict is the answer for one series under the client's options.
type verdict struct {
	state  string // the effective state
	usable bool
	known  bool // the series itself was in the answer
}

// entry is what a snapshot holds for a series. For a provider, orphan is the verdict on any of
// its models that the answer does not list: unknown, or the provider's state when that is
// degraded or down.
type entry struct {
	verdict
	orphan verdict
}

// snapshot is one answer of outagewatch, ready for lookups. It is never modified after
// newSnapshot returns, so readers share it without locks.
type snapshot struct {
	version uint64
	series  map[seriesKey]entry
	// unseen is the verdict on a provider the answer does not list.
	unseen verdict
}

// policy says which states are unusable besides down.
type policy struct{ failDegraded, failUnknown bool }

func (p policy) usable(state string) bool {
	switch state {
	case Down:
		return false
	case Degraded:
		return !p.failDegraded
	case Healthy:
		return true
	}
	// unknown, and any state this client does not know: fail open unless told otherwise.
	return !p.failUnknown
}

func (p policy) verdict(state string, known bool) verdict {
	return verdict{state: state, usable: p.usable(state), known: known}
}

// effective is a model's effective state: its own, except that a model with no evidence of its
// own (unknown) takes its provider's state when the provider is degraded or down.
func effective(model, provider string) string {
	if model == Unknown && (provider == Degraded || provider == Down) {
		return provider
	}
	return model
}

// newSnapshot turns an answer into a snapshot under p. The server's model states are already
// effective; applying the rule again changes nothing then, and covers a server that did not.
func newSnapshot(r *report, p policy) *snapshot {
	n := len(r.Providers)
	for _, pv := range r.Providers {
		n += len(pv.Models)
	}
	s := &snapshot{version: r.Version, series: make(map[seriesKey]entry, n), unseen: p.verdict(Unknown, false)}
	for _, pv := range r.Providers {
		prov := stateOrUnknown(pv.State)
		s.series[seriesKey{provider: pv.Provider}] = entry{
			verdict: p.verdict(prov, true),
			orphan:  p.verdict(effective(Unknown, prov), false),
		}
		for _, mv := range pv.Models {
			st := effective(stateOrUnknown(mv.State), prov)
			s.series[seriesKey{pv.Provider, mv.Model}] = entry{verdict: p.verdict(st, true)}
		}
	}
	return s
}

func stateOrUnknown(s string) string {
	if s == "" {
		return Unknown
	}
	return s
}

// lookup returns the verdict on a series: model "" asks about the provider.
func (s *snapshot) lookup(provider, model string) verdict {
	if e, ok := s.series[seriesKey{provider, model}]; ok {
		return e.verdict
	}
	if model == "" {
		return s.unseen
	}
	if e, ok := s.series[seriesKey{provider: provider}]; ok {
		return e.orphan
	}
	return s.unseen
}
