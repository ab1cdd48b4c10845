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

// verdict is the answer for one series under the client's options.
type verdict struct {
	state  string // the effective state
	usable bool
	known  bool // the series itself was in the answer
}

// providerEntry is what a snapshot holds for a provider: its verdict, and orphan, the verdict
// on any of its models that the answer does not list (unknown, or the provider's state when
// that is degraded or down).
type providerEntry struct {
	verdict
	orphan verdict
}

// modelEntry is a model's verdict under one provider; next chains the same model name under
// other providers (rare: the same id served by two providers).
type modelEntry struct {
	provider string
	verdict
	next *modelEntry
}

// snapshot is one answer of outagewatch, ready for lookups. It is never modified after
// newSnapshot returns, so readers share it without locks.
//
// Models are indexed by model name alone, then checked for their provider: a lookup hashes one
// string, about half the cost of a map keyed by (provider, model) (BenchmarkUsable).
type snapshot struct {
	version   uint64
	providers map[string]providerEntry
	models    map[string]modelEntry
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
	n := 0
	for _, pv := range r.Providers {
		n += len(pv.Models)
	}
	s := &snapshot{
		version:   r.Version,
		providers: make(map[string]providerEntry, len(r.Providers)),
		models:    make(map[string]modelEntry, n),
		unseen:    p.verdict(Unknown, false),
	}
	for _, pv := range r.Providers {
		prov := stateOrUnknown(pv.State)
		s.providers[pv.Provider] = providerEntry{
			verdict: p.verdict(prov, true),
			orphan:  p.verdict(effective(Unknown, prov), false),
		}
		for _, mv := range pv.Models {
			e := modelEntry{provider: pv.Provider, verdict: p.verdict(effective(stateOrUnknown(mv.State), prov), true)}
			if first, ok := s.models[mv.Model]; ok {
				e.next = &first
			}
			s.models[mv.Model] = e
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
	if model != "" {
		if e, ok := s.models[model]; ok {
			for m := &e; m != nil; m = m.next {
				if m.provider == provider {
					return m.verdict
				}
			}
		}
	}
	p, ok := s.providers[provider]
	switch {
	case !ok:
		return s.unseen
	case model == "":
		return p.verdict
	}
	return p.orphan
}
