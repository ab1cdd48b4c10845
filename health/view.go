package health

import (
	"time"

	"github.com/outagewatch/outagewatch/detectors"
)

// The JSON of the health API (docs/health-api.md).

// Reason is one piece of evidence, as JSON.
type Reason struct {
	Detector      string       `json:"detector"`
	Observed      float64      `json:"observed"`
	Baseline      float64      `json:"baseline"`
	Threshold     float64      `json:"threshold,omitempty"`
	ChangePoint   *time.Time   `json:"change_point,omitempty"`
	WindowSeconds float64      `json:"window_seconds"`
	SampleSize    int          `json:"sample_size"`
	Events        int          `json:"events"`
	CallRate      float64      `json:"call_rate"`
	Classes       []ClassCount `json:"classes,omitempty"`
	SampleError   string       `json:"sample_error,omitempty"`
}

// ClassCount is an error class and how often it was seen.
type ClassCount struct {
	Class string `json:"class"`
	Count int    `json:"count"`
}

// FiguresView are a series' current figures, as JSON.
type FiguresView struct {
	CallRate          float64 `json:"call_rate"`
	ErrorRate         float64 `json:"error_rate"`
	TruncationRate    float64 `json:"truncation_rate"`
	RateLimitRate     float64 `json:"rate_limit_rate"`
	LatencyP95Seconds float64 `json:"latency_p95_seconds"`
	TTFTP95Seconds    float64 `json:"ttft_p95_seconds"`
	Calls             uint64  `json:"calls"`
}

// BaselineView says how sure a series' answer is: where the baselines its detectors are
// designed on come from ("own" evidence, its "provider"'s, or the documented "global" priors)
// and how many calls of its own the series has seen.
type BaselineView struct {
	From  string `json:"from"`
	Calls uint64 `json:"calls"`
}

// ModelView is one model's health.
type ModelView struct {
	Model    string       `json:"model"`
	State    string       `json:"state"`
	Usable   bool         `json:"usable"`
	Since    time.Time    `json:"since"`
	Reasons  []Reason     `json:"reasons"`
	Baseline BaselineView `json:"baseline"`
	Figures  FiguresView  `json:"figures"`
}

// ProviderView is one provider's health, with its models.
type ProviderView struct {
	Provider string       `json:"provider"`
	State    string       `json:"state"`
	Usable   bool         `json:"usable"`
	Since    time.Time    `json:"since"`
	Reasons  []Reason     `json:"reasons"`
	Baseline BaselineView `json:"baseline"`
	Figures  FiguresView  `json:"figures"`
	Models   []ModelView  `json:"models"`
}

// Report is the body of GET /v1/health.
type Report struct {
	Version     uint64         `json:"version"`
	GeneratedAt time.Time      `json:"generated_at"`
	Providers   []ProviderView `json:"providers"`
	// Ingest is what arrived lately; absent when the API has no FreshnessSource.
	Ingest *IngestView `json:"ingest,omitempty"`
}

// ChangeView is one state change on the SSE stream.
type ChangeView struct {
	Version  uint64    `json:"version"`
	Provider string    `json:"provider"`
	Model    string    `json:"model"`
	From     string    `json:"from"`
	To       string    `json:"to"`
	At       time.Time `json:"at"`
	Usable   bool      `json:"usable"`
	Reason   Reason    `json:"reason"`
}

// ShutdownView is the data of the final shutdown event on the SSE stream: the last version the
// stream delivered (the board's version for a stream opened during shutdown).
type ShutdownView struct {
	Version uint64 `json:"version"`
	Reason  string `json:"reason"`
}

// Policy says which states are unusable besides down.
type Policy struct {
	FailDegraded bool
	FailUnknown  bool
}

// Usable applies the policy to a state.
func (p Policy) Usable(s detectors.State) bool {
	switch s {
	case detectors.StateDown:
		return false
	case detectors.StateDegraded:
		return !p.FailDegraded
	case detectors.StateUnknown:
		return !p.FailUnknown
	}
	return true
}

// Effective is a model's effective state: its own, except that a model with no evidence of its
// own (unknown) takes its provider's state when the provider is degraded or down.
func Effective(model, provider detectors.State) detectors.State {
	if model == detectors.StateUnknown && (provider == detectors.StateDown || provider == detectors.StateDegraded) {
		return provider
	}
	return model
}

// EffectiveOf is Effective for a model's status: a model that is unknown only because it is
// still warming up on traffic of its own keeps "unknown" (its calls say nothing is wrong with it);
// a silent one, or one without calls, takes its provider's state.
func EffectiveOf(model detectors.Status, provider detectors.State) detectors.State {
	if model.State == detectors.StateUnknown && model.Evidence.Detector == detectors.DetectorWarmup && model.Figures.Calls > 0 {
		return model.State
	}
	return Effective(model.State, provider)
}

func reasonOf(ev detectors.Evidence) Reason {
	r := Reason{
		Detector: string(ev.Detector), Observed: ev.Observed, Baseline: ev.Baseline, Threshold: ev.Threshold,
		WindowSeconds: ev.Window.Seconds(), SampleSize: ev.SampleSize, Events: ev.Events,
		CallRate: ev.CallRate, SampleError: ev.SampleError,
	}
	if !ev.ChangePoint.IsZero() {
		cp := ev.ChangePoint
		r.ChangePoint = &cp
	}
	for _, c := range ev.Classes {
		r.Classes = append(r.Classes, ClassCount{Class: c.Class.String(), Count: c.Count})
	}
	return r
}

func reasonsOf(ev detectors.Evidence) []Reason {
	if ev.Detector == "" {
		return []Reason{}
	}
	return []Reason{reasonOf(ev)}
}

func figuresOf(f detectors.Figures) FiguresView {
	return FiguresView{
		CallRate: f.CallRate, ErrorRate: f.ErrorRate, TruncationRate: f.TruncationRate,
		RateLimitRate: f.RateLimitRate, LatencyP95Seconds: f.LatencyP95.Seconds(),
		TTFTP95Seconds: f.TTFTP95.Seconds(), Calls: f.Calls,
	}
}

// buildReport turns the board's statuses (sorted by key: each provider, with Model "", before
// its models) into the report under policy p.
func buildReport(version uint64, statuses []detectors.Status, p Policy, now time.Time) Report {
	rep := Report{Version: version, GeneratedAt: now.UTC(), Providers: []ProviderView{}}
	var cur *ProviderView
	var provState detectors.State
	for _, s := range statuses {
		if s.Series.Model == "" {
			rep.Providers = append(rep.Providers, ProviderView{
				Provider: s.Series.Provider, State: s.State.String(), Usable: p.Usable(s.State),
				Since: s.Since.UTC(), Reasons: reasonsOf(s.Evidence), Baseline: baselineOf(s.Baseline),
				Figures: figuresOf(s.Figures), Models: []ModelView{},
			})
			cur, provState = &rep.Providers[len(rep.Providers)-1], s.State
			continue
		}
		if cur == nil || cur.Provider != s.Series.Provider {
			continue // a model without its provider cannot happen: the engine makes both
		}
		cur.Models = append(cur.Models, modelView(s, provState, p))
	}
	return rep
}

func modelView(s detectors.Status, provider detectors.State, p Policy) ModelView {
	eff := EffectiveOf(s, provider)
	return ModelView{
		Model: s.Series.Model, State: eff.String(), Usable: p.Usable(eff), Since: s.Since.UTC(),
		Reasons: reasonsOf(s.Evidence), Baseline: baselineOf(s.Baseline), Figures: figuresOf(s.Figures),
	}
}

func baselineOf(b detectors.BaselineSource) BaselineView {
	return BaselineView{From: b.From, Calls: b.Calls}
}
