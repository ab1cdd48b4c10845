package alertmanager_test

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/outagewatch/outagewatch/alerts"
	"github.com/outagewatch/outagewatch/alerts/alertmanager"
	"github.com/outagewatch/outagewatch/incidents"
	"github.com/outagewatch/outagewatch/internal/amtest"
)

const token = "s3cr3t-token"

func TestNotifyPostsTheAlerts(t *testing.T) {
	t.Parallel()
	type request struct {
		path, auth, contentType string
		alerts                  []alertmanager.Alert
	}
	got := make(chan request, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var as []alertmanager.Alert
		require.NoError(t, json.NewDecoder(r.Body).Decode(&as))
		got <- request{r.URL.Path, r.Header.Get("Authorization"), r.Header.Get("Content-Type"), as}
	}))
	t.Cleanup(srv.Close)
	now := t0.Add(time.Minute)
	n, err := alertmanager.New(alertmanager.Options{
		URL: srv.URL + "/prefix/", BearerToken: token, Links: links, Client: amtest.Client(t),
		Now: func() time.Time { return now },
	})
	require.NoError(t, err)
	s := newOutage(9, t0, incidents.SeverityCritical)
	r, err := n.Notify(t.Context(), s.notification(incidents.NotifyOpen))
	require.NoError(t, err)
	require.Equal(t, alerts.Receipt{}, r)
	req := <-got
	require.Equal(t, "/prefix/api/v2/alerts", req.path, "the base URL's path prefix is kept")
	require.Equal(t, "Bearer "+token, req.auth)
	require.Equal(t, "application/json", req.contentType)
	require.Equal(t, alertmanager.Alerts(s.inc, s.timeline, s.timeline[0].ID, alertmanager.Options{Links: links}, now), req.alerts)
	require.Equal(t, now.Add(4*alerts.DefaultResendInterval), req.alerts[0].EndsAt)
}

func TestNotifySkipsUpdates(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		t.Error("an update row was posted")
	}))
	t.Cleanup(srv.Close)
	n, err := alertmanager.New(alertmanager.Options{URL: srv.URL, Client: amtest.Client(t)})
	require.NoError(t, err)
	r, err := n.Notify(t.Context(), newOutage(1, t0, incidents.SeverityCritical).notification(incidents.NotifyUpdate))
	require.NoError(t, err)
	require.Equal(t, alerts.SkipUnsupported, r.Skipped)
}

func TestNotifyErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		status     int
		header     http.Header
		body       string
		check      func(t *testing.T, err error)
		statusCode int // HTTPStatusCode, 0: none
	}{{
		name: "400: permanent, with the start of the body", status: 400,
		body: "{\"code\":400,\"message\":\"start time must be before end time\"}\n" + strings.Repeat("x", 10000),
		check: func(t *testing.T, err error) {
			require.True(t, alerts.IsPermanent(err))
			require.False(t, alerts.IsUnauthorized(err))
			require.Contains(t, err.Error(), "start time must be before end time")
			require.Less(t, len(err.Error()), 700, "the body quoted is bounded")
		},
		statusCode: 400,
	}, {
		name: "404: permanent (a wrong URL)", status: 404,
		check:      func(t *testing.T, err error) { require.True(t, alerts.IsPermanent(err)) },
		statusCode: 404,
	}, {
		name: "401: unauthorized", status: 401,
		check:      func(t *testing.T, err error) { require.True(t, alerts.IsUnauthorized(err)) },
		statusCode: 401,
	}, {
		name: "403: unauthorized", status: 403,
		check:      func(t *testing.T, err error) { require.True(t, alerts.IsUnauthorized(err)) },
		statusCode: 403,
	}, {
		name: "429: rate limited for Retry-After", status: 429, header: http.Header{"Retry-After": {"7"}},
		check: func(t *testing.T, err error) {
			require.False(t, alerts.IsPermanent(err))
			after, ok := alerts.RetryAfter(err)
			require.True(t, ok)
			require.Equal(t, 7*time.Second, after)
		},
		statusCode: 429,
	}, {
		name: "500: retryable", status: 500,
		check:      func(t *testing.T, err error) { require.False(t, alerts.IsPermanent(err)) },
		statusCode: 500,
	}, {
		name: "503: retryable", status: 503,
		check:      func(t *testing.T, err error) { require.False(t, alerts.IsPermanent(err)) },
		statusCode: 503,
	}, {
		name: "200: delivered", status: 200,
		check: func(t *testing.T, err error) { require.NoError(t, err) },
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				for k, v := range tt.header {
					w.Header()[k] = v
				}
				w.WriteHeader(tt.status)
				fmt.Fprint(w, tt.body)
			}))
			t.Cleanup(srv.Close)
			n, err := alertmanager.New(alertmanager.Options{URL: srv.URL, BearerToken: token, Client: amtest.Client(t)})
			require.NoError(t, err)
			_, err = n.Notify(t.Context(), newOutage(1, t0, incidents.SeverityCritical).notification(incidents.NotifyOpen))
			tt.check(t, err)
			if err != nil {
				require.NotContains(t, err.Error(), token)
			}
			var status interface{ HTTPStatusCode() int }
			if tt.statusCode != 0 {
				require.ErrorAs(t, err, &status)
				require.Equal(t, tt.statusCode, status.HTTPStatusCode())
			}
		})
	}
}

func TestNotifyConnectionRefused(t *testing.T) {
	t.Parallel()
	addr := amtest.FreePort(t, false) // nothing listens there
	n, err := alertmanager.New(alertmanager.Options{URL: "http://user:pw@" + addr, BearerToken: token, Client: amtest.Client(t)})
	require.NoError(t, err)
	_, err = n.Notify(t.Context(), newOutage(1, t0, incidents.SeverityCritical).notification(incidents.NotifyResolve))
	require.Error(t, err)
	require.False(t, alerts.IsPermanent(err), "a network error is retryable")
	var netErr net.Error
	require.ErrorAs(t, err, &netErr, "the dispatcher counts it as a network error")
	require.NotContains(t, err.Error(), token)
	require.NotContains(t, err.Error(), "pw")
}

func TestNew(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{"", "am:9093", "ftp://am:9093", "http://", "http://[::1"} {
		_, err := alertmanager.New(alertmanager.Options{URL: bad})
		require.Error(t, err, bad)
	}
	_, err := alertmanager.New(alertmanager.Options{URL: "http://am:9093", ResendInterval: -time.Second})
	require.Error(t, err)
	o := alertmanager.Options{URL: "http://am:9093", BearerToken: token}
	for _, s := range []string{o.String(), fmt.Sprintf("%v", o), fmt.Sprintf("%+v", o), fmt.Sprintf("%#v", o)} {
		require.NotContains(t, s, token)
	}
}
