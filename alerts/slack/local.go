package slack

import (
	"fmt"
	"github.com/outagewatch/outagewatch/alerts"
	"strings"

	"github.com/outagewatch/outagewatch/incidents"
)

// Local incidents (issue 18): one caller's calls to a provider fail while its other callers stay
// at their baseline. Such an incident has its own thread, and its root says whose failures they
// are and what that points to, so that the reader looks at the caller instead of the provider.

// Caller kinds, as the text form of detectors.Caller spells them ("service:batch-jobs",
// "endpoint:eu.api.example.com"). They are parsed here rather than with detectors.ParseCaller so
// that a row of an older build (a bare service name) still renders.
const (
	kindService  = "service"
	kindEndpoint = "endpoint"
)

// otherCaller is the name the engine gives the callers beyond the ones it counts one by one.
const otherCaller = "other"

// caller is an incident's or an evidence's caller, split into kind and name.
type caller struct{ kind, name string }

// parseCaller splits "kind:name"; a bare name (an older build's confined_to) is a service.
func parseCaller(s string) caller {
	if kind, name, ok := strings.Cut(s, ":"); ok && (kind == kindService || kind == kindEndpoint) {
		return caller{kind: kind, name: name}
	}
	return caller{kind: kindService, name: s}
}

// label names the caller in prose: "batch-jobs", or "endpoint eu.api.example.com".
func (c caller) label() string {
	if c.kind == kindEndpoint {
		return "endpoint " + c.name
	}
	return c.name
}

// subject names what an incident is about: "anthropic", or for a local incident "anthropic for
// batch-jobs" / "anthropic via endpoint eu.api.example.com".
func subject(inc incidents.Incident) string {
	if inc.Caller == "" {
		return inc.Provider
	}
	c := parseCaller(inc.Caller)
	if c.kind == kindEndpoint {
		return inc.Provider + " via " + c.label()
	}
	return inc.Provider + " for " + c.name
}

// localText is a local incident's verdict, built from the evidence of the event that opened it:
// "*batch-jobs* fails alone: 95.0% errors (mostly timeout) on its calls to
// `anthropic/claude-sonnet-4-5`; 2 other services at their baseline: likely batch-jobs' own
// network, key or deploy". "" for a provider incident.
func localText(inc incidents.Incident, timeline []incidents.Event) string {
	if inc.Caller == "" {
		return ""
	}
	c := parseCaller(inc.Caller)
	var b strings.Builder
	if c.kind == kindEndpoint {
		fmt.Fprintf(&b, "Endpoint *%s* fails alone", escape(c.name))
	} else {
		fmt.Fprintf(&b, "*%s* fails alone", escape(c.name))
	}
	ev, ok := openingEvidence(timeline)
	if ok {
		series := inc.Provider
		if ev.Model != "" {
			series += "/" + ev.Model
		}
		fmt.Fprintf(&b, ": %s %s", percent(ev.Evidence.Observed), alerts.Failures(ev.Evidence.Detector))
		if top := topClass(ev.Evidence.Classes); top != "" {
			fmt.Fprintf(&b, " (mostly %s)", escape(top))
		}
		fmt.Fprintf(&b, " on its calls to `%s`", code(series))
	}
	b.WriteString("; " + othersText(c, ev.Evidence))
	if c.kind == kindEndpoint {
		b.WriteString(": likely that region or deployment")
	} else {
		fmt.Fprintf(&b, ": likely %s own network, key or deploy", escape(possessive(c.name)))
	}
	return b.String()
}

// openingEvidence returns the first event of the timeline with evidence: the one that opened it.
func openingEvidence(timeline []incidents.Event) (incidents.Event, bool) {
	for _, ev := range timeline {
		if (ev.Kind == incidents.EventOpened || ev.Kind == incidents.EventTransition) && ev.Evidence.Detector != "" {
			return ev, true
		}
	}
	return incidents.Event{}, false
}

// othersText counts the caller's peers the evidence compared it with: "2 other services at
// their baseline".
func othersText(c caller, e incidents.Evidence) string {
	var names []string
	if c.kind == kindEndpoint {
		for _, s := range e.Endpoints {
			names = append(names, s.Endpoint)
		}
	} else {
		for _, s := range e.Callers {
			names = append(names, s.Service)
		}
	}
	n, more := 0, false
	for _, name := range names {
		switch name {
		case c.name:
		case otherCaller:
			more = true // several callers share the engine's last slot
		default:
			n++
		}
	}
	noun := "services"
	if c.kind == kindEndpoint {
		noun = "endpoints"
	}
	switch {
	case more:
		return fmt.Sprintf("%d or more other %s at their baseline", n+1, noun)
	case n == 0:
		return "the other " + noun + " at their baseline"
	case n == 1:
		return "1 other " + strings.TrimSuffix(noun, "s") + " at its baseline"
	default:
		return fmt.Sprintf("%d other %s at their baseline", n, noun)
	}
}

// topClass returns the most frequent error class, "" when there is none.
func topClass(classes incidents.ClassCounts) string {
	if sorted := classes.Sorted(); len(sorted) > 0 {
		return sorted[0].Class
	}
	return ""
}

func possessive(name string) string {
	if strings.HasSuffix(name, "s") {
		return name + "'"
	}
	return name + "'s"
}

// widened reports whether ev ends a local incident because its failures spread to the other
// callers (the provider's own incident took them over).
func widened(ev incidents.Event) bool { return ev.Evidence.Detector == "widened" }

// widenedText says where a widened local incident's failures went: "the failures spread beyond
// *batch-jobs*: see the *anthropic* incident".
func widenedText(inc incidents.Incident) string {
	return fmt.Sprintf("the failures spread beyond *%s*: see the *%s* incident",
		escape(parseCaller(inc.Caller).label()), escape(inc.Provider))
}

// lastWidened reports whether the timeline ends with a widened resolution.
func lastWidened(timeline []incidents.Event) bool {
	for i := len(timeline) - 1; i >= 0; i-- {
		if timeline[i].Kind == incidents.EventResolved {
			return widened(timeline[i])
		}
	}
	return false
}
