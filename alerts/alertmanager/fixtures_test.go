package alertmanager_test

import (
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/outagewatch/outagewatch/alerts"
	"github.com/outagewatch/outagewatch/incidents"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// story is an incident and its timeline as the store would hold them, built step by step.
type story struct {
	inc      incidents.Incident
	timeline []incidents.Event
}

// newOutage opens incident id of anthropic at opened, at severity sev, with claude-sonnet-4-5
// failing since a change point a minute earlier.
func newOutage(id int64, opened time.Time, sev incidents.Severity) *story {
	to := "down"
	if sev == incidents.SeverityWarning {
		to = "degraded"
	}
	s := &story{inc: incidents.Incident{
		ID: id, Provider: "anthropic", Models: []string{"claude-sonnet-4-5"}, Detectors: []string{"error_rate_down"},
		Severity: sev, State: incidents.StateOpen, OpenedAt: opened, UpdatedAt: opened,
	}}
	s.add(incidents.Event{
		At: opened, Kind: incidents.EventOpened, Provider: "anthropic", Model: "claude-sonnet-4-5",
		From: "healthy", To: to, Severity: sev, Evidence: evidence(opened.Add(-time.Minute)),
	})
	return s
}

func evidence(changePoint time.Time) incidents.Evidence {
	return incidents.Evidence{
		Detector: "error_rate_down", Observed: 0.42, Baseline: 0.01, ChangePoint: changePoint,
		Window: 300, SampleSize: 1000, Events: 420, CallRate: 12.5,
		Classes: incidents.ClassCounts{"overloaded": 350, "timeout": 60, "server_error": 10},
	}
}

func (s *story) add(e incidents.Event) incidents.Event {
	e.ID = int64(len(s.timeline)+1) + s.inc.ID*100
	e.IncidentID = s.inc.ID
	s.timeline = append(s.timeline, e)
	s.inc.UpdatedAt = e.At
	return e
}

// escalate records model's transition to down and the escalation to critical, as the incident
// manager does: two events at the same instant.
func (s *story) escalate(at time.Time, model string) {
	s.add(incidents.Event{
		At: at, Kind: incidents.EventTransition, Provider: "anthropic", Model: model,
		From: "degraded", To: "down", Severity: incidents.SeverityCritical, Evidence: evidence(at.Add(-30 * time.Second)),
	})
	s.add(incidents.Event{At: at, Kind: incidents.EventEscalated, Provider: "anthropic", Severity: incidents.SeverityCritical})
	s.inc.Severity = incidents.SeverityCritical
	s.join(model)
}

// deescalate records model's step from down to degraded and the de-escalation to warning, as the
// manager does when a down series recovers (it always clears through degraded).
func (s *story) deescalate(at time.Time, model string) {
	s.add(incidents.Event{
		At: at, Kind: incidents.EventTransition, Provider: "anthropic", Model: model,
		From: "down", To: "degraded", Severity: incidents.SeverityWarning, Evidence: evidence(at.Add(-30 * time.Second)),
	})
	s.add(incidents.Event{At: at, Kind: incidents.EventDeescalated, Provider: "anthropic", Severity: incidents.SeverityWarning})
	s.inc.Severity = incidents.SeverityWarning
}

// fail records another model failing at the incident's severity.
func (s *story) fail(at time.Time, model string) {
	s.add(incidents.Event{
		At: at, Kind: incidents.EventTransition, Provider: "anthropic", Model: model,
		From: "healthy", To: "down", Severity: s.inc.Severity, Evidence: evidence(at.Add(-30 * time.Second)),
	})
	s.join(model)
}

func (s *story) join(model string) {
	for _, m := range s.inc.Models {
		if m == model {
			return
		}
	}
	s.inc.Models = append(s.inc.Models, model)
	for i := len(s.inc.Models) - 1; i > 0 && s.inc.Models[i] < s.inc.Models[i-1]; i-- {
		s.inc.Models[i], s.inc.Models[i-1] = s.inc.Models[i-1], s.inc.Models[i]
	}
}

// resolve records the recovery of every model and the resolution, as the manager does: the last
// transition (which carries warning: nothing fails) and the resolution at the same instant.
func (s *story) resolve(at time.Time) {
	s.add(incidents.Event{
		At: at, Kind: incidents.EventTransition, Provider: "anthropic", Model: "claude-sonnet-4-5",
		From: "down", To: "healthy", Severity: incidents.SeverityWarning,
		Evidence: incidents.Evidence{Detector: "recovery", Observed: 0.01, Baseline: 0.01},
	})
	s.add(incidents.Event{At: at, Kind: incidents.EventResolved, Provider: "anthropic", Severity: s.inc.Severity, Actor: incidents.Actor})
	s.inc.State, s.inc.ResolvedAt, s.inc.ResolvedBy = incidents.StateResolved, at, incidents.Actor
}

// notification is the outbox row of kind for the story's latest event, as the dispatcher hands
// it to the notifier.
func (s *story) notification(kind string) alerts.Notification {
	ev := s.timeline[len(s.timeline)-1]
	if kind == incidents.NotifyEvent && ev.Kind == incidents.EventEscalated {
		ev = s.timeline[len(s.timeline)-2] // the transition's row comes first
	}
	return alerts.Notification{
		Row:      incidents.OutboxRow{ID: ev.ID, IncidentID: s.inc.ID, EventID: ev.ID, Kind: kind, Claims: 1},
		Incident: s.inc,
		Event:    ev,
		Timeline: append([]incidents.Event(nil), s.timeline...),
	}
}
