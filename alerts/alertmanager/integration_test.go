package alertmanager_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/outagewatch/outagewatch/alerts/alertmanager"
	"github.com/outagewatch/outagewatch/incidents"
	"github.com/outagewatch/outagewatch/internal/amtest"
)

// These tests run the real Alertmanager (internal/amtest) and count what its webhook receiver
// gets. Notifications of one aggregation group are flushed one after the other, so once the
// resolved notification has arrived, every earlier one of its group has too: counting then is
// exact, without waiting for silence.

func newNotifier(t *testing.T, url string) *alertmanager.Notifier {
	t.Helper()
	n, err := alertmanager.New(alertmanager.Options{
		URL: url, Links: links, RunbookURL: opts.RunbookURL, ResendInterval: time.Minute, Client: amtest.Client(t),
	})
	require.NoError(t, err)
	return n
}

func notify(t *testing.T, n *alertmanager.Notifier, s *story, kind string) {
	t.Helper()
	r, err := n.Notify(t.Context(), s.notification(kind))
	require.NoError(t, err)
	require.Empty(t, r.Skipped)
}

// requireAlert checks the one alert of a notification against the incident.
func requireAlert(t *testing.T, n amtest.Notification, status string, s *story) amtest.Alert {
	t.Helper()
	require.Equal(t, status, n.Status)
	require.Len(t, n.Alerts, 1)
	a := n.Alerts[0]
	require.Equal(t, status, a.Status)
	want := alertmanager.Alerts(s.inc, s.timeline, 0, opts, time.Now())[0]
	require.Equal(t, want.Labels, a.Labels)
	require.Equal(t, want.Annotations, a.Annotations)
	require.Equal(t, want.GeneratorURL, a.GeneratorURL)
	require.True(t, want.StartsAt.Equal(a.StartsAt), "startsAt %s, want %s", a.StartsAt, want.StartsAt)
	return a
}

func TestOutageNotifiesOnceFiringOnceResolved(t *testing.T) {
	t.Parallel()
	rec := amtest.NewReceiver(t)
	am := amtest.Start(t, amtest.Options{Receiver: rec.URL})
	n := newNotifier(t, am.URL)
	s := newOutage(101, time.Now().Add(-time.Minute), incidents.SeverityCritical)

	start := time.Now()
	notify(t, n, s, incidents.NotifyOpen)
	r, err := n.Notify(t.Context(), s.notification(incidents.NotifyUpdate))
	require.NoError(t, err)
	require.Equal(t, "unsupported", r.Skipped, "an update row posts nothing")
	firing := requireAlert(t, rec.Next(t, "the firing notification"), "firing", s)
	t.Logf("open row to firing notification: %s", time.Since(start).Round(time.Millisecond))
	require.Equal(t, "LLMProviderDown", firing.Labels["alertname"])

	s.resolve(time.Now())
	start = time.Now()
	notify(t, n, s, incidents.NotifyResolve)
	resolved := requireAlert(t, rec.Next(t, "the resolved notification"), "resolved", s)
	t.Logf("resolve row to resolved notification: %s (group_interval %s)", time.Since(start).Round(time.Millisecond), amtest.GroupInterval)
	require.True(t, s.inc.ResolvedAt.Equal(resolved.EndsAt), "endsAt %s, want the resolution %s", resolved.EndsAt, s.inc.ResolvedAt)
	rec.None(t, 0, "one firing and one resolved notification only")
}

func TestAlertmanagerRestartMidIncident(t *testing.T) {
	t.Parallel()
	rec := amtest.NewReceiver(t)
	am := amtest.Start(t, amtest.Options{Receiver: rec.URL})
	n := newNotifier(t, am.URL)
	s := newOutage(102, time.Now().Add(-time.Minute), incidents.SeverityCritical)
	notify(t, n, s, incidents.NotifyOpen)
	requireAlert(t, rec.Next(t, "the firing notification"), "firing", s)
	amtest.Logged(t, "alertmanager logged the firing notification", am)

	// A clean stop snapshots the notification log to --storage.path; the alerts themselves
	// are gone with the process, until the resender posts them again.
	start := time.Now()
	require.True(t, am.Stop(), "alertmanager exits cleanly on SIGTERM")
	t.Logf("alertmanager stopped in %s", time.Since(start).Round(time.Millisecond))
	start = time.Now()
	am.Start()
	t.Logf("alertmanager ready again in %s", time.Since(start).Round(time.Millisecond))
	require.Empty(t, am.ActiveAlerts(), "alertmanager keeps no alerts across a restart")

	resender, err := alertmanager.NewResender(alertmanager.ResenderOptions{
		Notifiers: []*alertmanager.Notifier{n},
		Incidents: &fakeIncidents{stories: map[int64]*story{s.inc.ID: s}},
	})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- resender.Run(ctx) }()
	amtest.WaitFor(t, "the resender re-posted the alert", func() bool { return len(am.ActiveAlerts()) == 1 })
	// The group's first flush after group_wait consults the notification log (its dedup
	// stage): the alert was notified already, so nothing goes out.
	amtest.WaitFor(t, "alertmanager flushed the group and consulted its notification log", func() bool {
		return am.Metric("alertmanager_nflog_queries_total", "") >= 1
	})
	cancel()
	require.NoError(t, <-done)

	s.resolve(time.Now())
	notify(t, n, s, incidents.NotifyResolve)
	requireAlert(t, rec.Next(t, "the resolved notification"), "resolved", s)
	rec.None(t, 0, "the restart sent no second firing notification")
}

// TestHAPairNotifiesOnce posts to both members of a cluster, as the daemon does (one notifier
// and one queue per URL). Alertmanager's HA deduplication: the member placed n-th (by name)
// waits n×peer_timeout after a flush, then finds the notification the first member logged and
// gossiped, and sends nothing. Both members take their snapshots of the group at the same ticks
// (they got the alerts at the same time); a member that got the resolution a tick later than
// the other could still send a stale firing notification after the resolved one, which is why
// the posts here go to both members at once, and why docs/alertmanager.md says to keep
// peer_timeout well below group_interval.
func TestHAPairNotifiesOnce(t *testing.T) {
	t.Parallel()
	rec := amtest.NewReceiver(t)
	am0 := amtest.Start(t, amtest.Options{Receiver: rec.URL, Cluster: true})
	am1 := amtest.Start(t, amtest.Options{Receiver: rec.URL, Cluster: true, Peers: []string{am0.Cluster}})
	amtest.WaitFor(t, "the two alertmanagers settle in one cluster", func() bool { return am0.Settled(2) && am1.Settled(2) })
	ns := []*alertmanager.Notifier{newNotifier(t, am0.URL), newNotifier(t, am1.URL)}
	both := func(s *story, kind string) {
		var wg sync.WaitGroup
		for _, n := range ns {
			wg.Go(func() {
				_, err := n.Notify(t.Context(), s.notification(kind))
				require.NoError(t, err)
			})
		}
		wg.Wait()
	}
	sent := func() float64 {
		return am0.Metric("alertmanager_notifications_total", `integration="webhook"`) +
			am1.Metric("alertmanager_notifications_total", `integration="webhook"`)
	}
	s := newOutage(103, time.Now().Add(-time.Minute), incidents.SeverityCritical)
	start := time.Now()
	both(s, incidents.NotifyOpen)
	requireAlert(t, rec.Next(t, "the firing notification"), "firing", s)
	t.Logf("HA pair: open rows to the one firing notification: %s", time.Since(start).Round(time.Millisecond))
	// The second member's flush of that tick, and its dedup peer_timeout later, are over
	// once it has flushed again.
	amtest.Logged(t, "both members flushed the firing alert", am0, am1)
	require.Equal(t, 1.0, sent(), "one firing notification for the pair")
	rec.None(t, 0, "one firing notification for the pair")

	s.resolve(time.Now())
	both(s, incidents.NotifyResolve)
	requireAlert(t, rec.Next(t, "the resolved notification"), "resolved", s)
	// A group of resolved alerts is not flushed again (and dropped only by a 30 s cleanup), so
	// nothing marks the end of the second member's dedup: give it three peer timeouts.
	time.Sleep(3 * amtest.PeerTimeout)
	require.Equal(t, 2.0, sent(), "one resolved notification for the pair")
	rec.None(t, 0, "the pair notified once of each")
}

// TestEscalationResolvesThePreviousAlert runs an incident through every change of its alert:
// opened as a warning, escalated (a new label set: the warning resolved, the critical alert
// firing), a model joining and a de-escalation (the same label set: no notification), and the
// resolution (the critical alert resolved).
func TestEscalationResolvesThePreviousAlert(t *testing.T) {
	t.Parallel()
	rec := amtest.NewReceiver(t)
	am := amtest.Start(t, amtest.Options{Receiver: rec.URL})
	n := newNotifier(t, am.URL)
	s := newOutage(104, time.Now().Add(-time.Minute), incidents.SeverityWarning)
	notify(t, n, s, incidents.NotifyOpen)
	requireAlert(t, rec.Next(t, "the warning's notification"), "firing", s)

	s.escalate(time.Now(), "claude-sonnet-4-5")
	notify(t, n, s, incidents.NotifyEvent)
	active := am.ActiveAlerts()
	require.Len(t, active, 1, "one alert per incident: the warning was resolved by the same POST")
	require.Equal(t, "LLMProviderDown", active[0].Labels["alertname"])
	require.Equal(t, "critical", active[0].Labels["severity"])
	// Grouped by alertname, the escalation is two notifications: the critical alert firing,
	// the warning resolved.
	got := map[string]string{}
	for range 2 {
		nt := rec.Next(t, "the escalation's notifications")
		require.Len(t, nt.Alerts, 1)
		got[nt.Alerts[0].Labels["alertname"]] = nt.Status
	}
	require.Equal(t, map[string]string{"LLMProviderDown": "firing", "LLMProviderDegraded": "resolved"}, got)
	critical := active[0].Labels

	s.fail(time.Now().Add(time.Millisecond), "claude-opus-4-1") // a model joins
	notify(t, n, s, incidents.NotifyEvent)
	active = am.ActiveAlerts()
	require.Len(t, active, 1)
	require.Equal(t, critical, active[0].Labels, "a joined model keeps the alert's label set")
	require.Equal(t, "claude-opus-4-1, claude-sonnet-4-5", active[0].Annotations["models"])
	s.deescalate(time.Now().Add(2*time.Millisecond), "claude-opus-4-1")
	notify(t, n, s, incidents.NotifyEvent)
	active = am.ActiveAlerts()
	require.Len(t, active, 1)
	require.Equal(t, critical, active[0].Labels, "a de-escalation keeps the alert's label set")
	amtest.Logged(t, "alertmanager flushed the group twice since", am)
	rec.None(t, 0, "a joined model and a de-escalation are no new notification")

	s.resolve(time.Now()) // not ahead: Alertmanager keeps the later endsAt of an alert not yet resolved
	notify(t, n, s, incidents.NotifyResolve)
	requireAlert(t, rec.Next(t, "the resolved notification"), "resolved", s)
	rec.None(t, 0, "the resolution is one notification")
	require.Empty(t, am.ActiveAlerts())
}
