package health

import (
	"fmt"
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
	// Text says in words why the series is in its state; State is the provider's state, on a
	// "provider" reason only.
	Text  string `json:"text,omitempty"`
	State string `json:"state,omitempty"`
	// Callers are the calling services (service.name) of the calls since the change point,
	// most failures first: whether the failures are everyone's or one caller's. Absent when
	// one service made them all.
	Callers []CallerShare `json:"callers,omitempty"`
	// ConfinedTo names the calling service the failures are confined to (the others at their
	// baseline): likely that service's own network, key or deploy. It informs; the state is
	// still the series'.
	ConfinedTo string `json:"confined_to,omitempty"`
	// Caller names the caller ("service:batch-jobs", "endpoint:HOST") of a local verdict's
	// reason: in "local" entries, in a plain answer's "local" reasons, and in the answer as that
	// caller sees it (?service=, ?endpoint=).
	Caller string `json:"caller,omitempty"`
}

// CallerShare is one calling service's calls and failures since a reason's change point.
type CallerShare struct {
	Service  string `json:"service"`
	Calls    int    `json:"calls"`
	Failures int    `json:"failures"`
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
	// Local are the model's local verdicts: callers that fail on their own. Absent when none.
	Local []LocalView `json:"local,omitempty"`
	// Caller is set on the answer as one caller sees it (?service=, ?endpoint=), when the
	// model has a local verdict for that caller.
	Caller string `json:"caller,omitempty"`
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
	// Local are the provider's local verdicts (an endpoint host that fails on its own, say).
	Local []LocalView `json:"local,omitempty"`
	// Caller is as on ModelView.
	Caller string `json:"caller,omitempty"`
	// ProviderStatus is what the provider's own status page says, beside this view's state;
	// absent without a VendorStatusSource or a status for the provider (providerstatus.go).
	ProviderStatus *ProviderStatusView `json:"provider_status,omitempty"`
}

// Report is the body of GET /v1/health.
type Report struct {
	Version uint64 `json:"version"`
	// Term is the leader's term in a cluster; Stale is set while the replica serves without its
	// leader (Board.SetCluster). Both are absent outside a cluster.
	Term        int64          `json:"term,omitempty"`
	Stale       bool           `json:"stale,omitempty"`
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
	// Caller names the caller of a local verdict's change ("local" events, and "change"
	// events of a stream that asked as that caller); "" for a series' own change.
	Caller string `json:"caller,omitempty"`
	// Term and Stale are as on Report.
	Term  int64 `json:"term,omitempty"`
	Stale bool  `json:"stale,omitempty"`
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
// own (unknown: no recent calls of its own, or silent) takes its provider's state when the
// provider is degraded or down. A model with recent traffic of its own (healthy, degraded or
// down) always answers from its own evidence, whatever its provider's state.
func Effective(model, provider detectors.State) detectors.State {
	if model == detectors.StateUnknown && (provider == detectors.StateDown || provider == detectors.StateDegraded) {
		return provider
	}
	return model
}

// EffectiveOf is Effective for a model's status. The rule depends on the model's own state only:
// how its evidence got there (first calls, silence, a restored state) does not matter.
func EffectiveOf(model detectors.Status, provider detectors.State) detectors.State {
	return Effective(model.State, provider)
}

// DetectorProvider names the reason a model carries when its answer is its provider's verdict
// (the model is unknown, the provider degraded or down).
const DetectorProvider = "provider"

func reasonOf(ev detectors.Evidence, state detectors.State) Reason {
	r := Reason{
		Detector: string(ev.Detector), Observed: ev.Observed, Baseline: ev.Baseline, Threshold: ev.Threshold,
		WindowSeconds: ev.Window.Seconds(), SampleSize: ev.SampleSize, Events: ev.Events,
		CallRate: ev.CallRate, SampleError: ev.SampleError, Text: ReasonText(ev, state),
	}
	if !ev.ChangePoint.IsZero() {
		cp := ev.ChangePoint
		r.ChangePoint = &cp
	}
	for _, c := range ev.Classes {
		r.Classes = append(r.Classes, ClassCount{Class: c.Class.String(), Count: c.Count})
	}
	for _, c := range ev.Callers {
		r.Callers = append(r.Callers, CallerShare{Service: c.Caller, Calls: c.N, Failures: c.K})
	}
	r.ConfinedTo = ev.ConfinedTo.String()
	if c := ev.ConfinedTo; !c.IsZero() && r.Text != "" {
		r.Text += "; only " + string(c.Kind) + " " + c.Name + " fails, the model's other callers are at their baseline"
	}
	return r
}

func reasonsOf(ev detectors.Evidence, state detectors.State) []Reason {
	if ev.Detector == "" {
		return []Reason{}
	}
	return []Reason{reasonOf(ev, state)}
}

// providerReason is the reason of a model whose answer is its provider's verdict: the provider's
// evidence, under the detector "provider", with the provider's state and a text naming both.
func providerReason(provider detectors.Status) Reason {
	r := reasonOf(provider.Evidence, provider.State)
	r.Detector, r.State = DetectorProvider, provider.State.String()
	r.Text = "provider " + provider.Series.Provider + " is " + provider.State.String()
	if why := ReasonText(provider.Evidence, provider.State); why != "" {
		r.Text += " (" + why + ")"
	}
	r.Text += "; the model has no recent calls of its own to judge"
	return r
}

// detectorLabels name the detectors that measure a rate, in words.
var detectorLabels = map[detectors.Detector]string{
	detectors.DetectorErrorRate:  "errors",
	detectors.DetectorErrorMid:   "errors (partial outage)",
	detectors.DetectorErrorDown:  "errors (hard outage)",
	detectors.DetectorTruncation: "truncated responses",
	detectors.DetectorRateLimit:  "rate limited (429)",
	detectors.DetectorTTFT:       "slow first token",
	detectors.DetectorLatency:    "slow responses",
}

// ReasonText says in words why a series is in state, true of that state: the same evidence
// (warm-up, recovery) reads differently on different states. The status page says the same.
func ReasonText(ev detectors.Evidence, state detectors.State) string {
	switch ev.Detector {
	case "":
		return ""
	case detectors.DetectorWarmup:
		switch {
		case state == detectors.StateUnknown:
			return "no calls yet"
		case ev.SampleSize <= 1:
			return "judged from its first call"
		}
		return fmt.Sprintf("calls again after a time without (%d in all): judged on them", ev.SampleSize)
	case detectors.DetectorSilence:
		if state != detectors.StateUnknown {
			return "no calls for longer than its traffic explains"
		}
		return fmt.Sprintf("no calls for %s, longer than its traffic explains", ev.Window.Round(time.Second))
	case detectors.DetectorRecovery:
		switch state {
		case detectors.StateHealthy:
			return "the alarm cleared after its hold-down"
		case detectors.StateDegraded:
			return "the down alarm cleared after its hold-down: degraded until the calls since confirm the recovery"
		}
		return "an alarm cleared after its hold-down; another holds it " + state.String()
	case detectors.DetectorWidened:
		return "the failures are no longer one caller's alone: the model's own verdict took them over"
	case detectors.DetectorRollup:
		if state == detectors.StateDown {
			return "follows its models: most of its traffic goes to models that are down"
		}
		return "follows its models: at least one is " + state.String()
	}
	label, ok := detectorLabels[ev.Detector]
	if !ok {
		label = string(ev.Detector)
	}
	return fmt.Sprintf("%s: %s against a usual %s (%d of %d calls in %s)", label,
		percent(ev.Observed), percent(ev.Baseline), ev.Events, ev.SampleSize, ev.Window.Round(time.Second))
}

func percent(f float64) string {
	if f >= 0.1 || f == 0 {
		return fmt.Sprintf("%.0f%%", f*100)
	}
	return fmt.Sprintf("%.2g%%", f*100)
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
	return buildReportAs(version, statuses, p, now, detectors.Caller{})
}

// buildReportAs is buildReport as caller c sees each series (the plain report for the zero
// Caller).
func buildReportAs(version uint64, statuses []detectors.Status, p Policy, now time.Time, c detectors.Caller) Report {
	rep := Report{Version: version, GeneratedAt: now.UTC(), Providers: []ProviderView{}}
	var cur *ProviderView
	var prov detectors.Status
	for _, s := range statuses {
		if s.Series.Model == "" {
			pv := ProviderView{
				Provider: s.Series.Provider, State: s.State.String(), Usable: p.Usable(s.State),
				Since: s.Since.UTC(), Reasons: withLocal(reasonsOf(s.Evidence, s.State), s, p.Usable(s.State)),
				Baseline: baselineOf(s.Baseline), Figures: figuresOf(s.Figures), Models: []ModelView{},
				Local: localViews(s),
			}
			pv.asCaller(s, c, p)
			rep.Providers = append(rep.Providers, pv)
			cur, prov = &rep.Providers[len(rep.Providers)-1], s
			continue
		}
		if cur == nil || cur.Provider != s.Series.Provider {
			continue // a model without its provider cannot happen: the engine makes both
		}
		cur.Models = append(cur.Models, modelView(s, prov, p, c))
	}
	return rep
}

// modelView is a model's view under its provider's status: its own state and reasons, or, when
// it has no verdict of its own and its provider is degraded or down, the provider's state with a
// "provider" reason first, then its own; then a "local" reason for each of its local verdicts.
// For a caller c with a local verdict of the model, it is the answer as c sees it (asCaller).
func modelView(s detectors.Status, provider detectors.Status, p Policy, c detectors.Caller) ModelView {
	eff := EffectiveOf(s, provider.State)
	reasons := reasonsOf(s.Evidence, s.State)
	if eff != s.State {
		reasons = append([]Reason{providerReason(provider)}, reasons...)
	}
	mv := ModelView{
		Model: s.Series.Model, State: eff.String(), Usable: p.Usable(eff), Since: s.Since.UTC(),
		Reasons: withLocal(reasons, s, p.Usable(eff)), Baseline: baselineOf(s.Baseline), Figures: figuresOf(s.Figures),
		Local: localViews(s),
	}
	mv.asCaller(s, c, p)
	return mv
}

// withLocal appends to reasons a "local" reason for each local verdict of s, naming the caller
// that fails on its own; usable is whether s itself is usable.
func withLocal(reasons []Reason, s detectors.Status, usable bool) []Reason {
	for _, l := range s.Local {
		reasons = append(reasons, summaryReason(l, usable))
	}
	return reasons
}

func baselineOf(b detectors.BaselineSource) BaselineView {
	return BaselineView{From: b.From, Calls: b.Calls}
}
