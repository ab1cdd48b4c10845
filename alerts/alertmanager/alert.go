package alertmanager

import (
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/outagewatch/outagewatch/incidents"
)

// Alert is Alertmanager's API v2 postableAlert (api/v2/openapi.yaml): the label set identifies
// the alert (Alertmanager's fingerprint), the annotations describe it, and endsAt in the past
// resolves it.
type Alert struct {
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations,omitempty"`
	StartsAt     time.Time         `json:"startsAt,omitzero"`
	EndsAt       time.Time         `json:"endsAt,omitzero"`
	GeneratorURL string            `json:"generatorURL,omitempty"`
}

// Alert names (the alertname label), by the incident's severity.
const (
	AlertDown     = "LLMProviderDown"     // critical: a series of the incident is down
	AlertDegraded = "LLMProviderDegraded" // warning: its series are only degraded
)

// Label names.
const (
	LabelAlertname  = "alertname"
	LabelProvider   = "provider"
	LabelModel      = "model"
	LabelSeverity   = "severity"
	LabelIncidentID = "incident_id"
	LabelService    = "service"  // a local incident's calling service
	LabelEndpoint   = "endpoint" // a local incident's provider endpoint host
)

// Annotation names; empty ones are left out.
const (
	AnnotationSummary     = "summary"
	AnnotationDescription = "description"
	AnnotationStatusPage  = "status_page_url"
	AnnotationDashboard   = "dashboard_url"
	AnnotationIncident    = "incident_url"
	AnnotationRunbook     = "runbook_url"
)

// maxModels bounds the models a summary names before "and N more"; the model label names them
// all.
const maxModels = 10

// Alerts returns what is posted for incident inc, with timeline its events oldest first, when
// event eventID is notified at now: the incident's alert as it is now, firing with endsAt
// now + 4×ResendInterval while the incident is active, resolved with endsAt its ResolvedAt once
// it is resolved; and, when the label set the incident had before eventID's step differs (an
// escalation, a model that joined), that older alert too with endsAt now, so that Alertmanager
// resolves it instead of holding two alerts of one incident. Events recorded at the same instant
// are one step (one change of the incident). eventID 0, or one not on the timeline, stands for
// the latest event (the Resender's case). Only o's RunbookURL, Links and ResendInterval are used.
func Alerts(inc incidents.Incident, timeline []incidents.Event, eventID int64, o Options, now time.Time) []Alert {
	now = now.UTC()
	cur := Alert{
		Labels:       labels(inc, inc.Severity, inc.Models),
		Annotations:  annotations(inc, timeline, o),
		StartsAt:     startsAt(inc, timeline),
		EndsAt:       now.Add(4 * resendInterval(o)),
		GeneratorURL: generatorURL(inc, o),
	}
	if !inc.State.Active() {
		cur.EndsAt = inc.ResolvedAt.UTC()
		if inc.ResolvedAt.IsZero() {
			cur.EndsAt = now
		}
	}
	// Alertmanager refuses an alert that ends before it starts.
	cur.StartsAt = minTime(cur.StartsAt, cur.EndsAt)
	out := []Alert{cur}
	if sev, models, ok := before(timeline, eventID); ok {
		if prev := labels(inc, sev, models); !maps.Equal(prev, cur.Labels) {
			old := cur
			old.Labels = prev
			old.EndsAt = minTime(now, cur.EndsAt)
			old.StartsAt = minTime(old.StartsAt, old.EndsAt)
			out = append(out, old)
		}
	}
	return out
}

func resendInterval(o Options) time.Duration {
	if o.ResendInterval > 0 {
		return o.ResendInterval
	}
	return defaultResendInterval
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// labels is the incident's label set at severity sev with models.
func labels(inc incidents.Incident, sev incidents.Severity, models []string) map[string]string {
	name := AlertDegraded
	if sev == incidents.SeverityCritical {
		name = AlertDown
	}
	l := map[string]string{
		LabelAlertname:  name,
		LabelProvider:   inc.Provider,
		LabelSeverity:   string(sev),
		LabelIncidentID: fmt.Sprint(inc.ID),
	}
	if len(models) > 0 {
		l[LabelModel] = strings.Join(models, ",")
	}
	if inc.Caller != "" {
		c := parseCaller(inc.Caller)
		if c.kind == kindEndpoint {
			l[LabelEndpoint] = c.name
		} else {
			l[LabelService] = c.name
		}
	}
	for k, v := range l {
		l[k] = strings.ToValidUTF8(v, "\uFFFD") // Alertmanager refuses invalid UTF-8
		if v == "" {
			delete(l, k) // an empty value is no label in Alertmanager
		}
	}
	return l
}

// before returns the severity and models the incident had after the step before eventID's step:
// every event recorded before it. ok is false when there is no such step.
func before(timeline []incidents.Event, eventID int64) (incidents.Severity, []string, bool) {
	if len(timeline) == 0 {
		return "", nil, false
	}
	at := timeline[len(timeline)-1].At
	for _, e := range timeline {
		if e.ID == eventID {
			at = e.At
		}
	}
	var sev incidents.Severity
	var models []string
	for _, e := range timeline {
		if !e.At.Before(at) {
			continue
		}
		switch e.Kind {
		case incidents.EventOpened, incidents.EventEscalated, incidents.EventDeescalated:
			// A transition's severity is the incident's only while one of its series fails (a
			// recovery carries warning), so the severity is taken from these events alone.
			sev = e.Severity
		}
		if e.Model != "" && !slices.Contains(models, e.Model) {
			models = append(models, e.Model)
		}
	}
	slices.Sort(models)
	return sev, models, sev != ""
}

// startsAt is the change point of the evidence that opened the incident, else its opening time.
func startsAt(inc incidents.Incident, timeline []incidents.Event) time.Time {
	// A change point after the opening would be a clock's error; the opening bounds it.
	if ev, ok := opening(timeline); ok && !ev.Evidence.ChangePoint.IsZero() && !ev.Evidence.ChangePoint.After(inc.OpenedAt) {
		return ev.Evidence.ChangePoint.UTC()
	}
	return inc.OpenedAt.UTC()
}

// opening returns the first event with evidence: the one that opened the incident.
func opening(timeline []incidents.Event) (incidents.Event, bool) {
	for _, ev := range timeline {
		if hasEvidence(ev) {
			return ev, true
		}
	}
	return incidents.Event{}, false
}

func hasEvidence(ev incidents.Event) bool {
	return (ev.Kind == incidents.EventOpened || ev.Kind == incidents.EventTransition) && ev.Evidence.Detector != ""
}

// generatorURL is the incident in the API, when its base URL is configured.
func generatorURL(inc incidents.Incident, o Options) string {
	if base := strings.TrimRight(o.Links.APIURL, "/"); base != "" {
		return fmt.Sprintf("%s/v1/incidents/%d", base, inc.ID)
	}
	return ""
}

// annotations describe the incident: a sentence, its evidence, and where to look.
func annotations(inc incidents.Incident, timeline []incidents.Event, o Options) map[string]string {
	a := map[string]string{
		AnnotationSummary:     summary(inc),
		AnnotationDescription: description(inc, timeline),
		AnnotationRunbook:     o.RunbookURL,
	}
	if base := strings.TrimRight(o.Links.APIURL, "/"); base != "" {
		a[AnnotationStatusPage] = base + "/"
		a[AnnotationIncident] = fmt.Sprintf("%s/incidents/%d", base, inc.ID)
	}
	if base := strings.TrimRight(o.Links.GrafanaURL, "/"); base != "" {
		a[AnnotationDashboard] = base + "/d/outagewatch-provider?var-provider=" + url.QueryEscape(inc.Provider)
	}
	for k, v := range a {
		if v == "" {
			delete(a, k)
		}
	}
	return a
}
