package slack_test

import (
	"context"
	"errors"
	"github.com/outagewatch/outagewatch/internal/slackfake"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/outagewatch/outagewatch/alerts"
	"github.com/outagewatch/outagewatch/incidents"
)

var errKilled = errors.New("killed")

// killable is a store that dies, as the daemon would when killed, on the first call of method
// about a row of kind: that call and every later one fail, and the dispatcher is stopped.
type killable struct {
	store
	method, kind string
	kill         func()

	mu    sync.Mutex
	dead  bool
	kinds map[int64]string // claimed rows' kinds
}

func (k *killable) check(method string, rowID int64) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if !k.dead && method == k.method && (rowID == 0 || k.kinds[rowID] == k.kind) {
		k.dead = true
		k.kill()
	}
	if k.dead {
		return errKilled
	}
	return nil
}

func (k *killable) Claim(ctx context.Context, now time.Time, limit int, lease time.Duration) ([]incidents.OutboxRow, error) {
	if err := k.check("Claim", 0); err != nil {
		return nil, err
	}
	rows, err := k.store.Claim(ctx, now, limit, lease)
	k.mu.Lock()
	for _, r := range rows {
		k.kinds[r.ID] = r.Kind
	}
	k.mu.Unlock()
	return rows, err
}

func (k *killable) Complete(ctx context.Context, id int64, at time.Time) error {
	if err := k.check("Complete", id); err != nil {
		return err
	}
	return k.store.Complete(ctx, id, at)
}

func (k *killable) Retry(ctx context.Context, id int64, next time.Time, msg string) error {
	if err := k.check("Retry", id); err != nil {
		return err
	}
	return k.store.Retry(ctx, id, next, msg)
}

func (k *killable) Fail(ctx context.Context, id int64, msg string) error {
	if err := k.check("Fail", id); err != nil {
		return err
	}
	return k.store.Fail(ctx, id, msg)
}

func (k *killable) SetThread(ctx context.Context, incidentID int64, channel, ts string) error {
	if err := k.check("SetThread", 0); err != nil {
		return err
	}
	return k.store.SetThread(ctx, incidentID, channel, ts)
}

// TestCrashBetweenSendAndRecord kills the daemon after Slack took a message and before the
// outbox knew: the restarted dispatcher finds the message by its metadata and posts no
// duplicate, neither a second root nor a second reply.
func TestCrashBetweenSendAndRecord(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, method, kind string
		lookup             string // the look-up the restart must make
	}{
		{"root posted, thread not recorded", "SetThread", "", "conversations.history"},
		{"root posted and recorded, row not completed", "Complete", incidents.NotifyOpen, ""},
		{"reply posted, row not completed", "Complete", incidents.NotifyEvent, "conversations.replies"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ws, st := slackfake.New(t), openSQLite(t)
			cfg := botConfig(ws)
			cfg.SendTimeout, cfg.Lease = 250*time.Millisecond, 500*time.Millisecond
			now := time.Now()
			inc := apply(t, st, opening("anthropic", now.Add(-time.Second)))
			apply(t, st, transition(inc.ID, "anthropic", now))

			k := &killable{store: st, method: tc.method, kind: tc.kind, kinds: map[int64]string{}}
			var first *running
			ready := make(chan struct{})
			k.kill = func() { <-ready; first.stop() }
			first = start(t, cfg, st, func(d *alerts.Deps) { d.Outbox, d.Settler, d.Reader = k, k, k })
			close(ready)
			<-first.done
			posted := len(ws.Messages())
			require.Positive(t, posted, "the message went out before the kill")

			start(t, cfg, st, nil) // the restart: the lease must expire first
			require.Eventually(t, drained(t, st), 10*time.Second, 10*time.Millisecond)
			msgs := ws.Messages()
			require.Len(t, msgs, 2, "one root and one reply")
			roots := 0
			for _, m := range msgs {
				if m.ThreadTS == "" {
					roots++
				}
			}
			require.Equal(t, 1, roots)
			stored, _, err := st.Get(t.Context(), inc.ID)
			require.NoError(t, err)
			require.Equal(t, msgs[0].TS, stored.SlackTS, "the root found again is recorded")
			require.Equal(t, msgs[0].TS, msgs[1].ThreadTS)
			require.Equal(t, 1, msgs[0].Updates)
			if tc.lookup != "" {
				require.NotEmpty(t, ws.Calls(tc.lookup), "the restart looked for the message")
			}
		})
	}
}

// TestBadToken has Slack refuse the token: one request, no retries nor other sends, the row
// failed for good, and /readyz says what to fix.
func TestBadToken(t *testing.T) {
	t.Parallel()
	ws, st := slackfake.New(t), openSQLite(t)
	for range 10 {
		ws.Fail("chat.postMessage", slackfake.Fault{SlackErr: "invalid_auth"})
	}
	apply(t, st, opening("anthropic", time.Now()))
	apply(t, st, opening("openai", time.Now()))
	var polls pollCounter
	r := start(t, botConfig(ws), st, polls.countPolls)
	require.Eventually(t, func() bool { return r.d.Check(t.Context()) != nil }, 10*time.Second, 5*time.Millisecond)
	err := r.d.Check(t.Context())
	require.ErrorContains(t, err, "slack: invalid_auth: the bot token is wrong or revoked; set OUTAGEWATCH_SLACK_BOT_TOKEN")
	require.NotContains(t, err.Error(), "xoxb-test")

	polls.waitPolls(t, 20) // twenty polls: nothing more may be sent
	require.Len(t, ws.Calls(""), 1, "one request, then nothing")
	n, _, err := st.Backlog(t.Context(), time.Now())
	require.NoError(t, err)
	require.Equal(t, 1, n, "the refused row failed for good; the other waits for a fixed token")
	require.Equal(t, 1.0, r.metric(t, "outagewatch_alerts_errors_total", "permanent"))
	require.Equal(t, 1.0, r.metric(t, "outagewatch_alerts_permanent_errors", ""))
}

// TestChannelNotFound fails one row for good; the channel shows on /readyz until a send to it
// succeeds, and other incidents are still delivered.
func TestChannelNotFound(t *testing.T) {
	t.Parallel()
	ws, st := slackfake.New(t), openSQLite(t)
	ws.Fail("chat.postMessage", slackfake.Fault{SlackErr: "channel_not_found"})
	apply(t, st, opening("anthropic", time.Now()))
	r := start(t, botConfig(ws), st, nil)
	require.Eventually(t, func() bool { return r.d.Check(t.Context()) != nil }, 10*time.Second, 5*time.Millisecond)
	require.ErrorContains(t, r.d.Check(t.Context()), `channel "C0INCIDENTS" does not exist`)
	apply(t, st, opening("openai", time.Now()))
	require.Eventually(t, func() bool { return len(ws.Messages()) == 1 }, 10*time.Second, 5*time.Millisecond)
	require.Eventually(t, func() bool { return r.d.Check(t.Context()) == nil }, 10*time.Second, 5*time.Millisecond,
		"a send to the channel succeeded")
}
