package webhook

import (
	"fmt"
	"github.com/outagewatch/outagewatch/alerts"
	"strings"
	"time"

	"github.com/outagewatch/outagewatch/incidents"
)

// The summary says in one plain sentence what the Slack messages of the same event say
// (alerts/slack/render.go), without their markup.

// maxModels bounds the models a summary names before "and N more".
const maxModels = 10

// widenedDetector is the evidence of a local incident whose failures spread to the provider's
// other callers (detectors.DetectorWidened).
const widenedDetector = "widened"

// summary is one sentence for people about event ev of incident inc, sent as type typ.
func summary(typ string, inc incidents.Incident, ev incidents.Event) string {
	who := subject(inc)
	switch typ {
	case TypeOpened:
		sev := cmpSeverity(ev.Severity, inc.Severity)
		return fmt.Sprintf("%s %s (%s): %s, since %s", who, stateWord(sev), sev,
			modelList(inc.Models), inc.OpenedAt.UTC().Format("2006-01-02 15:04 UTC"))
	case TypeEscalated:
		return fmt.Sprintf("%s escalated to %s", who, ev.Severity)
	case TypeAcknowledged:
		return fmt.Sprintf("%s acknowledged by %s", who, cmpActor(ev.Actor, inc.AcknowledgedBy))
	case TypeResolved:
		return resolvedSummary(inc, ev)
	}
	switch ev.Kind {
	case incidents.EventVendorPosted:
		return vendorPosted(inc, ev)
	case incidents.EventVendorResolved:
		return fmt.Sprintf("%s resolved “%s” on its status page at %s", inc.Provider, inc.Vendor.Name,
			cmpTime(inc.Vendor.ResolvedAt, ev.At).UTC().Format("15:04 UTC"))
	}
	if ev.Kind == incidents.EventDeescalated {
		return fmt.Sprintf("%s de-escalated to %s", who, ev.Severity)
	}
	series := inc.Provider
	if ev.Model != "" {
		series += "/" + ev.Model
	}
	if inc.Caller != "" && ev.Evidence.Detector == widenedDetector {
		return fmt.Sprintf("%s: the failures spread beyond %s: see the %s incident", series, callerLabel(inc.Caller), inc.Provider)
	}
	if inc.Caller != "" {
		series += " for " + callerLabel(inc.Caller)
	}
	return fmt.Sprintf("%s: %s → %s", series, ev.From, ev.To)
}

// resolvedSummary says how long the incident lasted, and who ended it or where its failures
// went.
func resolvedSummary(inc incidents.Incident, ev incidents.Event) string {
	end := inc.ResolvedAt
	if end.IsZero() {
		end = ev.At
	}
	took := alerts.Duration(end.Sub(inc.OpenedAt))
	who := subject(inc)
	by := cmpActor(inc.ResolvedBy, ev.Actor)
	switch {
	case by != "" && by != incidents.Actor:
		return fmt.Sprintf("%s resolved by %s after %s", who, by, took)
	case inc.Caller != "" && ev.Evidence.Detector == widenedDetector:
		return fmt.Sprintf("%s ended after %s: the failures spread beyond %s: see the %s incident", who, took,
			callerLabel(inc.Caller), inc.Provider)
	default:
		return fmt.Sprintf("%s recovered after %s", who, took)
	}
}

func cmpSeverity(a, b incidents.Severity) incidents.Severity {
	if a != "" {
		return a
	}
	return b
}

func cmpActor(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func stateWord(sev incidents.Severity) string {
	if sev == incidents.SeverityCritical {
		return "is down"
	}
	return "is degraded"
}

// subject names what an incident is about: "anthropic", or for a local incident "anthropic for
// batch-jobs" / "anthropic via endpoint eu.api.example.com".
func subject(inc incidents.Incident) string {
	if inc.Caller == "" {
		return inc.Provider
	}
	if strings.HasPrefix(inc.Caller, "endpoint:") {
		return inc.Provider + " via " + callerLabel(inc.Caller)
	}
	return inc.Provider + " for " + callerLabel(inc.Caller)
}

// callerLabel names a caller ("service:batch-jobs", "endpoint:eu.api.example.com", or an older
// build's bare service name) in prose: "batch-jobs", "endpoint eu.api.example.com".
func callerLabel(c string) string {
	if name, ok := strings.CutPrefix(c, "endpoint:"); ok {
		return "endpoint " + name
	}
	name, _ := strings.CutPrefix(c, "service:")
	return name
}

// modelList names the models, "all models" for none or the provider's own series.
func modelList(models []string) string {
	if len(models) == 0 {
		return "all models"
	}
	names := make([]string, 0, min(len(models), maxModels)+1)
	for _, m := range models[:min(len(models), maxModels)] {
		if m == "" {
			m = "all models"
		}
		names = append(names, m)
	}
	if len(models) > maxModels {
		names = append(names, fmt.Sprintf("and %d more", len(models)-maxModels))
	}
	return strings.Join(names, ", ")
}

// vendorPosted says when the provider posted the incident on its own status page, and how long
// after (or before) outagewatch opened it.
func vendorPosted(inc incidents.Incident, ev incidents.Event) string {
	posted := cmpTime(inc.Vendor.PostedAt, ev.At)
	lead := posted.Sub(inc.OpenedAt)
	when := "within a minute of outagewatch detecting it"
	switch {
	case lead >= time.Minute:
		when = alerts.Duration(lead) + " after outagewatch detected it"
	case lead <= -time.Minute:
		when = alerts.Duration(-lead) + " before outagewatch detected it"
	}
	return fmt.Sprintf("%s posted “%s” on its status page at %s, %s", inc.Provider, inc.Vendor.Name,
		posted.UTC().Format("15:04 UTC"), when)
}

func cmpTime(a, b time.Time) time.Time {
	if !a.IsZero() {
		return a
	}
	return b
}
