package alertmanager_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/outagewatch/outagewatch/alerts"
	"github.com/outagewatch/outagewatch/alerts/alertmanager"
	"github.com/outagewatch/outagewatch/incidents"
)

var (
	t0    = time.Date(2026, 12, 3, 19, 40, 0, 0, time.UTC)
	links = alerts.Links{GrafanaURL: "https://grafana.example.com/", APIURL: "https://outagewatch.example.com"}
	opts  = alertmanager.Options{Links: links, RunbookURL: "https://wiki.example.com/llm-outage", ResendInterval: time.Minute}
)

func TestAlertsOfAnOpenIncident(t *testing.T) {
	t.Parallel()
	s := newOutage(7, t0, incidents.SeverityCritical)
	now := t0.Add(10 * time.Second)
	got := alertmanager.Alerts(s.inc, s.timeline, s.timeline[0].ID, opts, now)
	require.Equal(t, []alertmanager.Alert{{
		Labels: map[string]string{
			"alertname": "LLMProviderDown", "provider": "anthropic", "model": "claude-sonnet-4-5",
			"severity": "critical", "incident_id": "7",
		},
		Annotations: map[string]string{
			"summary": "anthropic is down: claude-sonnet-4-5",
			"description": "anthropic/claude-sonnet-4-5: 42.0% errors vs 1.0% baseline (error_rate_down), 420 of 1,000 calls over 5m; " +
				"errors: overloaded 350 (83.3%), timeout 60 (14.3%), server_error 10 (2.4%); 12.5 calls/s; " +
				"change point 2026-12-03 19:39:00 UTC.",
			"models":          "claude-sonnet-4-5",
			"status_page_url": "https://outagewatch.example.com/",
			"dashboard_url":   "https://grafana.example.com/d/outagewatch-provider?var-provider=anthropic",
			"incident_url":    "https://outagewatch.example.com/incidents/7",
			"runbook_url":     "https://wiki.example.com/llm-outage",
		},
		StartsAt:     t0.Add(-time.Minute), // the change point
		EndsAt:       now.Add(4 * time.Minute),
		GeneratorURL: "https://outagewatch.example.com/v1/incidents/7",
	}}, got)
}

func TestAlertsLabelsAndSummary(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		edit    func(*story)
		labels  map[string]string // over the defaults; "" removes a label
		summary string
		models  string // the models annotation
	}{{
		name: "warning",
		edit: func(s *story) {
			s.inc.Severity = incidents.SeverityWarning
			s.timeline[0].Severity, s.timeline[0].To = incidents.SeverityWarning, "degraded"
		},
		labels:  map[string]string{"alertname": "LLMProviderDegraded", "severity": "warning"},
		summary: "anthropic is degraded: claude-sonnet-4-5",
	}, {
		name:    "local incident of a service",
		edit:    func(s *story) { s.inc.Caller = "service:batch-jobs" },
		labels:  map[string]string{"service": "batch-jobs"},
		summary: "anthropic for batch-jobs is down",
	}, {
		name:    "local incident of an older build (bare service name)",
		edit:    func(s *story) { s.inc.Caller = "batch-jobs" },
		labels:  map[string]string{"service": "batch-jobs"},
		summary: "anthropic for batch-jobs is down",
	}, {
		name:    "local incident of an endpoint",
		edit:    func(s *story) { s.inc.Caller = "endpoint:eu.api.example.com" },
		labels:  map[string]string{"endpoint": "eu.api.example.com"},
		summary: "anthropic via endpoint eu.api.example.com is down",
	}, {
		name: "models of the opening step joined by commas",
		edit: func(s *story) {
			s.add(incidents.Event{
				At: s.timeline[0].At, Kind: incidents.EventTransition, Provider: "anthropic", Model: "claude-haiku-4-5",
				From: "healthy", To: "down", Severity: incidents.SeverityCritical, Evidence: evidence(t0),
			})
			s.join("claude-haiku-4-5")
		},
		labels:  map[string]string{"model": "claude-haiku-4-5,claude-sonnet-4-5"},
		summary: "anthropic is down: claude-haiku-4-5, claude-sonnet-4-5",
		models:  "claude-haiku-4-5, claude-sonnet-4-5",
	}, {
		name:    "a model that joined later: in the annotation, not the label",
		edit:    func(s *story) { s.fail(t0.Add(time.Minute), "claude-haiku-4-5") },
		summary: "anthropic is down: claude-haiku-4-5, claude-sonnet-4-5",
		models:  "claude-haiku-4-5, claude-sonnet-4-5",
	}, {
		name: "opened by the provider's pooled series, a model in the same step",
		edit: func(s *story) {
			s.timeline[0].Model = ""
			s.add(incidents.Event{
				At: s.timeline[0].At, Kind: incidents.EventTransition, Provider: "anthropic", Model: "claude-sonnet-4-5",
				From: "healthy", To: "down", Severity: incidents.SeverityCritical, Evidence: evidence(t0),
			})
		},
		summary: "anthropic is down: claude-sonnet-4-5",
	}, {
		name: "opened by the provider's pooled series alone: no model label",
		edit: func(s *story) {
			s.timeline[0].Model = ""
			s.fail(t0.Add(time.Second), "claude-sonnet-4-5")
		},
		labels:  map[string]string{"model": ""},
		summary: "anthropic is down: claude-sonnet-4-5",
	}, {
		name: "no model: the provider's pooled series",
		edit: func(s *story) {
			s.inc.Models = nil
			s.timeline[0].Model = ""
		},
		labels:  map[string]string{"model": ""},
		summary: "anthropic is down",
		models:  "-",
	}, {
		name: "no timeline: the incident's models",
		edit: func(s *story) {
			s.join("claude-haiku-4-5")
			s.timeline = nil
		},
		labels:  map[string]string{"model": "claude-haiku-4-5,claude-sonnet-4-5"},
		summary: "anthropic is down: claude-haiku-4-5, claude-sonnet-4-5",
		models:  "claude-haiku-4-5, claude-sonnet-4-5",
	}, {
		name: "resolved",
		edit: func(s *story) {
			s.inc.State, s.inc.ResolvedAt = incidents.StateResolved, t0.Add(12*time.Minute+5*time.Second)
		},
		labels:  map[string]string{},
		summary: "anthropic recovered after 12m 5s: claude-sonnet-4-5",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newOutage(7, t0, incidents.SeverityCritical)
			tt.edit(s)
			got := alertmanager.Alerts(s.inc, s.timeline, 0, opts, t0)
			require.Len(t, got, 1)
			want := map[string]string{
				"alertname": "LLMProviderDown", "provider": "anthropic", "model": "claude-sonnet-4-5",
				"severity": "critical", "incident_id": "7",
			}
			for k, v := range tt.labels {
				want[k] = v
				if v == "" {
					delete(want, k)
				}
			}
			require.Equal(t, want, got[0].Labels)
			require.Equal(t, tt.summary, got[0].Annotations["summary"])
			models, ok := got[0].Annotations["models"]
			switch tt.models {
			case "-":
				require.False(t, ok, "no models, no annotation")
			case "":
				require.Equal(t, "claude-sonnet-4-5", models)
			default:
				require.Equal(t, tt.models, models)
			}
		})
	}
}

func TestAlertsTimes(t *testing.T) {
	t.Parallel()
	now := t0.Add(time.Hour)
	t.Run("active: endsAt four resend intervals ahead", func(t *testing.T) {
		t.Parallel()
		s := newOutage(1, t0, incidents.SeverityCritical)
		o := opts
		o.ResendInterval = 30 * time.Second
		got := alertmanager.Alerts(s.inc, s.timeline, 0, o, now)
		require.Equal(t, now.Add(2*time.Minute), got[0].EndsAt)
		o.ResendInterval = 0 // the default, a minute
		got = alertmanager.Alerts(s.inc, s.timeline, 0, o, now)
		require.Equal(t, now.Add(4*time.Minute), got[0].EndsAt)
	})
	t.Run("resolved: endsAt the resolution", func(t *testing.T) {
		t.Parallel()
		s := newOutage(1, t0, incidents.SeverityCritical)
		s.resolve(t0.Add(20 * time.Minute))
		got := alertmanager.Alerts(s.inc, s.timeline, s.timeline[len(s.timeline)-1].ID, opts, now)
		require.Len(t, got, 1, "the recovery's warning is no label set of the incident")
		require.Equal(t, t0.Add(20*time.Minute), got[0].EndsAt)
		require.Equal(t, t0.Add(-time.Minute), got[0].StartsAt)
	})
	t.Run("no change point: startsAt the opening", func(t *testing.T) {
		t.Parallel()
		s := newOutage(1, t0, incidents.SeverityCritical)
		s.timeline[0].Evidence.ChangePoint = time.Time{}
		got := alertmanager.Alerts(s.inc, s.timeline, 0, opts, now)
		require.Equal(t, t0, got[0].StartsAt)
	})
}

func TestAlertsResolvePreviousLabelSet(t *testing.T) {
	t.Parallel()
	now := t0.Add(10 * time.Minute)
	t.Run("escalation", func(t *testing.T) {
		t.Parallel()
		s := newOutage(3, t0, incidents.SeverityWarning)
		s.escalate(t0.Add(5*time.Minute), "claude-sonnet-4-5")
		for _, n := range []alerts.Notification{s.notification(incidents.NotifyEvent), {Event: s.timeline[2]}} {
			// The transition's row and the escalation's, one step: both resolve the warning.
			got := alertmanager.Alerts(s.inc, s.timeline, n.Event.ID, opts, now)
			require.Len(t, got, 2)
			require.Equal(t, "LLMProviderDown", got[0].Labels["alertname"])
			require.Equal(t, now.Add(4*time.Minute), got[0].EndsAt)
			require.Equal(t, "LLMProviderDegraded", got[1].Labels["alertname"])
			require.Equal(t, "warning", got[1].Labels["severity"])
			require.Equal(t, now, got[1].EndsAt, "the previous label set is resolved now")
			require.Equal(t, got[0].Annotations, got[1].Annotations)
		}
	})
	t.Run("a model joined: the same label set, the models annotation updated", func(t *testing.T) {
		t.Parallel()
		s := newOutage(3, t0, incidents.SeverityCritical)
		opened := alertmanager.Alerts(s.inc, s.timeline, s.timeline[0].ID, opts, now)[0]
		s.fail(t0.Add(5*time.Minute), "claude-opus-4-1")
		got := alertmanager.Alerts(s.inc, s.timeline, s.timeline[1].ID, opts, now)
		require.Len(t, got, 1, "no label set to resolve")
		require.Equal(t, opened.Labels, got[0].Labels)
		require.Equal(t, "claude-sonnet-4-5", got[0].Labels["model"], "the opening step's model")
		require.Equal(t, "claude-opus-4-1, claude-sonnet-4-5", got[0].Annotations["models"])
		require.Equal(t, "anthropic is down: claude-opus-4-1, claude-sonnet-4-5", got[0].Annotations["summary"])
	})
	t.Run("de-escalation and recovery keep LLMProviderDown", func(t *testing.T) {
		t.Parallel()
		s := newOutage(3, t0, incidents.SeverityCritical)
		opened := alertmanager.Alerts(s.inc, s.timeline, s.timeline[0].ID, opts, now)[0]
		s.deescalate(t0.Add(5*time.Minute), "claude-sonnet-4-5")
		for _, n := range []alerts.Notification{s.notification(incidents.NotifyEvent), {Event: s.timeline[1]}, {}} {
			// The transition's row, the de-escalation's, and the resender's.
			got := alertmanager.Alerts(s.inc, s.timeline, n.Event.ID, opts, now)
			require.Len(t, got, 1, "a de-escalation changes no label")
			require.Equal(t, opened.Labels, got[0].Labels)
			require.Equal(t, "LLMProviderDown", got[0].Labels["alertname"])
			require.Equal(t, "critical", got[0].Labels["severity"], "the highest severity reached")
			require.Equal(t, "anthropic is degraded: claude-sonnet-4-5", got[0].Annotations["summary"], "the summary says how it is now")
		}
		s.resolve(t0.Add(6 * time.Minute))
		got := alertmanager.Alerts(s.inc, s.timeline, s.notification(incidents.NotifyResolve).Event.ID, opts, now)
		require.Len(t, got, 1)
		require.Equal(t, opened.Labels, got[0].Labels, "LLMProviderDown resolved, nothing else")
		require.Equal(t, t0.Add(6*time.Minute), got[0].EndsAt)
	})
	t.Run("an escalation after a de-escalation: the peak was critical already", func(t *testing.T) {
		t.Parallel()
		s := newOutage(3, t0, incidents.SeverityWarning)
		s.escalate(t0.Add(time.Minute), "claude-sonnet-4-5")
		s.deescalate(t0.Add(2*time.Minute), "claude-sonnet-4-5")
		s.escalate(t0.Add(3*time.Minute), "claude-sonnet-4-5")
		got := alertmanager.Alerts(s.inc, s.timeline, s.notification(incidents.NotifyEvent).Event.ID, opts, now)
		require.Len(t, got, 1)
		require.Equal(t, "LLMProviderDown", got[0].Labels["alertname"])
	})
	t.Run("the opening row has no previous label set", func(t *testing.T) {
		t.Parallel()
		s := newOutage(3, t0, incidents.SeverityCritical)
		require.Len(t, alertmanager.Alerts(s.inc, s.timeline, s.timeline[0].ID, opts, now), 1)
	})
	t.Run("an event that changes no label", func(t *testing.T) {
		t.Parallel()
		s := newOutage(3, t0, incidents.SeverityCritical)
		s.fail(t0.Add(5*time.Minute), "claude-sonnet-4-5") // the same model again
		require.Len(t, alertmanager.Alerts(s.inc, s.timeline, s.timeline[1].ID, opts, now), 1)
	})
	t.Run("a late row: the step before its own event", func(t *testing.T) {
		t.Parallel()
		s := newOutage(3, t0, incidents.SeverityWarning)
		s.escalate(t0.Add(5*time.Minute), "claude-sonnet-4-5")
		escalation := s.timeline[1].ID
		s.fail(t0.Add(6*time.Minute), "claude-opus-4-1")
		got := alertmanager.Alerts(s.inc, s.timeline, escalation, opts, now)
		require.Len(t, got, 2)
		require.Equal(t, "claude-opus-4-1, claude-sonnet-4-5", got[0].Annotations["models"], "the alert as it is now")
		require.Equal(t, map[string]string{
			"alertname": "LLMProviderDegraded", "provider": "anthropic", "model": "claude-sonnet-4-5",
			"severity": "warning", "incident_id": "3",
		}, got[1].Labels, "the label set before the escalation")
	})
	t.Run("the resender: the latest step", func(t *testing.T) {
		t.Parallel()
		s := newOutage(3, t0, incidents.SeverityWarning)
		s.escalate(t0.Add(5*time.Minute), "claude-sonnet-4-5")
		require.Len(t, alertmanager.Alerts(s.inc, s.timeline, 0, opts, now), 2)
	})
}

func TestAlertsWithoutLinks(t *testing.T) {
	t.Parallel()
	s := newOutage(7, t0, incidents.SeverityCritical)
	s.timeline[0].Evidence = incidents.Evidence{}
	got := alertmanager.Alerts(s.inc, s.timeline, 0, alertmanager.Options{}, t0)
	require.Equal(t, map[string]string{"summary": "anthropic is down: claude-sonnet-4-5", "models": "claude-sonnet-4-5"}, got[0].Annotations)
	require.Empty(t, got[0].GeneratorURL)
}

func TestAlertsDescriptionShowsTheLatestFailure(t *testing.T) {
	t.Parallel()
	s := newOutage(7, t0, incidents.SeverityCritical)
	s.fail(t0.Add(time.Minute), "claude-opus-4-1")
	s.add(incidents.Event{
		At: t0.Add(2 * time.Minute), Kind: incidents.EventTransition, Provider: "anthropic", Model: "claude-opus-4-1",
		From: "down", To: "healthy", Severity: incidents.SeverityCritical,
		Evidence: incidents.Evidence{Detector: "recovery"},
	})
	got := alertmanager.Alerts(s.inc, s.timeline, 0, opts, t0)
	require.Contains(t, got[0].Annotations["description"], "anthropic/claude-opus-4-1: 42.0% errors")
}

// TestAlertJSON checks the wire form against Alertmanager's postableAlert.
func TestAlertJSON(t *testing.T) {
	t.Parallel()
	b, err := json.Marshal(alertmanager.Alert{Labels: map[string]string{"a": "b"}, StartsAt: t0})
	require.NoError(t, err)
	require.JSONEq(t, `{"labels":{"a":"b"},"startsAt":"2026-12-03T19:40:00Z"}`, string(b))
}
