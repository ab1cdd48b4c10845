package alertmanager

import (
	"fmt"
	"github.com/outagewatch/outagewatch/alerts"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/outagewatch/outagewatch/incidents"
)

// The annotations say in plain text what the Slack messages of the same incident say
// (alerts/slack/render.go), without their markup: Alertmanager's receivers template them.

// Limits of what the annotations show.
const (
	maxClasses     = 3    // error classes in the description
	maxDescription = 1000 // characters of the description
)

// Caller kinds, as the text form of detectors.Caller spells them ("service:batch-jobs",
// "endpoint:eu.api.example.com"); a bare name (an older build's) is a service.
const (
	kindService  = "service"
	kindEndpoint = "endpoint"
)

// caller is a local incident's caller, split into kind and name.
type caller struct{ kind, name string }

func parseCaller(s string) caller {
	if kind, name, ok := strings.Cut(s, ":"); ok && (kind == kindService || kind == kindEndpoint) {
		return caller{kind: kind, name: name}
	}
	return caller{kind: kindService, name: s}
}

// subject names what an incident is about: "anthropic", or for a local incident "anthropic for
// batch-jobs" / "anthropic via endpoint eu.api.example.com".
func subject(inc incidents.Incident) string {
	if inc.Caller == "" {
		return inc.Provider
	}
	c := parseCaller(inc.Caller)
	if c.kind == kindEndpoint {
		return inc.Provider + " via endpoint " + c.name
	}
	return inc.Provider + " for " + c.name
}

// summary is one sentence: "anthropic is down: claude-sonnet-4-5", "anthropic for batch-jobs is
// degraded", "anthropic recovered after 12m 5s: claude-sonnet-4-5". A local incident names no
// models: its caller is the point.
func summary(inc incidents.Incident) string {
	var s string
	switch {
	case !inc.State.Active():
		end := inc.ResolvedAt
		if end.IsZero() {
			end = inc.UpdatedAt
		}
		s = fmt.Sprintf("%s recovered after %s", subject(inc), alerts.Duration(end.Sub(inc.OpenedAt)))
	case inc.Severity == incidents.SeverityCritical:
		s = subject(inc) + " is down"
	default:
		s = subject(inc) + " is degraded"
	}
	if inc.Caller == "" && len(inc.Models) > 0 {
		s += ": " + modelList(inc.Models)
	}
	return s
}

// description shows the evidence of the latest failing transition (of the latest transition
// with evidence when none failed): what was observed against the baseline, the top error
// classes, the call rate and the change point. "" without evidence.
func description(inc incidents.Incident, timeline []incidents.Event) string {
	ev, ok := latestEvidence(timeline)
	if !ok {
		return ""
	}
	e := ev.Evidence
	var b strings.Builder
	on := inc.Provider
	if ev.Model != "" {
		on += "/" + ev.Model
	}
	fmt.Fprintf(&b, "%s: %s %s vs %s baseline (%s)", on, percent(e.Observed), alerts.Failures(e.Detector),
		percent(e.Baseline), e.Detector)
	if e.SampleSize > 0 {
		fmt.Fprintf(&b, ", %s of %s calls", thousands(e.Events), thousands(e.SampleSize))
		if e.Window > 0 {
			b.WriteString(" over " + alerts.Duration(time.Duration(e.Window*float64(time.Second))))
		}
	}
	if top := e.Classes.Sorted(); len(top) > 0 {
		total := 0
		for _, c := range top {
			total += c.Count
		}
		b.WriteString("; errors: ")
		for i, c := range top[:min(len(top), maxClasses)] {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%s %s (%s)", c.Class, thousands(c.Count), percent(float64(c.Count)/float64(total)))
		}
		if len(top) > maxClasses {
			fmt.Fprintf(&b, ", %d more", len(top)-maxClasses)
		}
	}
	if e.CallRate > 0 {
		fmt.Fprintf(&b, "; %s calls/s", strconv.FormatFloat(e.CallRate, 'f', -1, 64))
	}
	if !e.ChangePoint.IsZero() {
		b.WriteString("; change point " + e.ChangePoint.UTC().Format("2006-01-02 15:04:05 UTC"))
	}
	b.WriteString(".")
	return truncate(b.String(), maxDescription)
}

// latestEvidence returns the latest transition with evidence that went to a failing state, else
// the latest with evidence at all.
func latestEvidence(timeline []incidents.Event) (incidents.Event, bool) {
	var fallback incidents.Event
	found := false
	for i := len(timeline) - 1; i >= 0; i-- {
		ev := timeline[i]
		if !hasEvidence(ev) {
			continue
		}
		if ev.To == "down" || ev.To == "degraded" {
			return ev, true
		}
		if !found {
			fallback, found = ev, true
		}
	}
	return fallback, found
}

// modelList names the models, at most maxModels of them.
func modelList(models []string) string {
	names := models[:min(len(models), maxModels)]
	s := strings.Join(names, ", ")
	if len(models) > maxModels {
		s += fmt.Sprintf(" and %d more", len(models)-maxModels)
	}
	return s
}

func percent(f float64) string { return strconv.FormatFloat(f*100, 'f', 1, 64) + "%" }

// thousands groups the digits of n: 12,345.
func thousands(n int) string {
	if n < 0 {
		return "-" + thousands(-n)
	}
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// truncate cuts s to n characters, marking the cut with an ellipsis.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
