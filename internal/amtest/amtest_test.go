package amtest_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/outagewatch/outagewatch/internal/amtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// post sends one alert to the instance's API v2, ending at endsAt.
func post(t *testing.T, in *amtest.Instance, endsAt time.Time) {
	t.Helper()
	body, err := json.Marshal([]map[string]any{{
		"labels":   map[string]string{"alertname": "AmtestProbe", "provider": "p", "incident_id": "1"},
		"startsAt": time.Now().Add(-time.Minute).UTC(),
		"endsAt":   endsAt.UTC(),
	}})
	require.NoError(t, err)
	resp, err := amtest.Client(t).Post(in.URL+"/api/v2/alerts", "application/json", bytes.NewReader(body))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
}

// TestInstanceNotifiesAndRestarts: an alert posted is notified firing once; a restart keeps
// the notification log but not the alert; its resolution is notified once.
func TestInstanceNotifiesAndRestarts(t *testing.T) {
	t.Parallel()
	rec := amtest.NewReceiver(t)
	in := amtest.Start(t, amtest.Options{Receiver: rec.URL})
	post(t, in, time.Now().Add(time.Hour))
	n := rec.Next(t, "the firing notification")
	require.Equal(t, "firing", n.Status)
	require.Len(t, n.Alerts, 1)
	require.Equal(t, "AmtestProbe", n.Alerts[0].Labels["alertname"])
	require.Len(t, in.ActiveAlerts(), 1)
	amtest.Logged(t, "the firing notification logged", in)

	in.Restart()
	require.Empty(t, in.ActiveAlerts(), "alerts do not survive a restart")
	post(t, in, time.Now().Add(time.Hour))
	amtest.WaitFor(t, "the restarted instance consulted its notification log", func() bool {
		return in.Metric("alertmanager_nflog_queries_total", "") >= 1
	})
	rec.None(t, 0, "the notification log survived the restart")

	post(t, in, time.Now())
	require.Equal(t, "resolved", rec.Next(t, "the resolved notification").Status)
	rec.None(t, amtest.GroupInterval/2, "one notification of each")
	require.Equal(t, 1.0, in.Metric("alertmanager_notifications_total", `integration="webhook"`),
		"one notification since the restart")
}

// TestPairSettles: two clustered instances see each other.
func TestPairSettles(t *testing.T) {
	t.Parallel()
	rec := amtest.NewReceiver(t)
	am0 := amtest.Start(t, amtest.Options{Receiver: rec.URL, Cluster: true})
	am1 := amtest.Start(t, amtest.Options{Receiver: rec.URL, Cluster: true, Peers: []string{am0.Cluster}})
	amtest.WaitFor(t, "the pair settles", func() bool { return am0.Settled(2) && am1.Settled(2) })
	require.NotEmpty(t, am1.Log())
}
