package statuspage

import (
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/outagewatch/outagewatch/detectors"
	"github.com/outagewatch/outagewatch/health"
)

// The health part of the page: what the templates show of each series, computed here so that
// the templates only place text.

// seriesCard is one provider or model.
type seriesCard struct {
	Provider string
	Model    string // "" for a provider's own series
	// State is the effective state (health.Effective); OwnState the series' own, which live.js
	// needs to recompute the effective state when the provider changes.
	State    string
	OwnState string
	Since    timeText
	Reason   string
	// Baseline says how sure the answer is: where the series' baselines come from and on how
	// many calls of its own ("" when the engine did not say).
	Baseline string
	Charts   []chart
	Grafana  string // a link to the series on Grafana; "" when not configured
	// Local are the series' local verdicts: callers failing on their own (localview.go).
	Local []localEntry
	// Vendor is the provider's own status page, on a provider's card only (vendorview.go).
	Vendor vendorLine
}

// providerCard is a provider with its models: those shown in full, and the folds.
type providerCard struct {
	Series seriesCard
	Models []seriesCard
	// Folds are the models folded into one line each, by state: "61 models healthy".
	Folds []fold
}

// fold is the models of a provider folded into one line: they are all in one state, healthy
// or unknown, with no caller failing on its own. Their names are listed under a disclosure.
type fold struct {
	Provider string
	State    string
	N        int
	Names    string
}

// foldModelsAbove is the number of models a provider may have before its healthy models, and
// its unknown ones, are folded into a line each ("61 models healthy"), issue 20: at ingest's
// default caps (64 models of 32 providers) a page of every model's card was 5 MB and took a
// second to render. Degraded and down models, and models with a caller failing on its own, are
// always shown in full.
const foldModelsAbove = 8

// timeText is a time as the page shows it: the machine-readable value, the clock time and how
// long ago.
type timeText struct {
	ISO   string
	Clock string
	Ago   string
}

func timeTextOf(t, now time.Time) timeText {
	if t.IsZero() {
		return timeText{}
	}
	return timeText{ISO: isoTime(t), Clock: formatClock(t, now), Ago: formatAgo(t, now)}
}

// stateCount is how many series are in a state, for the summary line.
type stateCount struct {
	State string
	N     int
}

// healthView is the health part of the page.
type healthView struct {
	Version   uint64
	Providers []providerCard
	Counts    []stateCount // down, degraded, unknown, healthy; zero counts left out
	Series    int
}

// buildHealth reads the board (its statuses sorted by key, each provider before its models)
// and the History into the page's health part.
func (p *Page) buildHealth(now time.Time) healthView {
	version, statuses := p.board.Snapshot()
	hv := healthView{Version: version}
	counts := map[string]int{}
	for i := 0; i < len(statuses); {
		prov := statuses[i]
		j := i + 1
		for j < len(statuses) && statuses[j].Series.Provider == prov.Series.Provider && statuses[j].Series.Model != "" {
			j++
		}
		if prov.Series.Model != "" {
			i = j // a model without its provider cannot happen: the engine makes both
			continue
		}
		pc := p.providerCard(prov, statuses[i+1:j], now)
		counts[pc.Series.State]++
		for _, m := range pc.Models {
			counts[m.State]++
		}
		for _, f := range pc.Folds {
			counts[f.State] += f.N
		}
		hv.Series += j - i
		hv.Providers = append(hv.Providers, pc)
		i = j
	}
	for _, st := range []detectors.State{detectors.StateDown, detectors.StateDegraded, detectors.StateUnknown, detectors.StateHealthy} {
		if n := counts[st.String()]; n > 0 {
			hv.Counts = append(hv.Counts, stateCount{State: st.String(), N: n})
		}
	}
	return hv
}

// providerCard is a provider and its models, folding the healthy and the unknown ones when it
// has more than foldModelsAbove (their cards, charts above all, are not computed).
func (p *Page) providerCard(prov detectors.Status, models []detectors.Status, now time.Time) providerCard {
	pc := providerCard{Series: p.card(prov, prov.State, now)}
	pc.Series.Vendor = p.buildVendor(prov.Series.Provider, prov.State, now)
	folding := len(models) > foldModelsAbove
	var folded [2][]string // healthy, unknown
	for _, s := range models {
		eff := health.Effective(s.State, prov.State)
		if folding && len(s.Local) == 0 {
			switch eff {
			case detectors.StateHealthy:
				folded[0] = append(folded[0], s.Series.Model)
				continue
			case detectors.StateUnknown:
				folded[1] = append(folded[1], s.Series.Model)
				continue
			}
		}
		pc.Models = append(pc.Models, p.card(s, eff, now))
	}
	for i, st := range []detectors.State{detectors.StateHealthy, detectors.StateUnknown} {
		if len(folded[i]) > 0 {
			pc.Folds = append(pc.Folds, fold{Provider: prov.Series.Provider, State: st.String(), N: len(folded[i]), Names: strings.Join(folded[i], ", ")})
		}
	}
	return pc
}

func (p *Page) card(s detectors.Status, eff detectors.State, now time.Time) seriesCard {
	c := seriesCard{
		Provider: s.Series.Provider, Model: s.Series.Model, State: eff.String(), OwnState: s.State.String(),
		Since: timeTextOf(s.Since, now), Reason: reasonOf(s),
		Baseline: baselineLine(s.Baseline), Grafana: p.grafanaLink(s.Series),
		Local: localEntries(s, eff, now),
	}
	points, window, figures := slices.Values([]Point(nil)), DefaultKeep, s.Figures
	if p.hist != nil {
		points, window = p.hist.points(s.Series), p.hist.Keep()
		// The engine's call-rate figure lags the rate (a decayed count); show the recent rate.
		figures.CallRate = p.hist.CallRate(s.Series, s.Figures.CallRate, now)
	}
	c.Charts = charts(points, figures, now, window)
	return c
}

// grafanaLink points at the outagewatch-overview dashboard (as alert messages do) with the
// series selected, over the last hour.
func (p *Page) grafanaLink(k detectors.SeriesKey) string {
	if p.opts.GrafanaURL == "" {
		return ""
	}
	q := url.Values{"var-provider": {k.Provider}, "from": {"now-1h"}, "to": {"now"}}
	if k.Model != "" {
		q.Set("var-model", k.Model)
	}
	return strings.TrimRight(p.opts.GrafanaURL, "/") + "/d/outagewatch-overview?" + q.Encode()
}
