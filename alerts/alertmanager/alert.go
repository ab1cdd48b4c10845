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

// Alert names (the alertname label), by the highest severity the incident has reached.
const (
	AlertDown     = "LLMProviderDown"     // critical: a series of the incident was down
	AlertDegraded = "LLMProviderDegraded" // warning: its series have only been degraded
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
	AnnotationModels      = "models" // every model of the incident now, joined by ", "
	AnnotationStatusPage  = "status_page_url"
	AnnotationDashboard   = "dashboard_url"
	AnnotationIncident    = "incident_url"
	AnnotationRunbook     = "runbook_url"
)

// maxModels bounds the models a summary names before "and N more"; the models annotation names
// them all.
const maxModels = 10

// Alerts returns what is posted for incident inc, with timeline its events oldest first, when
// event eventID is notified at now: the incident's alert as it is now, firing with endsAt
// now + 4×ResendInterval while the incident is active, resolved with endsAt its ResolvedAt once
// it is resolved; and, when the label set the incident had before eventID's step differs (an
// escalation), that older alert too with endsAt now, so that Alertmanager resolves it instead of
// holding two alerts of one incident. Events recorded at the same instant are one step (one
// change of the incident). eventID 0, or one not on the timeline, stands for the latest event
// (the Resender's case). Only o's RunbookURL, Links and ResendInterval are used.
//
// The label set is the incident's identity in Alertmanager, so it changes only when the
// incident escalates (identity): a de-escalation or a model that joins updates the annotations
// of the same alert, and the on-call gets one firing and one resolved notification per outage.
func Alerts(inc incidents.Incident, timeline []incidents.Event, eventID int64, o Options, now time.Time) []Alert {
	now = now.UTC()
	models := openingModels(inc, timeline)
	sev, ok := peak(timeline, time.Time{})
	if !ok {
		sev = inc.Severity
	}
	cur := Alert{
		Labels:       labels(inc, sev, models),
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
	if sev, ok := peak(timeline, stepAt(timeline, eventID)); ok {
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

// stepAt is the instant of eventID's step: its event's time, the latest event's when eventID is
// 0 or not on the timeline; zero for an empty timeline.
func stepAt(timeline []incidents.Event, eventID int64) time.Time {
	if len(timeline) == 0 {
		return time.Time{}
	}
	at := timeline[len(timeline)-1].At
	for _, e := range timeline {
		if e.ID == eventID {
			at = e.At
		}
	}
	return at
}

// peak is the highest severity the incident reached before instant before (over the whole
// timeline when before is zero): the highest of its opening's and its escalations' severities.
// A de-escalation lowers the incident's severity, never the alert's, and a transition's
// severity is the incident's only while one of its series fails (a recovery carries warning),
// so only these two kinds count. ok is false when no such event precedes before.
func peak(timeline []incidents.Event, before time.Time) (incidents.Severity, bool) {
	var sev incidents.Severity
	for _, e := range timeline {
		if !before.IsZero() && !e.At.Before(before) {
			continue
		}
		if e.Kind != incidents.EventOpened && e.Kind != incidents.EventEscalated {
			continue
		}
		if sev == "" || e.Severity == incidents.SeverityCritical {
			sev = e.Severity
		}
	}
	return sev, sev != ""
}

// openingModels are the model label's models, sorted: those of the incident's opening step (the
// events recorded at the instant of its opened event, else of its first event), which stay the
// same for the incident's life. When the provider's pooled series (model "") opened it alone,
// the step names no model and the label is left out; a model that joined later is in the
// models annotation only. Without a timeline, the incident's models as they are.
func openingModels(inc incidents.Incident, timeline []incidents.Event) []string {
	if len(timeline) == 0 {
		return inc.Models
	}
	at := timeline[0].At
	if i := slices.IndexFunc(timeline, func(e incidents.Event) bool { return e.Kind == incidents.EventOpened }); i >= 0 {
		at = timeline[i].At
	}
	var models []string
	for _, e := range timeline {
		if e.At.Equal(at) && e.Model != "" && !slices.Contains(models, e.Model) {
			models = append(models, e.Model)
		}
	}
	slices.Sort(models)
	return models
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
		AnnotationModels:      strings.Join(inc.Models, ", "),
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
