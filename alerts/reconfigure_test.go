package alerts_test

import (
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/outagewatch/outagewatch/alerts"
	"github.com/outagewatch/outagewatch/incidents"
)

// gated returns a recorder whose first send blocks until the returned channel is closed, then
// answers err.
func gated(err error) (*recorder, chan struct{}) {
	gate := make(chan struct{})
	return &recorder{answer: func(_ alerts.Notification, call int) (alerts.Receipt, error) {
		if call == 1 {
			<-gate
			return alerts.Receipt{}, err
		}
		return alerts.Receipt{}, nil
	}}, gate
}

// openIncidents opens an incident of each provider: one open notification each.
func openIncidents(t *testing.T, h *harness, providers ...string) {
	t.Helper()
	for _, p := range providers {
		c := opening(incidents.SeverityCritical)
		c.Provider = p
		h.apply(t, c)
	}
}

// sentOnce checks that the notifications of both notifiers are outbox rows each sent once, and
// that the outbox is empty.
func sentOnce(t *testing.T, h *harness, rows int, ns ...*recorder) {
	t.Helper()
	seen := map[int64]int{}
	for _, n := range ns {
		for _, c := range n.Calls() {
			seen[c.Row.ID]++
		}
	}
	require.Len(t, seen, rows)
	for id, times := range seen {
		require.Equal(t, 1, times, "row %d", id)
	}
	require.True(t, h.drained(t)())
}

// settle lets the dispatcher poll and deliver what it can.
func settle() {
	time.Sleep(time.Second)
	synctest.Wait()
}

// TestReconfigureWhileASendIsBlocked: three rows are claimed, the first one's send is blocked
// when the channel and the notifier (a new token) change. Reconfigure returns at once; the send
// in flight finishes with the old notifier and channel and is recorded; the two rows not yet
// sent go to the new channel through the new notifier. Each row is sent once.
func TestReconfigureWhileASendIsBlocked(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		old, gate := gated(nil)
		cfg := testConfig()
		h := run(t, cfg, old, nil)
		openIncidents(t, h, "openai", "anthropic", "mistral_ai")
		synctest.Wait() // the first send is blocked

		next, fresh := cfg, &recorder{}
		next.Channel, next.BotToken = "C2", "xoxb-rotated"
		require.NoError(t, h.d.Reconfigure(next, fresh))
		close(gate)
		settle()

		require.Len(t, old.Calls(), 1)
		require.Equal(t, "C1", old.Calls()[0].Channel)
		require.Len(t, fresh.Calls(), 2)
		for _, c := range fresh.Calls() {
			require.Equal(t, "C2", c.Channel)
			require.False(t, c.Redelivery)
		}
		sentOnce(t, h, 3, old, fresh)
		require.Equal(t, 3.0, h.counter(t, "outagewatch_alerts_sent_total", incidents.NotifyOpen))
	})
}

// TestReconfigureRetriesWithTheNewChannel: the send in flight when the channel changes fails;
// its retry, not yet sent, goes to the new channel, as a redelivery, once.
func TestReconfigureRetriesWithTheNewChannel(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		n, gate := gated(errors.New("connection reset"))
		cfg := testConfig()
		h := run(t, cfg, n, nil)
		openIncidents(t, h, "openai")
		synctest.Wait()

		next := cfg
		next.ProviderChannels = map[string]string{"openai": "C-openai"}
		require.NoError(t, h.d.Reconfigure(next, n))
		close(gate)
		settle()

		calls := n.Calls()
		require.Len(t, calls, 2)
		require.Equal(t, "C1", calls[0].Channel)
		require.Equal(t, "C-openai", calls[1].Channel)
		require.True(t, calls[1].Redelivery)
		require.Equal(t, calls[0].Row.ID, calls[1].Row.ID)
		require.True(t, h.drained(t)())
		require.Equal(t, 1.0, h.counter(t, "outagewatch_alerts_sent_total", incidents.NotifyOpen))
	})
}

// TestReconfigureOffAndOnKeepsTheOutbox: alerts are turned off while a send is blocked; it
// finishes and is recorded, the rest of its batch goes back to the outbox, and nothing is sent
// while alerts are off, whatever is queued meanwhile. Turned on again, every waiting row is
// sent once.
func TestReconfigureOffAndOnKeepsTheOutbox(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		old, gate := gated(nil)
		cfg := testConfig()
		h := run(t, cfg, old, nil)
		openIncidents(t, h, "openai", "anthropic")
		synctest.Wait()

		off := cfg
		off.BotToken = ""
		require.NoError(t, h.d.Reconfigure(off, nil))
		close(gate)
		openIncidents(t, h, "mistral_ai")
		for range 10 {
			settle()
		}
		require.Len(t, old.Calls(), 1, "nothing is sent while alerts are off")
		backlog, _, err := h.st.Backlog(t.Context(), time.Now().Add(time.Hour))
		require.NoError(t, err)
		require.Equal(t, 2, backlog, "the rows wait in the outbox")
		require.NoError(t, h.d.Check(t.Context()))

		fresh := &recorder{}
		require.NoError(t, h.d.Reconfigure(cfg, fresh))
		settle()
		require.Len(t, fresh.Calls(), 2)
		sentOnce(t, h, 3, old, fresh)
	})
}

// TestReconfigureEnablesADisabledDispatcher: a dispatcher started with alerts off sends
// nothing; turned on, it sends what waited.
func TestReconfigureEnablesADisabledDispatcher(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig()
		off := cfg
		off.BotToken = ""
		h := run(t, off, &recorder{}, nil)
		openIncidents(t, h, "openai")
		settle()
		require.Empty(t, h.n.Calls())
		n := &recorder{}
		require.NoError(t, h.d.Reconfigure(cfg, n))
		settle()
		require.Len(t, n.Calls(), 1)
		sentOnce(t, h, 1, n)
	})
}

// TestReconfigureRefusesAndKeeps: an invalid configuration, or an enabled one without a
// notifier, is refused and changes nothing; a refused token's halt is cleared by a new one,
// which sends what waited meanwhile.
func TestReconfigureRefusesAndKeeps(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		refused := &recorder{answer: func(alerts.Notification, int) (alerts.Receipt, error) {
			return alerts.Receipt{}, alerts.Unauthorized(errors.New("slack: invalid_auth"))
		}}
		cfg := testConfig()
		h := run(t, cfg, refused, nil)
		openIncidents(t, h, "openai")
		settle()
		require.ErrorContains(t, h.d.Check(t.Context()), "invalid_auth")

		bad := cfg
		bad.BatchSize = 0
		require.ErrorContains(t, h.d.Reconfigure(bad, &recorder{}), "alerts.batch_size")
		require.ErrorContains(t, h.d.Reconfigure(cfg, nil), "notifier must be set")
		settle()
		require.ErrorContains(t, h.d.Check(t.Context()), "invalid_auth", "nothing changed")
		openIncidents(t, h, "anthropic") // waits: delivery is halted
		settle()
		require.Len(t, refused.Calls(), 1)

		fixed := &recorder{}
		require.NoError(t, h.d.Reconfigure(cfg, fixed))
		settle()
		require.NoError(t, h.d.Check(t.Context()))
		require.Len(t, fixed.Calls(), 1, "the row that waited goes out")
		require.Equal(t, "anthropic", fixed.Calls()[0].Incident.Provider)
		require.Len(t, refused.Calls(), 1, "the refused row failed for good, as before")
		require.True(t, h.drained(t)())
	})
}
