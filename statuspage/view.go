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
}

// providerCard is a provider with its models.
type providerCard struct {
	Series seriesCard
	Models []seriesCard
}

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
	var provState detectors.State
	for _, s := range statuses {
		eff := s.State
		if s.Series.Model == "" {
			provState = s.State
			hv.Providers = append(hv.Providers, providerCard{Series: p.card(s, eff, now)})
		} else {
			n := len(hv.Providers)
			if n == 0 || hv.Providers[n-1].Series.Provider != s.Series.Provider {
				continue // a model without its provider cannot happen: the engine makes both
			}
			eff = health.Effective(s.State, provState)
			hv.Providers[n-1].Models = append(hv.Providers[n-1].Models, p.card(s, eff, now))
		}
		counts[eff.String()]++
		hv.Series++
	}
	for _, st := range []detectors.State{detectors.StateDown, detectors.StateDegraded, detectors.StateUnknown, detectors.StateHealthy} {
		if n := counts[st.String()]; n > 0 {
			hv.Counts = append(hv.Counts, stateCount{State: st.String(), N: n})
		}
	}
	return hv
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
