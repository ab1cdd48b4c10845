package statuspage

import (
	"strconv"
	"strings"
	"time"

	"github.com/outagewatch/outagewatch/detectors"
	"github.com/outagewatch/outagewatch/health"
	"github.com/outagewatch/outagewatch/incidents"
	"github.com/outagewatch/outagewatch/vendorstatus"
)

// The provider's own status page, beside our verdict (issue 25): a line under each provider's
// header, and on an incident's page the provider's post linked to it with its lead time. The
// line is rendered with the page and its live fragment (refreshed every 10 s); live.js does not
// change it on stream events.

// maxVendorText bounds the page's texts we show (an incident's name, an error), in characters.
const maxVendorText = 200

// vendorLine is a provider's own status page, in one line.
type vendorLine struct {
	Shown bool
	// Indicator is the page's indicator (none, minor, major, critical, maintenance, unknown), for
	// the CSS class and data-indicator.
	Indicator string
	// Text follows "Status page: ": "Partial outage — Elevated errors on Claude Sonnet (posted
	// 14:07 UTC)", "all operational", "unknown (timeout)".
	Text string
	// Page is the provider's page, the line's link ("" leaves the line unlinked); Title the
	// whole error of an unreadable page.
	Page  string
	Title string
	// Note is health.VendorNote's sentence when the page disagrees with our verdict.
	Note string
}

// indicatorWords name the page's indicators as the line shows them.
var indicatorWords = map[vendorstatus.Indicator]string{
	vendorstatus.IndicatorNone:        "Incident", // an open incident of no impact
	vendorstatus.IndicatorMinor:       "Degraded performance",
	vendorstatus.IndicatorMajor:       "Partial outage",
	vendorstatus.IndicatorCritical:    "Major outage",
	vendorstatus.IndicatorMaintenance: "Maintenance",
}

// buildVendor reads the provider's page from the source, beside our state ours.
func (p *Page) buildVendor(provider string, ours detectors.State, now time.Time) vendorLine {
	if p.opts.VendorStatus == nil {
		return vendorLine{}
	}
	s, ok := p.opts.VendorStatus.VendorStatus(provider)
	if !ok {
		return vendorLine{}
	}
	return vendorLineOf(s, ours, now)
}

func vendorLineOf(s vendorstatus.Status, ours detectors.State, now time.Time) vendorLine {
	l := vendorLine{Shown: true, Indicator: string(s.Indicator), Page: s.Page}
	if _, known := indicatorWords[s.Indicator]; !known && s.Indicator != vendorstatus.IndicatorUnknown {
		l.Indicator = string(vendorstatus.IndicatorUnknown) // a CSS class: keep it to the known words
	}
	open := s.OpenIncidents()
	switch {
	case s.Indicator == vendorstatus.IndicatorUnknown:
		l.Text = "unknown"
		if s.Error != "" {
			l.Text += " (" + oneLine(shortError(s.Error), maxVendorText) + ")"
			l.Title = oneLine(s.Error, 2*maxVendorText)
		}
	case len(open) > 0:
		l.Text = indicatorWords[s.Indicator] + " — " + oneLine(open[0].Name, maxVendorText)
		if !open[0].CreatedAt.IsZero() {
			l.Text += " (posted " + formatMinute(open[0].CreatedAt, now) + ")"
		}
		if n := len(open) - 1; n > 0 {
			l.Text += " and " + strconv.Itoa(n) + " more"
		}
	case s.Indicator == vendorstatus.IndicatorNone:
		l.Text = "all operational"
	default:
		l.Text = indicatorWords[s.Indicator]
		if l.Text == "" {
			l.Text = oneLine(string(s.Indicator), maxVendorText) // a word of a newer page format
		}
		if d := oneLine(s.Description, maxVendorText); d != "" {
			l.Text += " — " + d
		}
	}
	if note, disagrees := health.VendorNote(ours, s); disagrees {
		l.Note = note
	}
	return l
}

// shortError drops a request's method and URL from an error ("GET https://…/summary.json:
// timeout" is "timeout"): the line links to the page already.
func shortError(e string) string {
	for _, m := range []string{"GET ", "HEAD "} {
		if rest, ok := strings.CutPrefix(e, m); ok {
			if _, after, ok := strings.Cut(rest, ": "); ok && after != "" {
				return after
			}
		}
	}
	return e
}

// formatMinute is a time in UTC to the minute, with the date when it is not now's day:
// 14:07 UTC, 19 Jun 14:07 UTC, 19 Jun 2025 14:07 UTC.
func formatMinute(t, now time.Time) string {
	t, now = t.UTC(), now.UTC()
	switch {
	case t.YearDay() == now.YearDay() && t.Year() == now.Year():
		return t.Format("15:04 UTC")
	case t.Year() == now.Year():
		return t.Format("2 Jan 15:04 UTC")
	}
	return t.Format("2 Jan 2006 15:04 UTC")
}

// vendorPost is the provider's post linked to an incident, for the incident's page.
type vendorPost struct {
	Name, URL string
	// Posted is "at 14:13 UTC, 6 min after outagewatch detected it".
	Posted string
	// Resolved is "resolved there at 15:02 UTC, 4 min after outagewatch's resolution", or "still
	// open there".
	Resolved string
}

// vendorPostOf shows inc's linked post, if any; detection is the opening event's time (the
// incident's OpenedAt when the timeline was not read).
func vendorPostOf(inc incidents.Incident, events []incidents.Event, now time.Time) *vendorPost {
	v := inc.Vendor
	if !v.Linked() {
		return nil
	}
	detected := inc.OpenedAt
	for _, e := range events {
		if e.Kind == incidents.EventOpened {
			detected = e.At
			break
		}
	}
	post := &vendorPost{Name: oneLine(v.Name, maxVendorText), URL: v.URL}
	post.Posted = "at " + formatMinute(v.PostedAt, now) + ", " + relative(v.PostedAt.Sub(detected), "outagewatch detected it", "outagewatch’s detection")
	switch {
	case v.ResolvedAt.IsZero():
		post.Resolved = "still open there"
	case inc.ResolvedAt.IsZero():
		post.Resolved = "resolved there at " + formatMinute(v.ResolvedAt, now) + ", while outagewatch’s incident is still " + string(inc.State)
	default:
		post.Resolved = "resolved there at " + formatMinute(v.ResolvedAt, now) + ", " +
			relative(v.ResolvedAt.Sub(inc.ResolvedAt), "outagewatch’s resolution", "outagewatch’s resolution")
	}
	return post
}

// relative says how long after (or before, when negative) the thing clause names something
// was, to the minute: "6 min after outagewatch detected it", "1 h 5 min before …"; "within a
// minute of <noun>" under half a minute.
func relative(d time.Duration, clause, noun string) string {
	word := "after"
	if d < 0 {
		d, word = -d, "before"
	}
	m := int64(d.Round(time.Minute) / time.Minute)
	var amount string
	switch {
	case m == 0:
		return "within a minute of " + noun
	case m < 60:
		amount = strconv.FormatInt(m, 10) + " min"
	case m%60 == 0:
		amount = strconv.FormatInt(m/60, 10) + " h"
	default:
		amount = strconv.FormatInt(m/60, 10) + " h " + strconv.FormatInt(m%60, 10) + " min"
	}
	return amount + " " + word + " " + clause
}
