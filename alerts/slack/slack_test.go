package slack_test

import (
	"context"
	"errors"
	"fmt"
	"github.com/outagewatch/outagewatch/internal/slackfake"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/outagewatch/outagewatch/alerts"
	"github.com/outagewatch/outagewatch/alerts/slack"
	"github.com/outagewatch/outagewatch/incidents"
	"github.com/outagewatch/outagewatch/internal/pgtest"
	"github.com/outagewatch/outagewatch/store/sqlite"
)

func TestMain(m *testing.M) {
	code := m.Run()
	pgtest.StopAll()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintf(os.Stderr, "goleak: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

// store is what the tests need of a store: both implement it.
type store interface {
	alerts.Outbox
	alerts.Settler
	alerts.Reader
	alerts.SilenceStore
	Apply(ctx context.Context, c incidents.Change) (incidents.Incident, error)
}

const channel = "C0INCIDENTS"

func openSQLite(t *testing.T) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "outagewatch.db"), nil)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	return s
}

// botConfig is a bot-mode config against ws with short intervals.
func botConfig(ws *slackfake.Workspace) alerts.Config {
	cfg := alerts.DefaultConfig()
	cfg.BotToken, cfg.Channel, cfg.SlackAPIURL = "xoxb-test", channel, ws.APIURL()
	cfg.PollInterval, cfg.SendTimeout, cfg.Lease = 10*time.Millisecond, 2*time.Second, 4*time.Second
	cfg.BackoffMin, cfg.BackoffMax = 5*time.Millisecond, 50*time.Millisecond
	cfg.Links = alerts.Links{GrafanaURL: "http://grafana.test", APIURL: "http://outagewatch.test"}
	return cfg
}

// running is a dispatcher running until the test ends or stop is called.
type running struct {
	d    *alerts.Dispatcher
	reg  *prometheus.Registry
	stop context.CancelFunc
	done chan struct{}
}

// start runs a dispatcher over st (whose parts deps may replace) with its own notifier.
func start(t *testing.T, cfg alerts.Config, st store, wrap func(*alerts.Deps)) *running {
	t.Helper()
	n, err := slack.New(cfg, nil)
	require.NoError(t, err)
	reg := prometheus.NewRegistry()
	deps := alerts.Deps{Outbox: st, Settler: st, Reader: st, Notifier: n, Silences: alerts.CheckSilences(st), Registerer: reg}
	if wrap != nil {
		wrap(&deps)
	}
	d, err := alerts.New(cfg, deps)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{d: d, reg: reg, stop: cancel, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		require.NoError(t, d.Run(ctx))
	}()
	t.Cleanup(r.wait)
	return r
}

// wait stops the dispatcher and waits for Run to return.
func (r *running) wait() {
	r.stop()
	<-r.done
}

// metric returns the value of a counter or gauge of r, with label value lv if not "".
func (r *running) metric(t *testing.T, name, lv string) float64 {
	t.Helper()
	families, err := r.reg.Gather()
	require.NoError(t, err)
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			if lv == "" || labelIs(m, lv) {
				return m.GetCounter().GetValue() + m.GetGauge().GetValue()
			}
		}
	}
	t.Fatalf("no metric %s{%s}", name, lv)
	return 0
}

func labelIs(m *dto.Metric, v string) bool {
	for _, l := range m.GetLabel() {
		if l.GetValue() == v {
			return true
		}
	}
	return false
}

func evidence() incidents.Evidence {
	return incidents.Evidence{
		Detector: "error_rate_down", Observed: 0.4, Baseline: 0.01, Window: 120, SampleSize: 500, Events: 200,
		CallRate: 3, Classes: map[string]int{"overloaded": 190, "timeout": 10}, SampleError: "529 overloaded_error",
	}
}

// The changes below are those the incident manager writes.

func opening(provider string, at time.Time) incidents.Change {
	return incidents.Change{
		Provider: provider, At: at, Models: []string{"m1"}, Detectors: []string{"error_rate_down"},
		Severity: incidents.SeverityCritical, Peak: incidents.Peak{ErrorRate: 0.4},
		Events: []incidents.EventSpec{{Event: incidents.Event{
			At: at, Kind: incidents.EventOpened, Provider: provider, Model: "m1", From: "healthy", To: "down",
			Severity: incidents.SeverityCritical, Evidence: evidence(), Actor: incidents.Actor,
		}, Notify: []string{incidents.NotifyOpen}}},
	}
}

func transition(id int64, provider string, at time.Time) incidents.Change {
	return incidents.Change{
		IncidentID: id, Provider: provider, At: at, Models: []string{"m2"},
		Events: []incidents.EventSpec{{Event: incidents.Event{
			At: at, Kind: incidents.EventTransition, Provider: provider, Model: "m2", From: "healthy", To: "degraded",
			Severity: incidents.SeverityCritical, Evidence: evidence(), Actor: incidents.Actor,
		}, Notify: []string{incidents.NotifyEvent, incidents.NotifyUpdate}}},
	}
}

func resolution(id int64, provider string, at time.Time) incidents.Change {
	return incidents.Change{
		IncidentID: id, Provider: provider, At: at, State: incidents.StateResolved, Actor: incidents.Actor,
		Events: []incidents.EventSpec{{Event: incidents.Event{
			At: at, Kind: incidents.EventResolved, Provider: provider, Severity: incidents.SeverityCritical, Actor: incidents.Actor,
		}, Notify: []string{incidents.NotifyResolve}}},
	}
}

func apply(t *testing.T, st store, c incidents.Change) incidents.Incident {
	t.Helper()
	inc, err := st.Apply(t.Context(), c)
	require.NoError(t, err)
	return inc
}

// whole applies an incident's whole life: open, a transition, the resolution.
func whole(t *testing.T, st store, provider string) incidents.Incident {
	t.Helper()
	now := time.Now() // outbox rows are due at their change's time
	inc := apply(t, st, opening(provider, now.Add(-2*time.Second)))
	apply(t, st, transition(inc.ID, provider, now.Add(-time.Second)))
	return apply(t, st, resolution(inc.ID, provider, now))
}

func drained(t *testing.T, st store) func() bool {
	return func() bool {
		n, _, err := st.Backlog(t.Context(), time.Now().Add(time.Hour))
		require.NoError(t, err)
		return n == 0
	}
}

// pollCounter counts the dispatcher's polls through its Outbox, halted or not: every poll first
// refreshes the backlog gauges, at most every 5 s once a refresh succeeds, but again at the next
// poll after one fails; this Backlog always fails, so the dispatcher asks at every poll. The
// tests that use it read the backlog from the store itself, never from the gauges.
type pollCounter struct {
	alerts.Outbox
	polls atomic.Int64
}

func (p *pollCounter) Backlog(context.Context, time.Time) (int, time.Time, error) {
	p.polls.Add(1)
	return 0, time.Time{}, errors.New("backlog not read: the test counts polls")
}

// countPolls makes deps' Outbox count the dispatcher's polls; pass it to start.
func (p *pollCounter) countPolls(deps *alerts.Deps) {
	p.Outbox = deps.Outbox
	deps.Outbox = p
}

// waitPolls waits until the dispatcher has polled n more times.
func (p *pollCounter) waitPolls(t *testing.T, n int64) {
	t.Helper()
	target := p.polls.Load() + n
	require.Eventually(t, func() bool { return p.polls.Load() >= target }, 10*time.Second, time.Millisecond,
		"the dispatcher did not poll %d times", n)
}

// payload returns the incident ID, outbox ID and kind of a message's metadata.
func payload(t *testing.T, m slackfake.Stored) (incident, outbox int64, kind string) {
	t.Helper()
	require.Equal(t, slack.MetadataEventType, m.Metadata.EventType)
	p := m.Metadata.EventPayload
	kind, _ = p["kind"].(string)
	return int64(p["incident_id"].(float64)), int64(p["outbox_id"].(float64)), kind
}

// requireThreads checks that every incident of incs got exactly one root, its replies (event,
// then resolve) in its thread, each outbox row posted once, and updates of its root.
func requireThreads(t *testing.T, ws *slackfake.Workspace, st store, incs []incidents.Incident) {
	t.Helper()
	seen := map[int64]bool{}
	roots := map[int64]slackfake.Stored{}
	replies := map[int64][]string{}
	for _, m := range ws.Messages() {
		incident, outbox, kind := payload(t, m)
		require.False(t, seen[outbox], "outbox row %d posted twice", outbox)
		seen[outbox] = true
		if m.ThreadTS == "" {
			require.Equal(t, incidents.NotifyOpen, kind)
			_, dup := roots[incident]
			require.False(t, dup, "incident %d has two roots", incident)
			roots[incident] = m
			continue
		}
		root, ok := roots[incident]
		require.True(t, ok, "a reply of incident %d before its root", incident)
		require.Equal(t, root.TS, m.ThreadTS, "replies go to the incident's thread")
		replies[incident] = append(replies[incident], kind)
	}
	require.Len(t, roots, len(incs))
	for _, inc := range incs {
		stored, _, err := st.Get(t.Context(), inc.ID)
		require.NoError(t, err)
		root := roots[inc.ID]
		require.Equal(t, root.TS, stored.SlackTS, "the thread is recorded")
		require.Equal(t, channel, stored.SlackChannel)
		require.Equal(t, []string{incidents.NotifyEvent, incidents.NotifyResolve}, replies[inc.ID], "in order")
		require.Equal(t, 2, root.Updates, "updated by the transition and the resolution")
		require.Contains(t, root.Text, "recovered", "the root ends resolved")
	}
}

// TestThread follows one incident as it happens: one root, updated in place; the transition and
// the resolution as replies; every call in order.
func TestThread(t *testing.T) {
	t.Parallel()
	ws, st := slackfake.New(t), openSQLite(t)
	r := start(t, botConfig(ws), st, nil)
	inc := apply(t, st, opening("anthropic", time.Now()))
	require.Eventually(t, func() bool { return len(ws.Calls("chat.postMessage")) == 1 }, 10*time.Second, 5*time.Millisecond)
	apply(t, st, transition(inc.ID, "anthropic", time.Now()))
	require.Eventually(t, func() bool { return len(ws.Calls("chat.update")) == 1 }, 10*time.Second, 5*time.Millisecond)
	apply(t, st, resolution(inc.ID, "anthropic", time.Now()))
	require.Eventually(t, drained(t, st), 10*time.Second, 5*time.Millisecond)

	calls := ws.Calls("")
	require.Len(t, calls, 5, "no look-ups: nothing was redelivered")
	root := ws.Messages()[0]
	for i, want := range []struct{ method, thread, ts, kind string }{
		{"chat.postMessage", "", "", incidents.NotifyOpen},
		{"chat.postMessage", root.TS, "", incidents.NotifyEvent},
		{"chat.update", "", root.TS, ""},
		{"chat.postMessage", root.TS, "", incidents.NotifyResolve},
		{"chat.update", "", root.TS, ""},
	} {
		c := calls[i]
		require.Equal(t, want.method, c.Method, i)
		require.Equal(t, channel, c.Channel, i)
		require.Equal(t, want.thread, c.ThreadTS, i)
		require.Equal(t, want.ts, c.TS, i)
		if want.kind != "" {
			require.Equal(t, want.kind, c.Metadata.EventPayload["kind"], i)
			require.InDelta(t, inc.ID, c.Metadata.EventPayload["incident_id"], 0, i)
		}
	}
	requireThreads(t, ws, st, []incidents.Incident{inc})
	require.Contains(t, calls[0].Text, "anthropic is down")
	for _, kind := range []string{incidents.NotifyOpen, incidents.NotifyEvent, incidents.NotifyUpdate, incidents.NotifyResolve} {
		require.Equal(t, 1.0, r.metric(t, "outagewatch_alerts_sent_total", kind), kind)
	}
	require.NoError(t, r.d.Check(t.Context()))
}

// TestFaults has Slack fail for a while (500s, a 500 after posting, a 429 with Retry-After, a
// 503 on update) and then recover: every message is delivered once, in order.
func TestFaults(t *testing.T) {
	t.Parallel()
	ws, st := slackfake.New(t), openSQLite(t)
	ws.Fail("chat.postMessage",
		slackfake.Fault{Status: 500}, slackfake.Fault{Status: 500, Keep: true}, slackfake.Fault{Status: 429, RetryAfter: "1"}, slackfake.Fault{Status: 502})
	ws.Fail("chat.update", slackfake.Fault{Status: 503})
	incs := []incidents.Incident{whole(t, st, "anthropic"), whole(t, st, "openai")}
	r := start(t, botConfig(ws), st, nil)
	require.Eventually(t, drained(t, st), 20*time.Second, 10*time.Millisecond)
	requireThreads(t, ws, st, incs)
	require.Len(t, ws.Messages(), 6)

	posts := ws.Calls("chat.postMessage")
	limited := slices.IndexFunc(posts, func(c slackfake.Call) bool { return c.Status == 429 })
	require.Positive(t, limited)
	require.Less(t, limited+1, len(posts))
	require.GreaterOrEqual(t, posts[limited+1].At.Sub(posts[limited].At), 900*time.Millisecond, "Retry-After is honoured")
	require.NotEmpty(t, ws.Calls("conversations.history"), "the root posted before its 500 was looked for")
	require.Equal(t, 1.0, r.metric(t, "outagewatch_alerts_errors_total", "rate_limited"))
	require.Equal(t, 4.0, r.metric(t, "outagewatch_alerts_errors_total", "server"))
	require.Zero(t, r.metric(t, "outagewatch_alerts_errors_total", "permanent"))
	require.NoError(t, r.d.Check(t.Context()))
}
