package rules_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/outagewatch/outagewatch/incidents"
	"github.com/outagewatch/outagewatch/store/internal/rules"
)

func TestLimit(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		in, out int
	}{
		{"zero is the default", 0, 50},
		{"negative is the default", -3, 50},
		{"within bounds", 7, 7},
		{"the maximum", 500, 500},
		{"over the maximum", 501, 500},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.out, rules.Limit(tc.in))
		})
	}
}

func TestStates(t *testing.T) {
	t.Parallel()
	got, err := rules.States("active")
	require.NoError(t, err)
	require.Equal(t, []string{"open", "acknowledged"}, got)
	got, err = rules.States("")
	require.NoError(t, err)
	require.Nil(t, got)
	_, err = rules.States("closed")
	require.ErrorContains(t, err, `unknown state filter "closed"`)
}

func TestDedupKey(t *testing.T) {
	t.Parallel()
	require.Equal(t, "inc:7:open", rules.DedupKey(7, incidents.NotifyOpen, 3))
	require.Equal(t, "inc:7:event:3", rules.DedupKey(7, incidents.NotifyEvent, 3))
}

func TestTime(t *testing.T) {
	t.Parallel()
	in := time.Date(2026, 6, 1, 12, 0, 0, 123456789, time.FixedZone("x", 3600))
	got := rules.Time(in)
	require.Equal(t, time.UTC, got.Location())
	require.Equal(t, 123456000, got.Nanosecond())
	require.True(t, rules.Time(time.Time{}).IsZero())
}

func TestValidate(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	require.NoError(t, rules.Validate(incidents.Change{Provider: "openai", At: at}))
	err := rules.Validate(incidents.Change{State: "closed", Events: []incidents.EventSpec{
		{Event: incidents.Event{Kind: incidents.EventOpened}, Notify: []string{"page"}},
	}})
	require.ErrorContains(t, err, "at: must be set")
	require.ErrorContains(t, err, "provider: must be set")
	require.ErrorContains(t, err, `state: unknown "closed"`)
	require.ErrorContains(t, err, `events[0].notify: unknown kind "page"`)
}

func TestMerge(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	open := incidents.Incident{
		ID: 1, Provider: "openai", Models: []string{"gpt-5"}, Detectors: []string{"errors"},
		Severity: incidents.SeverityWarning, State: incidents.StateOpen, OpenedAt: t0, UpdatedAt: t0,
		Peak: incidents.Peak{ErrorRate: 0.5},
	}
	for _, tc := range []struct {
		name   string
		stored incidents.Incident
		change incidents.Change
		check  func(t *testing.T, got incidents.Incident)
	}{
		{
			name:   "sets and peak merge",
			stored: open,
			change: incidents.Change{
				At: t0.Add(time.Minute), Models: []string{"gpt-4o", "gpt-5"}, Detectors: []string{"truncation"},
				Peak: incidents.Peak{ErrorRate: 0.2, TruncationRate: 0.3},
			},
			check: func(t *testing.T, got incidents.Incident) {
				require.Equal(t, []string{"gpt-4o", "gpt-5"}, got.Models)
				require.Equal(t, []string{"errors", "truncation"}, got.Detectors)
				require.Equal(t, incidents.Peak{ErrorRate: 0.5, TruncationRate: 0.3}, got.Peak)
				require.Equal(t, t0.Add(time.Minute), got.UpdatedAt)
				require.Equal(t, incidents.SeverityWarning, got.Severity)
			},
		},
		{
			name:   "the provider's own series is no model",
			stored: incidents.Incident{ID: 1, Provider: "anthropic", Models: []string{""}, State: incidents.StateOpen, OpenedAt: t0, UpdatedAt: t0},
			change: incidents.Change{At: t0.Add(time.Minute), Models: []string{"", "claude-sonnet-4-5"}},
			check: func(t *testing.T, got incidents.Incident) {
				require.Equal(t, []string{"claude-sonnet-4-5"}, got.Models)
			},
		},
		{
			name:   "an older change does not move updated_at back",
			stored: open,
			change: incidents.Change{At: t0.Add(-time.Minute), Severity: incidents.SeverityCritical},
			check: func(t *testing.T, got incidents.Incident) {
				require.Equal(t, t0, got.UpdatedAt)
				require.Equal(t, incidents.SeverityCritical, got.Severity)
			},
		},
		{
			name:   "acknowledge records the actor once",
			stored: open,
			change: incidents.Change{At: t0.Add(time.Minute), State: incidents.StateAcknowledged, Actor: "ana"},
			check: func(t *testing.T, got incidents.Incident) {
				require.Equal(t, incidents.StateAcknowledged, got.State)
				require.Equal(t, "ana", got.AcknowledgedBy)
				require.Equal(t, t0.Add(time.Minute), got.AcknowledgedAt)
				again := rules.Merge(got, incidents.Change{At: t0.Add(time.Hour), State: incidents.StateAcknowledged, Actor: "bo"})
				require.Equal(t, "ana", again.AcknowledgedBy)
			},
		},
		{
			name:   "resolve defaults the actor",
			stored: open,
			change: incidents.Change{At: t0.Add(time.Minute), State: incidents.StateResolved},
			check: func(t *testing.T, got incidents.Incident) {
				require.Equal(t, incidents.StateResolved, got.State)
				require.Equal(t, incidents.Actor, got.ResolvedBy)
				require.Equal(t, t0.Add(time.Minute), got.ResolvedAt)
			},
		},
		{
			name: "a resolved incident is not reopened",
			stored: func() incidents.Incident {
				r := open
				r.State, r.ResolvedAt, r.ResolvedBy = incidents.StateResolved, t0, "ana"
				return r
			}(),
			change: incidents.Change{
				At: t0.Add(time.Minute), State: incidents.StateOpen, Severity: incidents.SeverityCritical,
				Models: []string{"o3"},
			},
			check: func(t *testing.T, got incidents.Incident) {
				require.Equal(t, incidents.StateResolved, got.State)
				require.Equal(t, incidents.SeverityWarning, got.Severity)
				require.Equal(t, "ana", got.ResolvedBy)
				require.Equal(t, []string{"gpt-5", "o3"}, got.Models)
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.check(t, rules.Merge(tc.stored, tc.change))
		})
	}
}
