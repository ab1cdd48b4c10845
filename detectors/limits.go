package detectors

import (
	"slices"
	"strings"
)

// Limits cap the series an engine tracks, so that hostile or buggy input (a model name per
// request, a provider per tenant) cannot grow its memory, or the metrics and board built from
// its Status, without bound. As in ingest, "other" counts towards each cap: at most
// MaxProviders providers, one of them possibly OtherProvider, and at most MaxModelsPerProvider
// models per provider, one of them possibly OtherModel. Every Engine has limits
// (Config.Limits); Restore applies them too.
type Limits struct {
	// MaxProviders: the calls of a provider first seen when MaxProviders−1 others
	// (OtherProvider aside) are tracked are ignored and counted (Engine.Refused). Ingest folds
	// such providers into OtherProvider before the engine sees them.
	MaxProviders int
	// MaxModelsPerProvider: a model first seen when its provider tracks MaxModelsPerProvider−1
	// others (OtherModel aside) is folded into OtherModel (counted by Engine.Folded).
	MaxModelsPerProvider int
}

// Refused returns how many calls the engine ignored because their provider was beyond
// Limits.MaxProviders.
func (e *Engine) Refused() uint64 { return e.refused }

// Folded returns how many calls the engine counted under OtherModel because their model was
// beyond Limits.MaxModelsPerProvider.
func (e *Engine) Folded() uint64 { return e.folded }

// admitProvider returns the pooled series of provider, creating it if the cap allows; nil when
// the provider is beyond it.
func (e *Engine) admitProvider(provider string) *series {
	if p, ok := e.providers[provider]; ok {
		return p
	}
	n := len(e.providers)
	if _, ok := e.providers[OtherProvider]; ok {
		n--
	}
	if provider != OtherProvider && n >= e.cfg.Limits.MaxProviders-1 {
		return nil
	}
	p := &series{key: SeriesKey{Provider: provider}}
	e.providers[provider] = p
	e.insert(p)
	return p
}

// admitModel returns the series of model under provider p, creating it if the cap allows; nil
// when the model is beyond it.
func (e *Engine) admitModel(p *series, model string) *series {
	key := SeriesKey{Provider: p.key.Provider, Model: model}
	if s, ok := e.series[key]; ok {
		return s
	}
	n := len(p.models)
	if _, ok := e.series[SeriesKey{Provider: p.key.Provider, Model: OtherModel}]; ok {
		n--
	}
	if model != OtherModel && n >= e.cfg.Limits.MaxModelsPerProvider-1 {
		return nil
	}
	s := &series{key: key, provider: p}
	// Models are kept sorted by name, so that a provider's roll-up breaks ties the same way in
	// a restored engine as in the one that was saved.
	i, _ := slices.BinarySearchFunc(p.models, model, func(m *series, name string) int { return strings.Compare(m.key.Model, name) })
	p.models = slices.Insert(p.models, i, s)
	e.series[key] = s
	e.insert(s)
	return s
}

// lookup returns the series a call of key counts under, and its provider's, creating them
// within the limits: a model beyond its provider's cap folds into OtherModel. It returns nil
// for a provider beyond the cap.
func (e *Engine) lookup(key SeriesKey) *series {
	if s, ok := e.series[key]; ok {
		return s
	}
	p := e.admitProvider(key.Provider)
	if p == nil {
		return nil
	}
	s := e.admitModel(p, key.Model)
	if s == nil {
		e.folded++
		s = e.admitModel(p, OtherModel)
	}
	return s
}
