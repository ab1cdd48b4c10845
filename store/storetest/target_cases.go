package storetest

import (
	"cmp"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/outagewatch/outagewatch/incidents"
)

// Targets besides Slack (issue 24): each registered destination gets its own delivery of every
// outbox row written while it is registered, claimed and settled apart from Slack's outbox row
// and from the other destinations.

func targetCases() []testCase {
	return []testCase{
		{"deliveries of rows written after registration", testDeliveriesAfterRegistration},
		{"deliveries honour next attempt and lease", testDeliveryLease},
		{"deliveries keep each incident's order", testDeliveryOrder},
		{"each destination's queue is independent", testDeliveryQueuesIndependent},
		{"deliveries leave Slack's outbox alone", testDeliveriesLeaveOutbox},
		{"concurrent claimers deliver each delivery once", testConcurrentClaimDeliveries},
		{"delivery backlog", testDeliveryBacklog},
		{"unregistered destinations expire", testTargetExpiry},
		{"settling a missing delivery", testDeliveryNotFound},
	}
}

// Destinations of the cases: an Alertmanager HA pair and a webhook.
const (
	amA     = "am@am-0:9093"
	amB     = "am@am-1:9093"
	webhook = "hook"
)

func register(t *testing.T, s Store, now time.Time, destinations ...string) {
	t.Helper()
	require.NoError(t, s.RegisterTargets(t.Context(), destinations, now))
}

func claimDeliveries(t *testing.T, s Store, destination string, now time.Time, limit int) []incidents.OutboxRow {
	t.Helper()
	rows, err := s.ClaimDeliveries(t.Context(), destination, now, limit, 30*time.Second)
	require.NoError(t, err)
	return rows
}

func deliveryBacklog(t *testing.T, s Store, destination string, now time.Time) int {
	t.Helper()
	n, _, err := s.DeliveryBacklog(t.Context(), destination, now)
	require.NoError(t, err)
	return n
}

// drainDeliveries is drain on the deliveries of destination.
func drainDeliveries(t *testing.T, s Store, destination string, now time.Time) []incidents.OutboxRow {
	t.Helper()
	var out []incidents.OutboxRow
	for range 1000 {
		rows, err := s.ClaimDeliveries(t.Context(), destination, now, 100, time.Minute)
		require.NoError(t, err)
		if len(rows) == 0 {
			slices.SortFunc(out, func(a, b incidents.OutboxRow) int { return cmp.Compare(a.ID, b.ID) })
			return out
		}
		for _, r := range rows {
			require.NoError(t, s.CompleteDelivery(t.Context(), r.ID, now))
		}
		out = append(out, rows...)
	}
	t.Fatal("drain: the deliveries never empty")
	return nil
}

// withUpdates adds to c a transition of another model notified as an event and an update: an
// incident with three notifications.
func withUpdates(c incidents.Change) incidents.Change {
	c.Events = append(c.Events, transition(incidents.EventTransition, c.Provider, "other-model", "healthy", "down", c.At,
		incidents.NotifyEvent, incidents.NotifyUpdate))
	return c
}

// testDeliveriesAfterRegistration: rows written before a destination is registered get no
// delivery; rows written after get one per destination, carrying the outbox row's notification;
// a duplicate outbox row gets none.
func testDeliveriesAfterRegistration(t *testing.T, s Store) {
	before := apply(t, s, opening("openai", "gpt-5", t0))
	register(t, s, t0.Add(time.Second), amA, amB, amA)
	after := apply(t, s, opening("anthropic", "claude", t0.Add(2*time.Second)))
	// Attaches to the anthropic incident: its thread root's dedup key is taken, so no outbox
	// row and no delivery.
	again := apply(t, s, opening("anthropic", "haiku", t0.Add(3*time.Second)))
	require.Equal(t, after.ID, again.ID)

	now := t0.Add(time.Minute)
	outbox := drain(t, s, now)
	require.Len(t, outbox, 2, "Slack has both incidents' roots")
	require.Equal(t, before.ID, outbox[0].IncidentID)
	want := outbox[1]

	for _, d := range []string{amA, amB} {
		rows := claimDeliveries(t, s, d, now, 10)
		require.Len(t, rows, 1, "%s: only the row written after its registration", d)
		got := rows[0]
		require.Equal(t, after.ID, got.IncidentID)
		require.Equal(t, want.EventID, got.EventID)
		require.Equal(t, incidents.NotifyOpen, got.Kind)
		require.Equal(t, want.DedupKey, got.DedupKey)
		requireTime(t, t0.Add(2*time.Second), got.CreatedAt)
		requireTime(t, t0.Add(2*time.Second), got.NextAttemptAt, "due at once")
		require.Equal(t, 1, got.Claims, "its own claim count, not Slack's")
		require.Zero(t, got.Attempts)
		require.True(t, got.DeliveredAt.IsZero(), "delivered to Slack, not to %s", d)
		require.Empty(t, got.LastError)
		require.False(t, got.Permanent)
	}
	a, b := claimDeliveries(t, s, amA, now.Add(time.Hour), 10), claimDeliveries(t, s, amB, now.Add(time.Hour), 10)
	require.Len(t, a, 1)
	require.Len(t, b, 1)
	require.NotEqual(t, a[0].ID, b[0].ID, "one delivery each")
	require.Empty(t, claimDeliveries(t, s, webhook, now, 10), "an unregistered destination has no deliveries")
}

func testDeliveryLease(t *testing.T, s Store) {
	ctx := t.Context()
	register(t, s, t0, webhook)
	apply(t, s, opening("openai", "gpt-5", t0))

	require.Empty(t, claimDeliveries(t, s, webhook, t0.Add(-time.Second), 10), "not due before its first attempt")
	rows := claimDeliveries(t, s, webhook, t0, 10)
	require.Len(t, rows, 1)
	row := rows[0]
	require.Equal(t, 1, row.Claims, "the first claim")

	require.Empty(t, claimDeliveries(t, s, webhook, t0.Add(30*time.Second), 10), "leased until now+lease")
	again := claimDeliveries(t, s, webhook, t0.Add(31*time.Second), 10)
	require.Equal(t, []int64{row.ID}, ids(again), "an expired lease (a worker that died) frees the delivery")
	require.Equal(t, 2, again[0].Claims, "claimed before: it may have been sent")
	require.Zero(t, again[0].Attempts, "no attempt was recorded")

	require.NoError(t, s.RetryDelivery(ctx, row.ID, t0.Add(2*time.Minute), "webhook: 503"))
	require.Empty(t, claimDeliveries(t, s, webhook, t0.Add(time.Minute), 10), "not due before the retry")
	retried := claimDeliveries(t, s, webhook, t0.Add(2*time.Minute), 10)
	require.Equal(t, []int64{row.ID}, ids(retried))
	require.Equal(t, 1, retried[0].Attempts)
	require.Equal(t, "webhook: 503", retried[0].LastError)
	requireTime(t, t0.Add(2*time.Minute), retried[0].NextAttemptAt)
	requireTime(t, t0, retried[0].CreatedAt)

	// Retry releases the lease at once: the delivery is claimable again without waiting for it.
	require.NoError(t, s.RetryDelivery(ctx, row.ID, t0.Add(2*time.Minute), "webhook: timeout"))
	retried = claimDeliveries(t, s, webhook, t0.Add(2*time.Minute), 10)
	require.Len(t, retried, 1)
	require.Equal(t, 2, retried[0].Attempts)

	require.NoError(t, s.CompleteDelivery(ctx, row.ID, t0.Add(3*time.Minute)))
	require.Empty(t, claimDeliveries(t, s, webhook, t0.Add(time.Hour), 10), "delivered deliveries are never claimed")
	require.NoError(t, s.CompleteDelivery(ctx, row.ID, t0.Add(4*time.Minute)), "completing twice is harmless")
	require.NoError(t, s.RetryDelivery(ctx, row.ID, t0.Add(time.Hour), "late"), "a late retry of a delivered delivery does nothing")
	require.NoError(t, s.FailDelivery(ctx, row.ID, "late"), "so does a late failure")
	require.Empty(t, claimDeliveries(t, s, webhook, t0.Add(2*time.Hour), 10))

	_, err := s.ClaimDeliveries(ctx, webhook, t0, 0, time.Minute)
	require.Error(t, err, "a limit below 1")
}

func testDeliveryOrder(t *testing.T, s Store) {
	ctx := t.Context()
	now := t0.Add(time.Minute)
	register(t, s, t0, amA)
	// Incident A: open, then an event and an update; incident B: open, then an event.
	incA := apply(t, s, withUpdates(opening("openai", "gpt-5", t0)))
	b := opening("anthropic", "claude", t0)
	b.Events = append(b.Events, transition(incidents.EventTransition, "anthropic", "haiku", "healthy", "down", t0,
		incidents.NotifyEvent))
	incB := apply(t, s, b)

	first := claimDeliveries(t, s, amA, now, 10)
	require.Len(t, first, 2, "only the head of each incident is eligible")
	a1, b1 := first[0], first[1]
	require.Equal(t, []int64{incA.ID, incB.ID}, []int64{a1.IncidentID, b1.IncidentID}, "in outbox order")
	require.Equal(t, []string{incidents.NotifyOpen, incidents.NotifyOpen}, []string{a1.Kind, b1.Kind})
	require.Empty(t, claimDeliveries(t, s, amA, now, 10), "heads leased, and nothing behind them may overtake")

	require.NoError(t, s.CompleteDelivery(ctx, a1.ID, now))
	a2 := claimDeliveries(t, s, amA, now, 10)
	require.Len(t, a2, 1)
	require.Equal(t, incA.ID, a2[0].IncidentID)
	require.Equal(t, incidents.NotifyEvent, a2[0].Kind)

	// A retried head still holds its incident's queue, even when a later delivery would be due.
	require.NoError(t, s.RetryDelivery(ctx, a2[0].ID, now.Add(time.Hour), "alertmanager: 503"))
	require.Empty(t, claimDeliveries(t, s, amA, now, 10))

	// A head that failed for good no longer holds it.
	require.NoError(t, s.FailDelivery(ctx, a2[0].ID, "alertmanager: 400"))
	a3 := claimDeliveries(t, s, amA, now, 10)
	require.Len(t, a3, 1)
	require.Equal(t, incidents.NotifyUpdate, a3[0].Kind)
	require.Greater(t, a3[0].EventID, a1.EventID)
	require.NoError(t, s.FailDelivery(ctx, a2[0].ID, "again"), "failing a failed delivery is harmless")

	require.NoError(t, s.CompleteDelivery(ctx, b1.ID, now))
	require.NoError(t, s.CompleteDelivery(ctx, a3[0].ID, now))
	b2 := claimDeliveries(t, s, amA, now, 1)
	require.Len(t, b2, 1)
	require.Equal(t, incB.ID, b2[0].IncidentID)
	require.Equal(t, incidents.NotifyEvent, b2[0].Kind)
	require.NoError(t, s.CompleteDelivery(ctx, b2[0].ID, now))
	require.Empty(t, claimDeliveries(t, s, amA, now.Add(time.Hour), 10))

	// Limits: with several heads due, the oldest outbox rows come first.
	var opened []int64
	for i := range 3 {
		opened = append(opened, apply(t, s, opening(fmt.Sprintf("p%d", i), "m", now)).ID)
	}
	limited := claimDeliveries(t, s, amA, now, 2)
	require.Equal(t, opened[:2], []int64{limited[0].IncidentID, limited[1].IncidentID})
	rest := claimDeliveries(t, s, amA, now, 10)
	require.Len(t, rest, 1)
	require.Equal(t, opened[2], rest[0].IncidentID)
}

// testDeliveryQueuesIndependent: one destination retrying, failing or completing its
// deliveries changes nothing for another's.
func testDeliveryQueuesIndependent(t *testing.T, s Store) {
	ctx := t.Context()
	now := t0.Add(time.Minute)
	register(t, s, t0, amA, amB)
	inc := apply(t, s, withUpdates(opening("openai", "gpt-5", t0)))

	a := claimDeliveries(t, s, amA, now, 10)
	b := claimDeliveries(t, s, amB, now, 10)
	require.Len(t, a, 1, "each destination has its own head")
	require.Len(t, b, 1)
	require.Equal(t, a[0].DedupKey, b[0].DedupKey)

	// amA is down: its head waits an hour. amB goes on with the incident's later rows.
	require.NoError(t, s.RetryDelivery(ctx, a[0].ID, now.Add(time.Hour), "alertmanager: connection refused"))
	require.NoError(t, s.CompleteDelivery(ctx, b[0].ID, now))
	b2 := claimDeliveries(t, s, amB, now, 10)
	require.Len(t, b2, 1)
	require.Equal(t, incidents.NotifyEvent, b2[0].Kind)
	require.Empty(t, claimDeliveries(t, s, amA, now, 10), "amA's retried head holds only amA's queue")

	// amB fails its event for good and delivers the update: amA still has all three pending.
	require.NoError(t, s.FailDelivery(ctx, b2[0].ID, "alertmanager: 400"))
	b3 := claimDeliveries(t, s, amB, now, 10)
	require.Len(t, b3, 1)
	require.Equal(t, incidents.NotifyUpdate, b3[0].Kind)
	require.NoError(t, s.CompleteDelivery(ctx, b3[0].ID, now))
	require.Zero(t, deliveryBacklog(t, s, amB, now))
	require.Equal(t, 3, deliveryBacklog(t, s, amA, now))

	retried := claimDeliveries(t, s, amA, now.Add(time.Hour), 10)
	require.Equal(t, ids(a), ids(retried))
	require.Equal(t, 1, retried[0].Attempts)
	require.Equal(t, "alertmanager: connection refused", retried[0].LastError)
	require.NoError(t, s.CompleteDelivery(ctx, retried[0].ID, now.Add(time.Hour)))
	rest := drainDeliveries(t, s, amA, now.Add(time.Hour))
	require.Equal(t, []string{incidents.NotifyEvent, incidents.NotifyUpdate}, []string{rest[0].Kind, rest[1].Kind})
	for _, r := range rest {
		require.Equal(t, inc.ID, r.IncidentID)
		require.Zero(t, r.Attempts, "amB's failure is amB's")
		require.False(t, r.Permanent)
	}
}

// testDeliveriesLeaveOutbox: the outbox rows' own delivery state is Slack's; claiming and
// settling deliveries does not touch it, nor the other way round.
func testDeliveriesLeaveOutbox(t *testing.T, s Store) {
	ctx := t.Context()
	now := t0.Add(time.Minute)
	register(t, s, t0, webhook)
	apply(t, s, withUpdates(opening("openai", "gpt-5", t0)))

	// The webhook delivers everything, failing one row for good.
	d := claimDeliveries(t, s, webhook, now, 10)
	require.Len(t, d, 1)
	require.NoError(t, s.FailDelivery(ctx, d[0].ID, "webhook: 410"))
	require.Len(t, drainDeliveries(t, s, webhook, now), 2)

	n, _, err := s.Backlog(ctx, now)
	require.NoError(t, err)
	require.Equal(t, 3, n, "Slack's backlog is whole")
	rows := claim(t, s, now, 10)
	require.Len(t, rows, 1, "Slack's head, held back by nothing the webhook did")
	require.Equal(t, incidents.NotifyOpen, rows[0].Kind)
	require.Equal(t, 1, rows[0].Claims, "the delivery claims are not Slack's")
	require.Zero(t, rows[0].Attempts)
	require.Empty(t, rows[0].LastError)
	require.False(t, rows[0].Permanent)
	require.NoError(t, s.Complete(ctx, rows[0].ID, now))
	require.Len(t, drain(t, s, now), 2)

	// And the other way round: Slack delivering everything leaves the deliveries pending.
	register(t, s, now, amA)
	apply(t, s, withUpdates(opening("anthropic", "claude", now)))
	require.Len(t, drain(t, s, now), 3)
	require.Equal(t, 3, deliveryBacklog(t, s, amA, now))
	require.Len(t, drainDeliveries(t, s, amA, now), 3)
}

// testConcurrentClaimDeliveries runs two workers on one destination and one on another: every
// delivery is made exactly once, and each incident's in order.
func testConcurrentClaimDeliveries(t *testing.T, s Store) {
	const incidentCount, perIncident = 10, 3
	register(t, s, t0, amA, amB)
	for i := range incidentCount {
		apply(t, s, withUpdates(opening(fmt.Sprintf("p%02d", i), "m", t0)))
	}
	now := t0.Add(time.Minute)

	type key struct {
		destination string
		incident    int64
	}
	var (
		mu        sync.Mutex
		delivered = map[int64]int{}   // delivery → deliveries
		order     = map[key][]int64{} // destination and incident → deliveries in delivery order
		errs      = make(chan error, 3)
	)
	worker := func(destination string) error {
		for range 10_000 {
			rows, err := s.ClaimDeliveries(t.Context(), destination, now, 4, time.Hour)
			if err != nil {
				return err
			}
			if len(rows) == 0 {
				n, _, err := s.DeliveryBacklog(t.Context(), destination, now)
				if err != nil || n == 0 {
					return err
				}
				time.Sleep(time.Millisecond) // the other worker holds the heads
				continue
			}
			for _, r := range rows {
				// Record before completing: the incident's next delivery is claimable only after.
				mu.Lock()
				delivered[r.ID]++
				k := key{destination, r.IncidentID}
				order[k] = append(order[k], r.ID)
				mu.Unlock()
				if err := s.CompleteDelivery(t.Context(), r.ID, now); err != nil {
					return err
				}
			}
		}
		return fmt.Errorf("the deliveries to %s never emptied", destination)
	}
	var wg sync.WaitGroup
	for _, d := range []string{amA, amA, amB} {
		wg.Go(func() { errs <- worker(d) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.Len(t, delivered, 2*incidentCount*perIncident)
	for id, n := range delivered {
		require.Equal(t, 1, n, "delivery %d made %d times", id, n)
	}
	require.Len(t, order, 2*incidentCount)
	for k, rows := range order {
		require.Len(t, rows, perIncident)
		require.IsIncreasing(t, rows, "incident %d delivered to %s out of order", k.incident, k.destination)
	}
}

func testDeliveryBacklog(t *testing.T, s Store) {
	ctx := t.Context()
	register(t, s, t0, amA, amB)
	n, oldest, err := s.DeliveryBacklog(ctx, amA, t0)
	require.NoError(t, err)
	require.Zero(t, n)
	require.True(t, oldest.IsZero())

	apply(t, s, opening("openai", "gpt-5", t0))
	late := opening("anthropic", "claude", t0.Add(time.Minute))
	late.Events[0].Notify = append(late.Events[0].Notify, incidents.NotifyUpdate)
	apply(t, s, late)

	n, oldest, err = s.DeliveryBacklog(ctx, amA, t0.Add(time.Hour))
	require.NoError(t, err)
	require.Equal(t, 3, n)
	requireTime(t, t0, oldest)
	require.Equal(t, 1, deliveryBacklog(t, s, amA, t0.Add(30*time.Second)), "deliveries created after now are not counted")
	require.Zero(t, deliveryBacklog(t, s, webhook, t0.Add(time.Hour)), "an unregistered destination has none")

	rows := claimDeliveries(t, s, amA, t0.Add(time.Hour), 10)
	require.Len(t, rows, 2)
	require.Equal(t, 3, deliveryBacklog(t, s, amA, t0.Add(time.Hour)), "claimed deliveries are still pending")

	require.NoError(t, s.CompleteDelivery(ctx, rows[0].ID, t0.Add(time.Hour)))
	require.NoError(t, s.FailDelivery(ctx, rows[1].ID, "alertmanager: 400"))
	n, oldest, err = s.DeliveryBacklog(ctx, amA, t0.Add(time.Hour))
	require.NoError(t, err)
	require.Equal(t, 1, n, "delivered and failed deliveries are not")
	requireTime(t, t0.Add(time.Minute), oldest)
	require.Equal(t, 3, deliveryBacklog(t, s, amB, t0.Add(time.Hour)), "amB's are its own")
}

// testTargetExpiry: a destination no longer registered keeps its deliveries for
// alerts.TargetExpiry (an hour), then is dropped with them; one registered again in the
// meantime is kept.
func testTargetExpiry(t *testing.T, s Store) {
	ctx := t.Context()
	register(t, s, t0, amA, amB)
	apply(t, s, opening("openai", "gpt-5", t0))
	// amB is gone from the configuration: only amA is registered from now on.
	register(t, s, t0.Add(30*time.Minute), amA)
	apply(t, s, opening("anthropic", "claude", t0.Add(31*time.Minute)))
	require.Equal(t, 2, deliveryBacklog(t, s, amB, t0.Add(time.Hour)), "registered within the hour: still served")

	register(t, s, t0.Add(time.Hour), amA)
	bRows := claimDeliveries(t, s, amB, t0.Add(time.Hour), 10)
	require.Len(t, bRows, 2, "an hour exactly: kept")

	register(t, s, t0.Add(time.Hour+time.Microsecond))
	require.Zero(t, deliveryBacklog(t, s, amB, t0.Add(2*time.Hour)), "dropped with its deliveries")
	require.Empty(t, claimDeliveries(t, s, amB, t0.Add(2*time.Hour), 10))
	require.ErrorIs(t, s.CompleteDelivery(ctx, bRows[0].ID, t0.Add(2*time.Hour)), incidents.ErrNotFound,
		"a delivery dropped while a worker had it")
	require.Equal(t, 2, deliveryBacklog(t, s, amA, t0.Add(2*time.Hour)), "amA, registered at 30m, keeps its deliveries")

	// Rows written now go to amA only; amB registered again starts afresh.
	apply(t, s, opening("google", "gemini", t0.Add(time.Hour+time.Second)))
	register(t, s, t0.Add(time.Hour+2*time.Second), amB, amA)
	apply(t, s, opening("mistral", "large", t0.Add(time.Hour+3*time.Second)))
	now := t0.Add(2 * time.Hour)
	require.Len(t, drainDeliveries(t, s, amA, now), 4)
	back := drainDeliveries(t, s, amB, now)
	require.Len(t, back, 1, "only the row written after it came back")
	require.Equal(t, 1, back[0].Claims)

	// Expiry counts from the last registration, and an empty registration still expires.
	register(t, s, t0.Add(3*time.Hour))
	apply(t, s, opening("cohere", "command", t0.Add(3*time.Hour)))
	require.Zero(t, deliveryBacklog(t, s, amA, t0.Add(4*time.Hour)))
	require.Zero(t, deliveryBacklog(t, s, amB, t0.Add(4*time.Hour)))
	n, _, err := s.Backlog(ctx, t0.Add(4*time.Hour))
	require.NoError(t, err)
	require.Equal(t, 5, n, "Slack's outbox keeps every row")
}

func testDeliveryNotFound(t *testing.T, s Store) {
	ctx := t.Context()
	require.ErrorIs(t, s.CompleteDelivery(ctx, 4242, t0), incidents.ErrNotFound)
	require.ErrorIs(t, s.RetryDelivery(ctx, 4242, t0, "x"), incidents.ErrNotFound)
	require.ErrorIs(t, s.FailDelivery(ctx, 4242, "x"), incidents.ErrNotFound)
	err := s.CompleteDelivery(ctx, 4242, t0)
	require.ErrorContains(t, err, "complete delivery 4242")
	require.ErrorContains(t, s.RetryDelivery(ctx, 4242, t0, "x"), "retry delivery 4242")
}
