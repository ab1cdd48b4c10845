package storetest

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/outagewatch/outagewatch/incidents"
)

// Store is what both stores implement: incidents, their queries, the detectors' baselines, the
// alert outbox, the deliveries of the targets besides Slack and the silences.
type Store interface {
	incidents.Store
	incidents.Query
	SaveBaselines(ctx context.Context, name string, data []byte, at time.Time) error
	LoadBaselines(ctx context.Context, name string) ([]byte, error)
	Claim(ctx context.Context, now time.Time, limit int, lease time.Duration) ([]incidents.OutboxRow, error)
	Complete(ctx context.Context, id int64, at time.Time) error
	Retry(ctx context.Context, id int64, next time.Time, msg string) error
	Fail(ctx context.Context, id int64, msg string) error
	RegisterTargets(ctx context.Context, destinations []string, now time.Time) error
	ClaimDeliveries(ctx context.Context, destination string, now time.Time, limit int, lease time.Duration) ([]incidents.OutboxRow, error)
	DeliveryBacklog(ctx context.Context, destination string, now time.Time) (n int, oldest time.Time, err error)
	CompleteDelivery(ctx context.Context, id int64, at time.Time) error
	RetryDelivery(ctx context.Context, id int64, next time.Time, msg string) error
	FailDelivery(ctx context.Context, id int64, msg string) error
	SetThread(ctx context.Context, incidentID int64, channel, ts string) error
	Backlog(ctx context.Context, now time.Time) (n int, oldest time.Time, err error)
	AddSilence(ctx context.Context, s incidents.Silence) (incidents.Silence, error)
	Silences(ctx context.Context, now time.Time) ([]incidents.Silence, error)
	DeleteSilence(ctx context.Context, id int64) error
	Ping(ctx context.Context) error
}

// Run runs the contract suite. open returns a new, empty, migrated store for one case and
// arranges for it to be closed when the case ends.
func Run(t *testing.T, open func(t *testing.T) Store) {
	cases := append(incidentCases(), outboxCases()...)
	cases = append(cases, silenceCases()...)
	cases = append(cases, localCases()...)
	cases = append(cases, targetCases()...)
	cases = append(cases, vendorCases()...)
	cases = append(cases, testCase{"baselines round trip", testBaselines}, testCase{"ping", testPing})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.run(t, open(t))
		})
	}
}

type testCase struct {
	name string
	run  func(t *testing.T, s Store)
}

// t0 is the suite's epoch; times carry sub-microsecond parts nowhere, so that both stores return
// them exactly.
var t0 = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

// evidence is a full Evidence, to check that every field survives the store.
func evidence(detector string) incidents.Evidence {
	return incidents.Evidence{
		Detector: detector, Observed: 0.42, Baseline: 0.01, Threshold: 0.2,
		ChangePoint: t0.Add(-90 * time.Second), Window: 300, SampleSize: 1200, Events: 504,
		CallRate: 4.5, Classes: map[string]int{"overloaded": 480, "timeout": 24},
		SampleError: "529 overloaded_error",
	}
}

// transition is a series' transition event.
func transition(kind incidents.EventKind, provider, model, from, to string, at time.Time, notify ...string) incidents.EventSpec {
	return incidents.EventSpec{
		Event: incidents.Event{
			At: at, Kind: kind, Provider: provider, Model: model, From: from, To: to,
			Severity: incidents.SeverityCritical, Evidence: evidence("error_rate"), Actor: incidents.Actor,
		},
		Notify: notify,
	}
}

// opening is the change that opens an incident of provider with model going down at at.
func opening(provider, model string, at time.Time) incidents.Change {
	return incidents.Change{
		Provider: provider, At: at, Models: []string{model}, Detectors: []string{"error_rate"},
		Severity: incidents.SeverityCritical, State: incidents.StateOpen,
		Peak:   incidents.Peak{ErrorRate: 0.42, CallRate: 4.5},
		Events: []incidents.EventSpec{transition(incidents.EventOpened, provider, model, "healthy", "down", at, incidents.NotifyOpen)},
	}
}

func apply(t *testing.T, s Store, c incidents.Change) incidents.Incident {
	t.Helper()
	inc, err := s.Apply(t.Context(), c)
	require.NoError(t, err)
	return inc
}

func get(t *testing.T, s Store, id int64) (incidents.Incident, []incidents.Event) {
	t.Helper()
	inc, events, err := s.Get(t.Context(), id)
	require.NoError(t, err)
	return inc, events
}

// drain claims and completes every due row at now until none is left, and returns them sorted by
// ID. It changes the outbox: use it at the end of a case.
func drain(t *testing.T, s Store, now time.Time) []incidents.OutboxRow {
	t.Helper()
	var out []incidents.OutboxRow
	for range 1000 {
		rows, err := s.Claim(t.Context(), now, 100, time.Minute)
		require.NoError(t, err)
		if len(rows) == 0 {
			slices.SortFunc(out, func(a, b incidents.OutboxRow) int { return cmp.Compare(a.ID, b.ID) })
			return out
		}
		for _, r := range rows {
			require.NoError(t, s.Complete(t.Context(), r.ID, now))
		}
		out = append(out, rows...)
	}
	t.Fatal("drain: the outbox never empties")
	return nil
}

// kinds returns the kinds of rows, with their dedup keys, for compact comparisons.
func kinds(rows []incidents.OutboxRow) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = fmt.Sprintf("%s %s", r.Kind, r.DedupKey)
	}
	return out
}

func requireTime(t *testing.T, want, got time.Time, msgAndArgs ...any) {
	t.Helper()
	require.True(t, want.Equal(got), "want %s, got %s %v", want, got, fmt.Sprint(msgAndArgs...))
	require.Equal(t, time.UTC, got.Location(), "times come back in UTC")
}

func testBaselines(t *testing.T, s Store) {
	ctx := t.Context()
	got, err := s.LoadBaselines(ctx, "engine")
	require.NoError(t, err)
	require.Nil(t, got, "absent baselines are nil without an error")

	require.NoError(t, s.SaveBaselines(ctx, "engine", []byte("v1 \x00\xff"), t0))
	require.NoError(t, s.SaveBaselines(ctx, "other", []byte("o"), t0))
	got, err = s.LoadBaselines(ctx, "engine")
	require.NoError(t, err)
	require.Equal(t, []byte("v1 \x00\xff"), got)

	require.NoError(t, s.SaveBaselines(ctx, "engine", []byte("v2"), t0.Add(time.Minute)))
	got, err = s.LoadBaselines(ctx, "engine")
	require.NoError(t, err)
	require.Equal(t, []byte("v2"), got)

	require.NoError(t, s.SaveBaselines(ctx, "engine", nil, t0.Add(2*time.Minute)))
	got, err = s.LoadBaselines(ctx, "engine")
	require.NoError(t, err)
	require.NotNil(t, got, "saved empty baselines are not absent ones")
	require.Empty(t, got)

	got, err = s.LoadBaselines(ctx, "other")
	require.NoError(t, err)
	require.Equal(t, []byte("o"), got)
}

func testPing(t *testing.T, s Store) {
	require.NoError(t, s.Ping(t.Context()))
}
