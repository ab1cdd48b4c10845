package alerts_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/outagewatch/outagewatch/alerts"
	"github.com/outagewatch/outagewatch/incidents"
	"github.com/outagewatch/outagewatch/store/sqlite"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func openStore(t *testing.T) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "outagewatch.db"), nil)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	return s
}

func testConfig() alerts.Config {
	cfg := alerts.DefaultConfig()
	cfg.BotToken, cfg.Channel = "xoxb-test", "C1"
	cfg.PollInterval, cfg.SendTimeout, cfg.Lease = 5*time.Millisecond, time.Second, 2*time.Second
	cfg.BackoffMin, cfg.BackoffMax = 5*time.Millisecond, 20*time.Millisecond
	return cfg
}

// recorder is a fake Notifier: it records every notification and answers with answer.
type recorder struct {
	mu     sync.Mutex
	calls  []alerts.Notification
	at     []time.Time
	answer func(n alerts.Notification, call int) (alerts.Receipt, error)
}

func (r *recorder) Notify(_ context.Context, n alerts.Notification) (alerts.Receipt, error) {
	r.mu.Lock()
	r.calls = append(r.calls, n)
	r.at = append(r.at, time.Now())
	call := len(r.calls)
	r.mu.Unlock()
	if r.answer == nil {
		return alerts.Receipt{}, nil
	}
	return r.answer(n, call)
}

func (r *recorder) Calls() []alerts.Notification {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]alerts.Notification(nil), r.calls...)
}

func (r *recorder) kinds() []string {
	var out []string
	for _, n := range r.Calls() {
		out = append(out, n.Row.Kind)
	}
	return out
}

type harness struct {
	d   *alerts.Dispatcher
	st  *sqlite.Store
	reg *prometheus.Registry
	n   *recorder
}

// run starts a dispatcher of cfg over a new store until the test ends.
func run(t *testing.T, cfg alerts.Config, n *recorder, silences alerts.SilenceChecker) *harness {
	t.Helper()
	h := &harness{st: openStore(t), reg: prometheus.NewRegistry(), n: n}
	d, err := alerts.New(cfg, alerts.Deps{
		Outbox: h.st, Settler: h.st, Reader: h.st, Notifier: n, Silences: silences, Registerer: h.reg,
	})
	require.NoError(t, err)
	h.d = d
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})
	return h
}

func (h *harness) apply(t *testing.T, c incidents.Change) incidents.Incident {
	t.Helper()
	inc, err := h.st.Apply(t.Context(), c)
	require.NoError(t, err)
	return inc
}

func (h *harness) drained(t *testing.T) func() bool {
	return func() bool {
		n, _, err := h.st.Backlog(t.Context(), time.Now().Add(time.Hour))
		require.NoError(t, err)
		return n == 0
	}
}

func (h *harness) counter(t *testing.T, name string, labels ...string) float64 {
	t.Helper()
	families, err := h.reg.Gather()
	require.NoError(t, err)
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			match := true
			for i, l := range m.GetLabel() {
				if i < len(labels) && l.GetValue() != labels[i] {
					match = false
				}
			}
			if match {
				return m.GetCounter().GetValue() + m.GetGauge().GetValue()
			}
		}
	}
	t.Fatalf("no metric %s%v", name, labels)
	return 0
}

func event(kind incidents.EventKind, sev incidents.Severity, notify ...string) incidents.EventSpec {
	return incidents.EventSpec{Event: incidents.Event{Kind: kind, Provider: "openai", Model: "gpt-5", From: "healthy", To: "down",
		Severity: sev, Actor: incidents.Actor}, Notify: notify}
}

func opening(sev incidents.Severity) incidents.Change {
	return incidents.Change{Provider: "openai", At: time.Now(), Models: []string{"gpt-5"}, Severity: sev,
		Events: []incidents.EventSpec{event(incidents.EventOpened, sev, incidents.NotifyOpen)}}
}

func change(id int64, kind incidents.EventKind, sev incidents.Severity, notify ...string) incidents.Change {
	ev := event(kind, sev, notify...)
	ev.To = string(kind) // distinct events are not duplicates
	return incidents.Change{IncidentID: id, At: time.Now(), Severity: sev, Events: []incidents.EventSpec{ev}}
}

func TestDisabled(t *testing.T) {
	t.Parallel()
	d, err := alerts.New(alerts.DefaultConfig(), alerts.Deps{})
	require.NoError(t, err, "nothing is needed when alerts are disabled")
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() { done <- d.Run(ctx) }()
	require.NoError(t, d.Check(t.Context()))
	cancel()
	require.NoError(t, <-done)
}

func TestNewChecks(t *testing.T) {
	t.Parallel()
	_, err := alerts.New(testConfig(), alerts.Deps{})
	require.ErrorContains(t, err, "must be set when alerts are enabled")
	bad := testConfig()
	bad.BatchSize = 0
	_, err = alerts.New(bad, alerts.Deps{})
	require.ErrorContains(t, err, "alerts.batch_size")
}

// TestDelivers sends an incident's rows in order and records the thread the notifier posted.
func TestDelivers(t *testing.T) {
	t.Parallel()
	n := &recorder{answer: func(n alerts.Notification, _ int) (alerts.Receipt, error) {
		if n.Row.Kind == incidents.NotifyOpen {
			return alerts.Receipt{Channel: "C1", TS: "1.0001"}, nil
		}
		return alerts.Receipt{}, nil
	}}
	h := run(t, testConfig(), n, nil)
	inc := h.apply(t, opening(incidents.SeverityCritical))
	h.apply(t, change(inc.ID, incidents.EventTransition, "", incidents.NotifyEvent, incidents.NotifyUpdate))
	require.Eventually(t, h.drained(t), 5*time.Second, time.Millisecond)
	require.Equal(t, []string{incidents.NotifyOpen, incidents.NotifyEvent, incidents.NotifyUpdate}, n.kinds())
	calls := n.Calls()
	require.Equal(t, "C1", calls[0].Channel)
	require.Equal(t, incidents.EventOpened, calls[0].Event.Kind)
	require.Len(t, calls[1].Timeline, 2)
	require.Equal(t, "1.0001", calls[1].Incident.SlackTS, "the thread was recorded")
	require.False(t, calls[1].Redelivery)
	require.Equal(t, 1.0, h.counter(t, "outagewatch_alerts_sent_total", incidents.NotifyEvent))
}

// TestRetries backs off on retryable errors, then delivers; the retry is a redelivery.
func TestRetries(t *testing.T) {
	t.Parallel()
	n := &recorder{answer: func(_ alerts.Notification, call int) (alerts.Receipt, error) {
		if call < 3 {
			return alerts.Receipt{}, errors.New("connection reset")
		}
		return alerts.Receipt{}, nil
	}}
	h := run(t, testConfig(), n, nil)
	h.apply(t, opening(incidents.SeverityCritical))
	require.Eventually(t, h.drained(t), 5*time.Second, time.Millisecond)
	calls := n.Calls()
	require.Len(t, calls, 3)
	require.Equal(t, 2, calls[2].Row.Attempts)
	require.True(t, calls[1].Redelivery)
	require.Equal(t, 2.0, h.counter(t, "outagewatch_alerts_errors_total", "other"))
	require.NoError(t, h.d.Check(t.Context()), "retryable errors are not a readiness problem")
}

// TestRateLimit waits for Retry-After, and holds back the other incidents' sends meanwhile.
func TestRateLimit(t *testing.T) {
	t.Parallel()
	const after = 300 * time.Millisecond
	n := &recorder{answer: func(_ alerts.Notification, call int) (alerts.Receipt, error) {
		if call == 1 {
			return alerts.Receipt{}, alerts.RateLimited(errors.New("slack: 429"), after)
		}
		return alerts.Receipt{}, nil
	}}
	cfg := testConfig()
	h := run(t, cfg, n, nil)
	h.apply(t, opening(incidents.SeverityCritical))
	other := opening(incidents.SeverityCritical)
	other.Provider = "anthropic"
	h.apply(t, other)
	require.Eventually(t, h.drained(t), 5*time.Second, time.Millisecond)
	n.mu.Lock()
	defer n.mu.Unlock()
	require.Len(t, n.at, 3)
	for _, at := range n.at[1:] {
		require.GreaterOrEqual(t, at.Sub(n.at[0]), after, "nothing is sent before Retry-After")
	}
	require.Equal(t, 1.0, h.counter(t, "outagewatch_alerts_errors_total", "rate_limited"))
}

// TestPermanent fails the row, reports it until the channel works again, and goes on.
func TestPermanent(t *testing.T) {
	t.Parallel()
	n := &recorder{answer: func(_ alerts.Notification, call int) (alerts.Receipt, error) {
		if call == 1 {
			return alerts.Receipt{}, alerts.Permanent(errors.New(`slack: channel_not_found: channel "C1"`))
		}
		return alerts.Receipt{}, nil
	}}
	block := make(chan struct{})
	inner := n.answer
	n.answer = func(no alerts.Notification, call int) (alerts.Receipt, error) {
		if call == 2 {
			<-block
		}
		return inner(no, call)
	}
	h := run(t, testConfig(), n, nil)
	inc := h.apply(t, opening(incidents.SeverityCritical))
	h.apply(t, change(inc.ID, incidents.EventTransition, "", incidents.NotifyEvent))
	require.Eventually(t, func() bool { return h.d.Check(t.Context()) != nil }, 5*time.Second, time.Millisecond)
	require.ErrorContains(t, h.d.Check(t.Context()), "channel_not_found")
	require.Equal(t, 1.0, h.counter(t, "outagewatch_alerts_permanent_errors"))
	close(block)
	require.Eventually(t, h.drained(t), 5*time.Second, time.Millisecond)
	require.Equal(t, []string{incidents.NotifyOpen, incidents.NotifyEvent}, n.kinds(), "failed once, not retried; the next row went")
	require.NoError(t, h.d.Check(t.Context()), "the channel works again")
	require.Equal(t, 1.0, h.counter(t, "outagewatch_alerts_errors_total", "permanent"))
}

// TestUnauthorized stops all sending after the first refusal. It runs in a synctest bubble, so
// the twenty poll intervals it waits are twenty polls of the dispatcher on the bubble's clock:
// time advances only once every goroutine of the bubble is blocked, so each poll has run.
func TestUnauthorized(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		n := &recorder{answer: func(alerts.Notification, int) (alerts.Receipt, error) {
			return alerts.Receipt{}, alerts.Unauthorized(errors.New("slack: invalid_auth: set OUTAGEWATCH_SLACK_BOT_TOKEN"))
		}}
		h := run(t, testConfig(), n, nil)
		h.apply(t, opening(incidents.SeverityCritical))
		other := opening(incidents.SeverityCritical)
		other.Provider = "anthropic"
		h.apply(t, other)
		require.Eventually(t, func() bool { return h.d.Check(t.Context()) != nil }, 5*time.Second, time.Millisecond)
		time.Sleep(20 * testConfig().PollInterval) // twenty polls: nothing more may be sent
		synctest.Wait()
		require.Len(t, n.Calls(), 1)
		require.ErrorContains(t, h.d.Check(t.Context()), "alerts halted until restart: slack: invalid_auth")
	})
}

// TestMinSeverity skips an incident until it reaches the minimum severity; from then on all of
// its notifications go, down to a resolution at a lower severity.
func TestMinSeverity(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.MinSeverity = incidents.SeverityCritical
	n := &recorder{}
	h := run(t, cfg, n, nil)
	inc := h.apply(t, opening(incidents.SeverityWarning))
	require.Eventually(t, h.drained(t), 5*time.Second, time.Millisecond)
	require.Empty(t, n.Calls())
	require.Equal(t, 1.0, h.counter(t, "outagewatch_alerts_skipped_total", "severity"))

	h.apply(t, change(inc.ID, incidents.EventEscalated, incidents.SeverityCritical, incidents.NotifyEvent))
	h.apply(t, change(inc.ID, incidents.EventDeescalated, incidents.SeverityWarning, incidents.NotifyEvent))
	require.Eventually(t, h.drained(t), 5*time.Second, time.Millisecond)
	require.Equal(t, []string{incidents.NotifyEvent, incidents.NotifyEvent}, n.kinds())
}

// TestSilence mutes new notifications, but a thread posted before the silence still gets its
// updates and resolution.
func TestSilence(t *testing.T) {
	t.Parallel()
	silenced := alerts.SilenceCheckerFunc(func(_ context.Context, provider string, models []string, _ time.Time) (bool, error) {
		return provider == "openai" && len(models) == 1, nil
	})
	n := &recorder{}
	h := run(t, testConfig(), n, silenced)
	inc := h.apply(t, opening(incidents.SeverityCritical))
	require.Eventually(t, h.drained(t), 5*time.Second, time.Millisecond)
	require.Empty(t, n.Calls())
	require.Equal(t, 1.0, h.counter(t, "outagewatch_alerts_silenced_total"))

	require.NoError(t, h.st.SetThread(t.Context(), inc.ID, "C1", "1.0001"))
	h.apply(t, change(inc.ID, incidents.EventTransition, "", incidents.NotifyEvent, incidents.NotifyUpdate))
	h.apply(t, change(inc.ID, incidents.EventResolved, "", incidents.NotifyResolve))
	require.Eventually(t, h.drained(t), 5*time.Second, time.Millisecond)
	require.Equal(t, []string{incidents.NotifyUpdate, incidents.NotifyResolve}, n.kinds())
	require.Equal(t, 2.0, h.counter(t, "outagewatch_alerts_silenced_total"))
}

// TestBacklogMetrics reports the outbox's backlog.
func TestBacklogMetrics(t *testing.T) {
	t.Parallel()
	n := &recorder{answer: func(alerts.Notification, int) (alerts.Receipt, error) {
		return alerts.Receipt{}, errors.New("slack down")
	}}
	st := openStore(t)
	c := opening(incidents.SeverityCritical)
	c.At = time.Now().Add(-time.Minute)
	_, err := st.Apply(t.Context(), c)
	require.NoError(t, err)
	reg := prometheus.NewRegistry()
	d, err := alerts.New(testConfig(), alerts.Deps{Outbox: st, Settler: st, Reader: st, Notifier: n, Registerer: reg})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() { done <- d.Run(ctx) }()
	require.Eventually(t, func() bool { return len(n.Calls()) > 0 }, 5*time.Second, time.Millisecond)
	cancel()
	require.NoError(t, <-done)
	h := &harness{reg: reg}
	require.Equal(t, 1.0, h.counter(t, "outagewatch_outbox_backlog"))
	require.GreaterOrEqual(t, h.counter(t, "outagewatch_outbox_oldest_age_seconds"), 59.0)
	require.Zero(t, h.counter(t, "outagewatch_alerts_errors_total", "permanent"), "pre-created")
}

// TestSlackMatch skips the incidents that alerts.match does not select, counted as unmatched.
func TestSlackMatch(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.Match = alerts.Match{Providers: []string{"anthropic"}}
	n := &recorder{}
	h := run(t, cfg, n, nil)
	h.apply(t, opening(incidents.SeverityCritical))
	other := opening(incidents.SeverityCritical)
	other.Provider = "anthropic"
	h.apply(t, other)
	require.Eventually(t, h.drained(t), 5*time.Second, time.Millisecond)
	require.Len(t, n.Calls(), 1)
	require.Equal(t, "anthropic", n.Calls()[0].Incident.Provider)
	require.Equal(t, 1.0, h.counter(t, "outagewatch_alerts_skipped_total", "unmatched", "slack"))
}
