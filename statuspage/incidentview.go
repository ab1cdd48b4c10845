package statuspage

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/outagewatch/outagewatch/detectors"
	"github.com/outagewatch/outagewatch/incidents"
)

// The incident part of the page: open incidents with their timelines, the last resolved ones
// and the active silences, read from the store with a deadline.

// Bounds of the index page; the incident page shows a whole timeline.
const (
	maxActive      = 20 // open incidents shown, each with one Get
	maxResolved    = 10
	indexTimeline  = 8    // the last events of each open incident
	maxSampleShown = 2000 // characters of a sample error on the incident page
)

type incidentCard struct {
	ID       int64
	Provider string
	// Caller says whose a local incident is ("batch-jobs only"): one caller's failures while
	// the others stay at their baseline (issue 18); "" for a provider incident.
	Caller    string
	Models    string
	Detectors string
	Severity  string
	State     string
	Opened    timeText
	Resolved  timeText
	Duration  string
	AckBy     string
	Acked     timeText
	ResolveBy string
	Peak      string
	Timeline  []eventRow
	Earlier   int // events before Timeline, left to the incident page
	// Vendor is the provider's own post linked to the incident; nil when none (vendorview.go).
	Vendor *vendorPost
}

type eventRow struct {
	At       timeText
	Kind     string
	Series   string // the series of a transition, else ""
	From, To string // states of a transition, else ""
	Severity string // the new severity of an escalation or de-escalation
	Actor    string
	Reason   string
	Evidence []field // for the incident page
}

// field is one labelled value of the evidence; a Wide one takes a whole row.
type field struct {
	Label, Value string
	Wide         bool
}

type silenceRow struct {
	Provider  string
	Model     string
	Until     timeText
	EndsIn    string
	Reason    string
	CreatedBy string
	Created   timeText
}

// incidentsView is the incident part of the index page.
type incidentsView struct {
	Active      []incidentCard
	Resolved    []incidentCard
	Unavailable bool // the store did not answer: the page says so
	Silences    []silenceRow
	// SilencesUnavailable says the silences could not be read.
	SilencesUnavailable bool
}

func (p *Page) buildIncidents(ctx context.Context, now time.Time) incidentsView {
	ctx, cancel := context.WithTimeout(ctx, p.opts.StoreTimeout)
	defer cancel()
	var v incidentsView
	if err := p.readIncidents(ctx, now, &v); err != nil {
		v.Active, v.Resolved, v.Unavailable = nil, nil, true
	}
	if p.silences == nil {
		v.SilencesUnavailable = true
		return v
	}
	silences, err := p.silences.Silences(ctx, now)
	if err != nil {
		v.SilencesUnavailable = true
		return v
	}
	for _, s := range silences {
		if s.Active(now) {
			v.Silences = append(v.Silences, silenceRowOf(s, now))
		}
	}
	return v
}

var errNoStore = errors.New("no incident store")

func (p *Page) readIncidents(ctx context.Context, now time.Time, v *incidentsView) error {
	if p.incs == nil {
		return errNoStore
	}
	active, err := p.incs.List(ctx, incidents.Filter{State: "active", Limit: maxActive})
	if err != nil {
		return err
	}
	for _, inc := range active {
		inc, events, err := p.incs.Get(ctx, inc.ID)
		if errors.Is(err, incidents.ErrNotFound) {
			continue // deleted between the two reads
		}
		if err != nil {
			return err
		}
		card := incidentCardOf(inc, events, now)
		if n := len(events); n > indexTimeline {
			card.Earlier, events = n-indexTimeline, events[n-indexTimeline:]
		}
		card.Timeline = eventRows(events, now, false)
		v.Active = append(v.Active, card)
	}
	resolved, err := p.incs.List(ctx, incidents.Filter{State: "resolved", Limit: maxResolved})
	if err != nil {
		return err
	}
	for _, inc := range resolved {
		// The stored severity is the last one: an incident that went down and recovered through
		// degraded ends as a warning. Its timeline says how bad it was; without the timeline (a
		// failed read) the stored severity is shown.
		var events []incidents.Event
		if full, evs, err := p.incs.Get(ctx, inc.ID); err == nil {
			inc, events = full, evs
		} else if ctx.Err() != nil {
			return ctx.Err()
		}
		v.Resolved = append(v.Resolved, incidentCardOf(inc, events, now))
	}
	return nil
}

// shownSeverity is the severity the page shows: an active incident's current one, a resolved
// incident's peak (critical when any of its series went down, as its timeline records).
func shownSeverity(inc incidents.Incident, events []incidents.Event) incidents.Severity {
	if inc.State != incidents.StateResolved || inc.Severity == incidents.SeverityCritical {
		return inc.Severity
	}
	for _, e := range events {
		if e.Severity == incidents.SeverityCritical || e.Kind == incidents.EventEscalated || e.To == detectors.StateDown.String() {
			return incidents.SeverityCritical
		}
	}
	return inc.Severity
}

// incidentCardOf shows an incident; events are its timeline (nil when not read), from which a
// resolved incident's peak severity comes.
func incidentCardOf(inc incidents.Incident, events []incidents.Event, now time.Time) incidentCard {
	view := incidents.View(inc, now)
	models := make([]string, 0, len(inc.Models))
	for _, m := range inc.Models {
		models = append(models, seriesName(m))
	}
	pk := inc.Peak
	return incidentCard{
		ID: inc.ID, Provider: inc.Provider, Caller: callerOnly(inc.Caller), Models: strings.Join(models, ", "),
		Detectors: strings.Join(inc.Detectors, ", "), Severity: string(shownSeverity(inc, events)), State: string(inc.State),
		Opened: timeTextOf(inc.OpenedAt, now), Resolved: timeTextOf(inc.ResolvedAt, now),
		Duration: formatDuration(time.Duration(view.DurationSeconds * float64(time.Second))),
		AckBy:    inc.AcknowledgedBy, Acked: timeTextOf(inc.AcknowledgedAt, now), ResolveBy: inc.ResolvedBy,
		Peak: "errors " + formatPercent(pk.ErrorRate) + ", truncation " + formatPercent(pk.TruncationRate) +
			", rate limited " + formatPercent(pk.RateLimitRate) + ", " + strings.TrimSuffix(formatRate(pk.CallRate), "/s") + " calls/s",
		Vendor: vendorPostOf(inc, events, now),
	}
}

// callerOnly says whose a local incident is: "batch-jobs only" for a service, "endpoint
// eu.api.example.com only" for an endpoint host; "" for a provider incident. A caller stored in
// a form this build does not know is shown as stored.
func callerOnly(caller string) string {
	c, err := detectors.ParseCaller(caller)
	switch {
	case caller == "":
		return ""
	case err != nil:
		return caller + " only"
	case c.Kind == detectors.CallerService:
		return c.Name + " only"
	}
	return string(c.Kind) + " " + c.Name + " only"
}

// seriesName names a series of a provider: its model, or the provider's own pooled series.
func seriesName(model string) string {
	if model == "" {
		return "all models (provider-wide)"
	}
	return model
}

// stateWord keeps state names from the store to the four known ones: they become CSS classes.
func stateWord(s string) string {
	if st, ok := detectors.ParseState(s); ok {
		return st.String()
	}
	return ""
}

func eventRows(events []incidents.Event, now time.Time, withEvidence bool) []eventRow {
	rows := make([]eventRow, 0, len(events))
	for _, e := range events {
		r := eventRow{At: timeTextOf(e.At, now), Kind: string(e.Kind), Actor: e.Actor}
		switch e.Kind {
		case incidents.EventOpened, incidents.EventTransition:
			r.Series, r.From, r.To = seriesName(e.Model), stateWord(e.From), stateWord(e.To)
		case incidents.EventEscalated, incidents.EventDeescalated:
			r.Severity = string(e.Severity)
		}
		if e.Evidence.Detector != "" {
			r.Reason = reasonLine(storedEvidenceOf(e.Evidence))
			if withEvidence {
				r.Evidence = evidenceFields(e.Evidence, now)
			}
		}
		rows = append(rows, r)
	}
	return rows
}

// evidenceFields lists every figure of the evidence, for the incident page; the detectors
// that measure no rate (warm-up, silence, recovery, roll-up) have only their name and call rate.
func evidenceFields(ev incidents.Evidence, now time.Time) []field {
	f := []field{{Label: "detector", Value: ev.Detector}}
	if _, rate := detectorLabels[ev.Detector]; rate {
		f = append(f, field{Label: "observed rate", Value: formatPercent(ev.Observed)}, field{Label: "usual rate (baseline)", Value: formatPercent(ev.Baseline)})
		if ev.Threshold != 0 {
			f = append(f, field{Label: "threshold", Value: strconv.FormatFloat(ev.Threshold, 'f', 2, 64) + " nats"})
		}
		if !ev.ChangePoint.IsZero() {
			f = append(f, field{Label: "change began", Value: formatClock(ev.ChangePoint, now)})
		}
		f = append(f,
			field{Label: "window", Value: formatDuration(time.Duration(ev.Window * float64(time.Second)))},
			field{Label: "calls in the window", Value: strconv.Itoa(ev.SampleSize)},
			field{Label: "of which counted", Value: strconv.Itoa(ev.Events)},
		)
	}
	if ev.CallRate != 0 {
		f = append(f, field{Label: "call rate", Value: formatRate(ev.CallRate)})
	}
	if classes := storedEvidenceOf(ev).Classes; len(classes) > 0 {
		parts := make([]string, 0, len(classes))
		for _, c := range classes {
			parts = append(parts, c.Class+" "+strconv.Itoa(c.Count))
		}
		f = append(f, field{Label: "error classes", Value: strings.Join(parts, ", ")})
	}
	if ev.SampleError != "" {
		f = append(f, field{Label: "sample error", Value: oneLine(ev.SampleError, maxSampleShown), Wide: true})
	}
	return f
}

func silenceRowOf(s incidents.Silence, now time.Time) silenceRow {
	return silenceRow{
		Provider: s.Provider, Model: s.Model, Until: timeTextOf(s.Until, now),
		EndsIn: "ends in " + formatDuration(s.Until.Sub(now)), Reason: s.Reason, CreatedBy: s.CreatedBy,
		Created: timeTextOf(s.CreatedAt, now),
	}
}
