package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/outagewatch/outagewatch/incidents"
)

func incidentCases() []testCase {
	return []testCase{
		{"open then attach", testOpenAttach},
		{"the provider's own series is no model", testNoEmptyModel},
		{"concurrent opens make one incident", testConcurrentOpen},
		{"events and outbox rows are written together", testEventsAndOutbox},
		{"duplicate events are skipped with their notifications", testDuplicateEvents},
		{"one thread root per incident", testOneRoot},
		{"escalate acknowledge resolve", testLifecycle},
		{"a resolved incident is not reopened", testNoReopen},
		{"resolving nothing is a no-op", testResolveNothing},
		{"not found", testNotFound},
		{"invalid changes", testInvalid},
		{"list filters and pages", testList},
		{"list limits", testListLimits},
		{"get returns the timeline in order", testTimeline},
		{"slack thread", testSetThread},
	}
}

// testNoEmptyModel: the provider's pooled series has model "", which is never recorded as one of
// the incident's models (its events still name it).
func testNoEmptyModel(t *testing.T, s Store) {
	first := apply(t, s, opening("anthropic", "", t0))
	require.Equal(t, []string{}, first.Models)
	c := opening("anthropic", "claude-sonnet-4-5", t0.Add(time.Minute))
	c.Models = []string{"", "claude-sonnet-4-5"}
	second := apply(t, s, c)
	require.Equal(t, first.ID, second.ID)
	require.Equal(t, []string{"claude-sonnet-4-5"}, second.Models)
	got, events := get(t, s, first.ID)
	require.Equal(t, []string{"claude-sonnet-4-5"}, got.Models)
	require.Equal(t, "", events[0].Model)
}

func testOpenAttach(t *testing.T, s Store) {
	first := apply(t, s, opening("openai", "gpt-5", t0))
	require.NotZero(t, first.ID)
	require.Equal(t, "openai", first.Provider)
	require.Empty(t, first.GroupKey)
	require.Equal(t, []string{"gpt-5"}, first.Models)
	require.Equal(t, []string{"error_rate"}, first.Detectors)
	require.Equal(t, incidents.SeverityCritical, first.Severity)
	require.Equal(t, incidents.StateOpen, first.State)
	require.Equal(t, incidents.Peak{ErrorRate: 0.42, CallRate: 4.5}, first.Peak)
	requireTime(t, t0, first.OpenedAt)
	requireTime(t, t0, first.UpdatedAt)
	require.True(t, first.AcknowledgedAt.IsZero())
	require.True(t, first.ResolvedAt.IsZero())

	// Another writer (a replica, or this one after a restart) opens the same provider's incident:
	// it attaches to the active one.
	c := opening("openai", "gpt-4o", t0.Add(2*time.Minute))
	c.Detectors = []string{"truncation"}
	c.Peak = incidents.Peak{ErrorRate: 0.1, TruncationRate: 0.3}
	second := apply(t, s, c)
	require.Equal(t, first.ID, second.ID)
	require.Equal(t, []string{"gpt-4o", "gpt-5"}, second.Models)
	require.Equal(t, []string{"error_rate", "truncation"}, second.Detectors)
	require.Equal(t, incidents.Peak{ErrorRate: 0.42, TruncationRate: 0.3, CallRate: 4.5}, second.Peak)
	requireTime(t, t0, second.OpenedAt)
	requireTime(t, t0.Add(2*time.Minute), second.UpdatedAt)

	// Other groups and providers get incidents of their own.
	grouped := opening("openai", "gpt-image", t0.Add(3*time.Minute))
	grouped.GroupKey = "images"
	other := apply(t, s, grouped)
	require.NotEqual(t, first.ID, other.ID)
	require.Equal(t, "images", other.GroupKey)
	third := apply(t, s, opening("anthropic", "claude", t0.Add(4*time.Minute)))
	require.NotEqual(t, first.ID, third.ID)

	active, err := s.Active(t.Context())
	require.NoError(t, err)
	require.Len(t, active, 3)
	require.Equal(t, []int64{first.ID, other.ID, third.ID}, []int64{active[0].ID, active[1].ID, active[2].ID},
		"oldest first")

	stored, _ := get(t, s, first.ID)
	require.Equal(t, second, stored, "Apply returns the incident as stored")
	require.Equal(t, second, active[0])
}

// testConcurrentOpen opens from several goroutines at once: the partial unique index leaves one
// incident, every writer attaches to it, and only one thread root is queued.
func testConcurrentOpen(t *testing.T, s Store) {
	const writers = 8
	run := func(change func(i int) incidents.Change) []incidents.Incident {
		out := make([]incidents.Incident, writers)
		errs := make([]error, writers)
		var wg sync.WaitGroup
		for i := range writers {
			wg.Go(func() { out[i], errs[i] = s.Apply(t.Context(), change(i)) })
		}
		wg.Wait()
		for _, err := range errs {
			require.NoError(t, err)
		}
		for _, inc := range out[1:] {
			require.Equal(t, out[0].ID, inc.ID, "every writer attaches to the one incident")
		}
		return out
	}

	// Different models: every event is new, but the incident and its root are one.
	out := run(func(i int) incidents.Change {
		return opening("anthropic", fmt.Sprintf("model-%d", i), t0.Add(time.Duration(i)*time.Millisecond))
	})
	inc, events := get(t, s, out[0].ID)
	require.Len(t, inc.Models, writers)
	require.Len(t, events, writers)

	// The same transition seen by every writer: one event, the others are duplicates.
	same := run(func(int) incidents.Change { return opening("openai", "gpt-5", t0) })
	_, events = get(t, s, same[0].ID)
	require.Len(t, events, 1)

	active, err := s.Active(t.Context())
	require.NoError(t, err)
	require.Len(t, active, 2)

	rows := drain(t, s, t0.Add(time.Minute))
	require.ElementsMatch(t, []string{
		fmt.Sprintf("open inc:%d:open", out[0].ID),
		fmt.Sprintf("open inc:%d:open", same[0].ID),
	}, kinds(rows))
}

func testEventsAndOutbox(t *testing.T, s Store) {
	c := opening("openai", "gpt-5", t0)
	c.Events = append(c.Events,
		transition(incidents.EventTransition, "openai", "gpt-4o", "healthy", "degraded", t0.Add(time.Second),
			incidents.NotifyEvent, incidents.NotifyUpdate))
	inc := apply(t, s, c)

	_, events := get(t, s, inc.ID)
	require.Len(t, events, 2)
	for i, ev := range events {
		require.NotZero(t, ev.ID)
		require.Equal(t, inc.ID, ev.IncidentID)
		want := c.Events[i].Event
		want.ID, want.IncidentID = ev.ID, inc.ID
		require.Equal(t, want, ev, "every field of the event survives the store")
	}
	require.Less(t, events[0].ID, events[1].ID)

	n, oldest, err := s.Backlog(t.Context(), t0.Add(time.Minute))
	require.NoError(t, err)
	require.Equal(t, 3, n)
	requireTime(t, t0, oldest)

	rows := drain(t, s, t0.Add(time.Minute))
	require.Equal(t, []string{
		fmt.Sprintf("open inc:%d:open", inc.ID),
		fmt.Sprintf("event inc:%d:event:%d", inc.ID, events[1].ID),
		fmt.Sprintf("update inc:%d:update:%d", inc.ID, events[1].ID),
	}, kinds(rows))
	require.Equal(t, []int64{events[0].ID, events[1].ID, events[1].ID},
		[]int64{rows[0].EventID, rows[1].EventID, rows[2].EventID})
	for _, r := range rows {
		require.Equal(t, inc.ID, r.IncidentID)
		requireTime(t, t0, r.CreatedAt)
		requireTime(t, t0, r.NextAttemptAt)
		require.Zero(t, r.Attempts)
		require.Empty(t, r.LastError)
		require.False(t, r.Permanent)
		require.True(t, r.DeliveredAt.IsZero())
	}
}

func testDuplicateEvents(t *testing.T, s Store) {
	inc := apply(t, s, opening("openai", "gpt-5", t0))
	down := func(at time.Time, to string) incidents.Change {
		return incidents.Change{IncidentID: inc.ID, At: at, Events: []incidents.EventSpec{
			transition(incidents.EventTransition, "openai", "gpt-4o", "healthy", to, at, incidents.NotifyEvent),
		}}
	}
	apply(t, s, down(t0.Add(10*time.Second), "down"))                      // recorded
	apply(t, s, down(t0.Add(40*time.Second), "down"))                      // 30 s later: duplicate
	apply(t, s, down(t0.Add(-20*time.Second), "down"))                     // 30 s earlier: duplicate
	apply(t, s, down(t0.Add(69*time.Second+999*time.Microsecond), "down")) // just under 60 s: duplicate
	apply(t, s, down(t0.Add(40*time.Second), "degraded"))                  // another transition: recorded
	apply(t, s, down(t0.Add(70*time.Second), "down"))                      // 60 s later: recorded
	updated := apply(t, s, down(t0.Add(100*time.Second), "down"))          // duplicate of the last
	requireTime(t, t0.Add(100*time.Second), updated.UpdatedAt, "a change with only duplicates still updates the incident")

	_, events := get(t, s, inc.ID)
	var got []string
	for _, ev := range events {
		got = append(got, fmt.Sprintf("%s %s>%s %s", ev.Kind, ev.From, ev.To, ev.At.Sub(t0)))
	}
	require.Equal(t, []string{
		"opened healthy>down 0s",
		"transition healthy>down 10s",
		"transition healthy>degraded 40s",
		"transition healthy>down 1m10s",
	}, got)

	rows := drain(t, s, t0.Add(5*time.Minute))
	require.Len(t, rows, 4, "skipped events queue no notifications")
}

func testOneRoot(t *testing.T, s Store) {
	inc := apply(t, s, opening("openai", "gpt-5", t0))
	// A later event asks for a root again (another writer thought it was opening): the incident
	// already has one, so only its reply is queued.
	c := opening("openai", "gpt-4o", t0.Add(time.Minute))
	c.IncidentID = inc.ID
	c.Events[0].Notify = []string{incidents.NotifyOpen, incidents.NotifyEvent}
	apply(t, s, c)
	_, events := get(t, s, inc.ID)
	require.Len(t, events, 2)

	rows := drain(t, s, t0.Add(time.Hour))
	require.Equal(t, []string{
		fmt.Sprintf("open inc:%d:open", inc.ID),
		fmt.Sprintf("event inc:%d:event:%d", inc.ID, events[1].ID),
	}, kinds(rows))
}

func testLifecycle(t *testing.T, s Store) {
	c := opening("openai", "gpt-5", t0)
	c.Severity = incidents.SeverityWarning
	inc := apply(t, s, c)
	require.Equal(t, incidents.SeverityWarning, inc.Severity)

	inc = apply(t, s, incidents.Change{
		IncidentID: inc.ID, At: t0.Add(time.Minute), Severity: incidents.SeverityCritical,
		Events: []incidents.EventSpec{transition(incidents.EventEscalated, "openai", "", "", "", t0.Add(time.Minute),
			incidents.NotifyEvent, incidents.NotifyUpdate)},
	})
	require.Equal(t, incidents.SeverityCritical, inc.Severity)
	require.Equal(t, incidents.StateOpen, inc.State, "an empty State keeps the stored one")

	inc = apply(t, s, incidents.Change{
		IncidentID: inc.ID, At: t0.Add(5 * time.Minute), State: incidents.StateAcknowledged, Actor: "ana",
		Events: []incidents.EventSpec{{Event: incidents.Event{At: t0.Add(5 * time.Minute), Kind: incidents.EventAcknowledged,
			Provider: "openai", Actor: "ana"}, Notify: []string{incidents.NotifyUpdate}}},
	})
	require.Equal(t, incidents.StateAcknowledged, inc.State)
	require.Equal(t, "ana", inc.AcknowledgedBy)
	requireTime(t, t0.Add(5*time.Minute), inc.AcknowledgedAt)
	require.Equal(t, incidents.SeverityCritical, inc.Severity, "an empty Severity keeps the stored one")

	// An acknowledged incident is still the active one.
	attach := opening("openai", "gpt-4o", t0.Add(6*time.Minute))
	attach.State = ""
	attached := apply(t, s, attach)
	require.Equal(t, inc.ID, attached.ID)
	require.Equal(t, incidents.StateAcknowledged, attached.State)
	active, err := s.Active(t.Context())
	require.NoError(t, err)
	require.Len(t, active, 1)

	inc = apply(t, s, incidents.Change{
		IncidentID: inc.ID, At: t0.Add(10 * time.Minute), State: incidents.StateResolved,
		Events: []incidents.EventSpec{transition(incidents.EventResolved, "openai", "", "", "", t0.Add(10*time.Minute),
			incidents.NotifyResolve)},
	})
	require.Equal(t, incidents.StateResolved, inc.State)
	require.Equal(t, incidents.Actor, inc.ResolvedBy, "an automatic resolution is outagewatch's")
	requireTime(t, t0.Add(10*time.Minute), inc.ResolvedAt)
	require.Equal(t, "ana", inc.AcknowledgedBy)
	active, err = s.Active(t.Context())
	require.NoError(t, err)
	require.Empty(t, active)

	rows := drain(t, s, t0.Add(time.Hour))
	require.Equal(t, []string{"open", "event", "update", "update", "resolve"},
		[]string{rows[0].Kind, rows[1].Kind, rows[2].Kind, rows[3].Kind, rows[4].Kind})
}

func testNoReopen(t *testing.T, s Store) {
	inc := apply(t, s, opening("openai", "gpt-5", t0))
	resolved := apply(t, s, incidents.Change{
		IncidentID: inc.ID, At: t0.Add(time.Minute), State: incidents.StateResolved, Actor: "ana",
	})
	require.Equal(t, incidents.StateResolved, resolved.State)

	// A late change from a writer that has not seen the resolution is recorded on the incident
	// without reopening it.
	late := opening("openai", "gpt-4o", t0.Add(2*time.Minute))
	late.IncidentID = inc.ID
	late.Severity = incidents.SeverityWarning
	late.Events[0].Notify = []string{incidents.NotifyEvent}
	after := apply(t, s, late)
	require.Equal(t, inc.ID, after.ID)
	require.Equal(t, incidents.StateResolved, after.State)
	require.Equal(t, incidents.SeverityCritical, after.Severity, "a resolved incident keeps its severity")
	require.Equal(t, "ana", after.ResolvedBy)
	requireTime(t, t0.Add(time.Minute), after.ResolvedAt)
	require.Equal(t, []string{"gpt-4o", "gpt-5"}, after.Models)
	_, events := get(t, s, inc.ID)
	require.Len(t, events, 2, "the late event is on the timeline")

	// A second resolution keeps the first one's author and time.
	again := apply(t, s, incidents.Change{IncidentID: inc.ID, At: t0.Add(3 * time.Minute), State: incidents.StateResolved})
	require.Equal(t, "ana", again.ResolvedBy)
	requireTime(t, t0.Add(time.Minute), again.ResolvedAt)

	// The next outage of the provider is a new incident, with a root of its own.
	next := apply(t, s, opening("openai", "gpt-5", t0.Add(4*time.Minute)))
	require.NotEqual(t, inc.ID, next.ID)
	require.Equal(t, incidents.StateOpen, next.State)
	requireTime(t, t0.Add(4*time.Minute), next.OpenedAt)

	rows := drain(t, s, t0.Add(time.Hour))
	require.Equal(t, []string{
		fmt.Sprintf("open inc:%d:open", inc.ID),
		fmt.Sprintf("event inc:%d:event:%d", inc.ID, events[1].ID),
		fmt.Sprintf("open inc:%d:open", next.ID),
	}, kinds(rows))
}

func testResolveNothing(t *testing.T, s Store) {
	inc, err := s.Apply(t.Context(), incidents.Change{
		Provider: "openai", At: t0, State: incidents.StateResolved,
		Events: []incidents.EventSpec{transition(incidents.EventResolved, "openai", "", "", "", t0, incidents.NotifyResolve)},
	})
	require.NoError(t, err)
	require.Zero(t, inc)
	all, err := s.List(t.Context(), incidents.Filter{})
	require.NoError(t, err)
	require.Empty(t, all)
	n, _, err := s.Backlog(t.Context(), t0.Add(time.Hour))
	require.NoError(t, err)
	require.Zero(t, n)

	// With IncidentID 0, a resolution resolves the active incident.
	opened := apply(t, s, opening("openai", "gpt-5", t0))
	closed := apply(t, s, incidents.Change{Provider: "openai", At: t0.Add(time.Minute), State: incidents.StateResolved})
	require.Equal(t, opened.ID, closed.ID)
	require.Equal(t, incidents.StateResolved, closed.State)
}

func testNotFound(t *testing.T, s Store) {
	ctx := t.Context()
	_, err := s.Apply(ctx, incidents.Change{IncidentID: 4242, At: t0, State: incidents.StateResolved})
	require.ErrorIs(t, err, incidents.ErrNotFound)
	_, _, err = s.Get(ctx, 4242)
	require.ErrorIs(t, err, incidents.ErrNotFound)
	require.ErrorIs(t, s.SetThread(ctx, 4242, "C1", "1.2"), incidents.ErrNotFound)
	require.ErrorIs(t, s.Complete(ctx, 4242, t0), incidents.ErrNotFound)
	require.ErrorIs(t, s.Retry(ctx, 4242, t0, "x"), incidents.ErrNotFound)
	require.ErrorIs(t, s.Fail(ctx, 4242, "x"), incidents.ErrNotFound)
}

func testInvalid(t *testing.T, s Store) {
	ctx := t.Context()
	_, err := s.Apply(ctx, incidents.Change{Provider: "openai"})
	require.ErrorContains(t, err, "at: must be set")
	require.NotErrorIs(t, err, incidents.ErrNotFound)
	_, err = s.Apply(ctx, incidents.Change{At: t0})
	require.ErrorContains(t, err, "provider: must be set")
	_, err = s.List(ctx, incidents.Filter{State: "closed"})
	require.ErrorContains(t, err, `unknown state filter "closed"`)
	_, err = s.Claim(ctx, t0, 0, time.Minute)
	require.Error(t, err)
	all, err := s.List(ctx, incidents.Filter{})
	require.NoError(t, err)
	require.Empty(t, all, "nothing was written")
}

func testList(t *testing.T, s Store) {
	open := func(provider, group string, at time.Time) incidents.Incident {
		c := opening(provider, "m", at)
		c.GroupKey = group
		return apply(t, s, c)
	}
	a := open("openai", "", t0)
	b := open("anthropic", "", t0.Add(30*time.Minute))
	c := open("openai", "images", t0.Add(time.Hour))
	apply(t, s, incidents.Change{IncidentID: c.ID, At: t0.Add(90 * time.Minute), State: incidents.StateResolved})
	d := open("openai", "batch", t0.Add(2*time.Hour))
	apply(t, s, incidents.Change{IncidentID: d.ID, At: t0.Add(3 * time.Hour), State: incidents.StateAcknowledged, Actor: "ana"})

	ids := func(f incidents.Filter) []int64 {
		t.Helper()
		list, err := s.List(t.Context(), f)
		require.NoError(t, err)
		out := []int64{}
		for _, inc := range list {
			out = append(out, inc.ID)
		}
		return out
	}
	for _, tc := range []struct {
		name   string
		filter incidents.Filter
		want   []int64
	}{
		{"all, newest first", incidents.Filter{}, []int64{d.ID, c.ID, b.ID, a.ID}},
		{"active", incidents.Filter{State: "active"}, []int64{d.ID, b.ID, a.ID}},
		{"open", incidents.Filter{State: "open"}, []int64{b.ID, a.ID}},
		{"acknowledged", incidents.Filter{State: "acknowledged"}, []int64{d.ID}},
		{"resolved", incidents.Filter{State: "resolved"}, []int64{c.ID}},
		{"provider", incidents.Filter{Provider: "openai"}, []int64{d.ID, c.ID, a.ID}},
		{"provider and state", incidents.Filter{Provider: "openai", State: "active"}, []int64{d.ID, a.ID}},
		{"unknown provider", incidents.Filter{Provider: "mistral"}, []int64{}},
		{"since is inclusive", incidents.Filter{Since: t0.Add(30 * time.Minute)}, []int64{d.ID, c.ID, b.ID}},
		{"until is exclusive", incidents.Filter{Until: t0.Add(time.Hour)}, []int64{b.ID, a.ID}},
		{"since and until", incidents.Filter{Since: t0.Add(time.Minute), Until: t0.Add(2 * time.Hour)}, []int64{c.ID, b.ID}},
		{"limit", incidents.Filter{Limit: 2}, []int64{d.ID, c.ID}},
		{"before", incidents.Filter{Before: c.ID}, []int64{b.ID, a.ID}},
		{"before and limit", incidents.Filter{Before: c.ID, Limit: 1}, []int64{b.ID}},
	} {
		require.Equal(t, tc.want, ids(tc.filter), tc.name)
	}

	// Paging one by one visits every incident once, newest first.
	var paged []int64
	for before := int64(0); ; {
		page := ids(incidents.Filter{Limit: 1, Before: before})
		if len(page) == 0 {
			break
		}
		paged = append(paged, page...)
		before = page[0]
	}
	require.Equal(t, []int64{d.ID, c.ID, b.ID, a.ID}, paged)
}

func testListLimits(t *testing.T, s Store) {
	const n = 55
	for i := range n {
		c := opening("openai", "m", t0.Add(time.Duration(i)*time.Second))
		c.GroupKey = fmt.Sprintf("g%d", i)
		apply(t, s, c)
	}
	list, err := s.List(t.Context(), incidents.Filter{})
	require.NoError(t, err)
	require.Len(t, list, 50, "the default limit")
	list, err = s.List(t.Context(), incidents.Filter{Limit: 10_000})
	require.NoError(t, err)
	require.Len(t, list, n, "a limit over the maximum is the maximum")
}

func testTimeline(t *testing.T, s Store) {
	inc := apply(t, s, opening("openai", "gpt-5", t0))
	// Events of one change, and of later changes, stay in the order they were written, even
	// when their times are not.
	apply(t, s, incidents.Change{IncidentID: inc.ID, At: t0.Add(3 * time.Minute), Events: []incidents.EventSpec{
		transition(incidents.EventTransition, "openai", "o3", "healthy", "down", t0.Add(3*time.Minute)),
		transition(incidents.EventTransition, "openai", "o4", "healthy", "down", t0.Add(2*time.Minute)),
	}})
	apply(t, s, incidents.Change{IncidentID: inc.ID, At: t0.Add(4 * time.Minute), Events: []incidents.EventSpec{
		transition(incidents.EventTransition, "openai", "o5", "healthy", "down", time.Time{}), // At defaults to the change's
	}})
	got, events := get(t, s, inc.ID)
	require.Equal(t, inc.ID, got.ID)
	var models []string
	for i, ev := range events {
		models = append(models, ev.Model)
		if i > 0 {
			require.Less(t, events[i-1].ID, ev.ID)
		}
		require.Equal(t, evidence("error_rate"), ev.Evidence)
	}
	require.Equal(t, []string{"gpt-5", "o3", "o4", "o5"}, models)
	requireTime(t, t0.Add(4*time.Minute), events[3].At)

	// Times keep microseconds, like Postgres.
	fine := t0.Add(5*time.Minute + 123456789*time.Nanosecond)
	apply(t, s, incidents.Change{IncidentID: inc.ID, At: fine, Events: []incidents.EventSpec{
		transition(incidents.EventTransition, "openai", "o6", "healthy", "down", fine),
	}})
	got, events = get(t, s, inc.ID)
	requireTime(t, fine.Truncate(time.Microsecond), events[4].At)
	requireTime(t, fine.Truncate(time.Microsecond), got.UpdatedAt)
}

func testSetThread(t *testing.T, s Store) {
	inc := apply(t, s, opening("openai", "gpt-5", t0))
	require.NoError(t, s.SetThread(t.Context(), inc.ID, "C0123", "1717243200.000100"))
	got, _ := get(t, s, inc.ID)
	require.Equal(t, "C0123", got.SlackChannel)
	require.Equal(t, "1717243200.000100", got.SlackTS)
	after := apply(t, s, incidents.Change{IncidentID: inc.ID, At: t0.Add(time.Minute), Severity: incidents.SeverityWarning})
	require.Equal(t, "C0123", after.SlackChannel, "changes keep the thread")
	require.Equal(t, "1717243200.000100", after.SlackTS)
}
