package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/outagewatch/outagewatch/incidents"
)

func outboxCases() []testCase {
	return []testCase{
		{"claim honours next attempt and lease", testClaimLease},
		{"claim keeps each incident's order", testClaimOrder},
		{"concurrent claimers deliver each row once", testConcurrentClaim},
		{"backlog", testBacklog},
	}
}

// ids returns the IDs of rows.
func ids(rows []incidents.OutboxRow) []int64 {
	out := make([]int64, len(rows))
	for i, r := range rows {
		out[i] = r.ID
	}
	return out
}

func claim(t *testing.T, s Store, now time.Time, limit int) []incidents.OutboxRow {
	t.Helper()
	rows, err := s.Claim(t.Context(), now, limit, 30*time.Second)
	require.NoError(t, err)
	return rows
}

func testClaimLease(t *testing.T, s Store) {
	ctx := t.Context()
	apply(t, s, opening("openai", "gpt-5", t0))

	require.Empty(t, claim(t, s, t0.Add(-time.Second), 10), "not due before its first attempt")
	rows := claim(t, s, t0, 10)
	require.Len(t, rows, 1)
	row := rows[0]
	require.Equal(t, incidents.NotifyOpen, row.Kind)
	require.Equal(t, 1, row.Claims, "the first claim")

	require.Empty(t, claim(t, s, t0.Add(30*time.Second), 10), "leased until now+lease")
	again := claim(t, s, t0.Add(31*time.Second), 10)
	require.Equal(t, []int64{row.ID}, ids(again), "an expired lease (a worker that died) frees the row")
	require.Equal(t, 2, again[0].Claims, "claimed before: it may have been sent")
	require.Zero(t, again[0].Attempts, "no attempt was recorded")

	require.NoError(t, s.Retry(ctx, row.ID, t0.Add(2*time.Minute), "slack: 503"))
	require.Empty(t, claim(t, s, t0.Add(time.Minute), 10), "not due before the retry")
	retried := claim(t, s, t0.Add(2*time.Minute), 10)
	require.Len(t, retried, 1)
	require.Equal(t, row.ID, retried[0].ID)
	require.Equal(t, 1, retried[0].Attempts)
	require.Equal(t, "slack: 503", retried[0].LastError)
	requireTime(t, t0.Add(2*time.Minute), retried[0].NextAttemptAt)
	requireTime(t, t0, retried[0].CreatedAt)

	// Retry releases the lease at once: the row is claimable again without waiting for it.
	require.NoError(t, s.Retry(ctx, row.ID, t0.Add(2*time.Minute), "slack: timeout"))
	retried = claim(t, s, t0.Add(2*time.Minute), 10)
	require.Len(t, retried, 1)
	require.Equal(t, 2, retried[0].Attempts)

	require.NoError(t, s.Complete(ctx, row.ID, t0.Add(3*time.Minute)))
	require.Empty(t, claim(t, s, t0.Add(time.Hour), 10), "delivered rows are never claimed")
	require.NoError(t, s.Complete(ctx, row.ID, t0.Add(4*time.Minute)), "completing twice is harmless")
	require.NoError(t, s.Retry(ctx, row.ID, t0.Add(time.Hour), "late"), "a late retry of a delivered row does nothing")
	require.Empty(t, claim(t, s, t0.Add(2*time.Hour), 10))
}

func testClaimOrder(t *testing.T, s Store) {
	ctx := t.Context()
	now := t0.Add(time.Minute)
	// Incident A: open, then an event with a reply and an update; incident B: open, then a reply.
	a := opening("openai", "gpt-5", t0)
	a.Events = append(a.Events, transition(incidents.EventTransition, "openai", "o3", "healthy", "down", t0,
		incidents.NotifyEvent, incidents.NotifyUpdate))
	incA := apply(t, s, a)
	b := opening("anthropic", "claude", t0)
	b.Events = append(b.Events, transition(incidents.EventTransition, "anthropic", "haiku", "healthy", "down", t0,
		incidents.NotifyEvent))
	incB := apply(t, s, b)

	first := claim(t, s, now, 10)
	require.Len(t, first, 2, "only the head of each incident is eligible")
	a1, b1 := first[0], first[1]
	require.Equal(t, []int64{incA.ID, incB.ID}, []int64{a1.IncidentID, b1.IncidentID}, "in ID order")
	require.Empty(t, claim(t, s, now, 10), "heads leased, and nothing behind them may overtake")

	require.NoError(t, s.Complete(ctx, a1.ID, now))
	a2 := claim(t, s, now, 10)
	require.Len(t, a2, 1)
	require.Equal(t, incA.ID, a2[0].IncidentID)
	require.Equal(t, incidents.NotifyEvent, a2[0].Kind)

	// A retried head still holds its incident's queue, even when a later row would be due.
	require.NoError(t, s.Retry(ctx, a2[0].ID, now.Add(time.Hour), "slack: 429"))
	require.Empty(t, claim(t, s, now, 10))

	// A head that failed for good no longer holds it.
	require.NoError(t, s.Fail(ctx, a2[0].ID, "slack: channel_not_found"))
	a3 := claim(t, s, now, 10)
	require.Len(t, a3, 1)
	require.Equal(t, incidents.NotifyUpdate, a3[0].Kind)
	require.Greater(t, a3[0].ID, a2[0].ID)
	require.NoError(t, s.Fail(ctx, a2[0].ID, "again"), "failing a failed row is harmless")

	require.NoError(t, s.Complete(ctx, b1.ID, now))
	require.NoError(t, s.Complete(ctx, a3[0].ID, now))
	b2 := claim(t, s, now, 1)
	require.Len(t, b2, 1)
	require.Equal(t, incB.ID, b2[0].IncidentID)
	require.NoError(t, s.Complete(ctx, b2[0].ID, now))
	require.Empty(t, claim(t, s, now.Add(time.Hour), 10))

	// Limits: with several heads due, the lowest IDs come first.
	for i := range 3 {
		apply(t, s, opening(fmt.Sprintf("p%d", i), "m", now))
	}
	limited := claim(t, s, now, 2)
	require.Len(t, limited, 2)
	rest := claim(t, s, now, 10)
	require.Len(t, rest, 1)
	require.Less(t, limited[1].ID, rest[0].ID)
}

// testConcurrentClaim runs two workers against one outbox: every row is delivered exactly once,
// and each incident's rows in order.
func testConcurrentClaim(t *testing.T, s Store) {
	const incidentCount, perIncident = 10, 3
	for i := range incidentCount {
		c := opening(fmt.Sprintf("p%02d", i), "m", t0)
		c.Events = append(c.Events, transition(incidents.EventTransition, c.Provider, "n", "healthy", "down", t0,
			incidents.NotifyEvent, incidents.NotifyUpdate))
		apply(t, s, c)
	}
	now := t0.Add(time.Minute)

	var (
		mu        sync.Mutex
		delivered = map[int64]int{}     // row → deliveries
		order     = map[int64][]int64{} // incident → rows in delivery order
		errs      = make(chan error, 2)
	)
	worker := func() error {
		for range 10_000 {
			rows, err := s.Claim(t.Context(), now, 4, time.Hour)
			if err != nil {
				return err
			}
			if len(rows) == 0 {
				n, _, err := s.Backlog(t.Context(), now)
				if err != nil || n == 0 {
					return err
				}
				time.Sleep(time.Millisecond) // the other worker holds the heads
				continue
			}
			for _, r := range rows {
				// Record before completing: the incident's next row is claimable only after.
				mu.Lock()
				delivered[r.ID]++
				order[r.IncidentID] = append(order[r.IncidentID], r.ID)
				mu.Unlock()
				if err := s.Complete(t.Context(), r.ID, now); err != nil {
					return err
				}
			}
		}
		return fmt.Errorf("the outbox never emptied")
	}
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() { errs <- worker() })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.Len(t, delivered, incidentCount*perIncident)
	for id, n := range delivered {
		require.Equal(t, 1, n, "row %d delivered %d times", id, n)
	}
	require.Len(t, order, incidentCount)
	for incident, rows := range order {
		require.IsIncreasing(t, rows, "incident %d delivered out of order", incident)
	}
}

func testBacklog(t *testing.T, s Store) {
	ctx := t.Context()
	n, oldest, err := s.Backlog(ctx, t0)
	require.NoError(t, err)
	require.Zero(t, n)
	require.True(t, oldest.IsZero())

	apply(t, s, opening("openai", "gpt-5", t0))
	late := opening("anthropic", "claude", t0.Add(time.Minute))
	late.Events[0].Notify = append(late.Events[0].Notify, incidents.NotifyUpdate)
	apply(t, s, late)

	n, oldest, err = s.Backlog(ctx, t0.Add(time.Hour))
	require.NoError(t, err)
	require.Equal(t, 3, n)
	requireTime(t, t0, oldest)

	n, _, err = s.Backlog(ctx, t0.Add(30*time.Second))
	require.NoError(t, err)
	require.Equal(t, 1, n, "rows created after now are not counted")

	rows := claim(t, s, t0.Add(time.Hour), 10)
	require.Len(t, rows, 2)
	n, _, err = s.Backlog(ctx, t0.Add(time.Hour))
	require.NoError(t, err)
	require.Equal(t, 3, n, "claimed rows are still pending")

	require.NoError(t, s.Complete(ctx, rows[0].ID, t0.Add(time.Hour)))
	require.NoError(t, s.Fail(ctx, rows[1].ID, "slack: invalid_auth"))
	n, oldest, err = s.Backlog(ctx, t0.Add(time.Hour))
	require.NoError(t, err)
	require.Equal(t, 1, n, "delivered and failed rows are not")
	requireTime(t, t0.Add(time.Minute), oldest)
}
