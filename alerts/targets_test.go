package alerts_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/outagewatch/outagewatch/alerts"
	"github.com/outagewatch/outagewatch/incidents"
	"github.com/outagewatch/outagewatch/store/sqlite"
)

// endpoint is a target that is down until told otherwise: every attempt while down fails with
// a retryable error; the deliveries it took are recorded by outbox dedup key, in order.
type endpoint struct {
	mu        sync.Mutex
	down      bool
	attempts  int
	delivered []string
}

func (e *endpoint) Notify(_ context.Context, n alerts.Notification) (alerts.Receipt, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.attempts++
	if e.down {
		return alerts.Receipt{}, errors.New("dial tcp 10.0.0.9:443: connect: connection refused")
	}
	e.delivered = append(e.delivered, n.Row.DedupKey)
	return alerts.Receipt{}, nil
}

func (e *endpoint) set(down bool) {
	e.mu.Lock()
	e.down = down
	e.mu.Unlock()
}

func (e *endpoint) got() (attempts int, delivered []string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.attempts, append([]string(nil), e.delivered...)
}

// runTargets runs targets with dests over st until the returned stop.
func runTargets(t *testing.T, st *sqlite.Store, m *alerts.Metrics, cfg alerts.Config, dests ...alerts.Destination) (stop func()) {
	t.Helper()
	ts, err := alerts.NewTargets(alerts.TargetDeps{Store: st, Reader: st, Metrics: m})
	require.NoError(t, err)
	require.NoError(t, ts.Set(cfg, dests))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ts.Run(ctx) }()
	return func() {
		cancel()
		require.NoError(t, <-done)
	}
}

// TestTargetDownForMinutes: a target down for twenty minutes, across a restart of the daemon,
// then back, gets every notification once, in order, while another target, up all along, got
// them as they came.
func TestTargetDownForMinutes(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		st := openStore(t)
		reg := prometheus.NewRegistry()
		m := alerts.NewMetrics(reg)
		cfg := alerts.DefaultConfig() // backoff from 1 s to 5 min
		down, up := &endpoint{down: true}, &endpoint{}
		dests := []alerts.Destination{{Name: "down", Notifier: down}, {Name: "up", Notifier: up}}
		stop := runTargets(t, st, m, cfg, dests...)
		synctest.Wait() // registered

		inc, err := st.Apply(t.Context(), opening(incidents.SeverityCritical))
		require.NoError(t, err)
		var want []string
		for i, kind := range []incidents.EventKind{incidents.EventTransition, incidents.EventAcknowledged, incidents.EventTransition} {
			time.Sleep(time.Minute)
			c := change(inc.ID, kind, incidents.SeverityCritical, incidents.NotifyEvent, incidents.NotifyUpdate)
			c.Events[0].Event.Model = []string{"gpt-5", "gpt-5-mini", "gpt-5-nano"}[i]
			_, err := st.Apply(t.Context(), c)
			require.NoError(t, err)
		}
		time.Sleep(5 * time.Minute)
		stop() // the daemon restarts while the target is still down
		stop = runTargets(t, st, m, cfg, dests...)
		time.Sleep(5 * time.Minute)
		_, err = st.Apply(t.Context(), change(inc.ID, incidents.EventResolved, incidents.SeverityCritical, incidents.NotifyResolve))
		require.NoError(t, err)
		time.Sleep(10 * time.Minute)
		synctest.Wait()

		_, want = up.got()
		require.Len(t, want, 8, "open, three events with their updates, resolve")
		attempts, got := down.got()
		require.Empty(t, got)
		require.Greater(t, attempts, 3, "retried while down")
		require.Equal(t, 8.0, gauge(t, reg, "outagewatch_outbox_backlog", "down"), "all of them wait")
		require.Zero(t, gauge(t, reg, "outagewatch_outbox_backlog", "up"))

		down.set(false)
		time.Sleep(6 * time.Minute) // the longest backoff, then the rest in order
		synctest.Wait()
		_, got = down.got()
		require.Equal(t, want, got, "every notification once, in order")
		require.Equal(t, float64(len(want)), sum(t, reg, "outagewatch_alerts_sent_total", "down"))
		require.Positive(t, sum(t, reg, "outagewatch_alerts_retried_total", "down"))
		stop()
	})
}

// gauge and sum read one target's series of a metric.
func gauge(t *testing.T, reg *prometheus.Registry, name, target string) float64 {
	return sum(t, reg, name, target)
}

func sum(t *testing.T, reg *prometheus.Registry, name, target string) float64 {
	t.Helper()
	families, err := reg.Gather()
	require.NoError(t, err)
	total, found := 0.0, false
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "target" && l.GetValue() == target {
					total += m.GetCounter().GetValue() + m.GetGauge().GetValue()
					found = true
				}
			}
		}
	}
	require.True(t, found, "no %s{target=%q}", name, target)
	return total
}
