package webhook

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/outagewatch/outagewatch/alerts"
	"github.com/outagewatch/outagewatch/incidents"
)

func TestNew(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		o       Options
		wantErr string
	}{
		{"good", Options{URL: "https://hooks.example.com/outagewatch", Secret: testSecret}, ""},
		{"no URL", Options{Secret: testSecret}, "absolute http(s) URL"},
		{"relative URL", Options{URL: "/hooks", Secret: testSecret}, "absolute http(s) URL"},
		{"other scheme", Options{URL: "ftp://hooks.example.com/", Secret: testSecret}, "absolute http(s) URL"},
		{"unparsable URL", Options{URL: "http://[::1", Secret: testSecret}, "absolute http(s) URL"},
		{"no secret", Options{URL: "https://hooks.example.com/"}, "must start with whsec_"},
		{"short secret", Options{URL: "https://hooks.example.com/", Secret: "whsec_c2hvcnQ="}, "the key is 5 bytes"},
		{"token with a newline inside", Options{URL: "https://hooks.example.com/", Secret: testSecret, BearerToken: "ab\ncd"}, "control characters"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			nt, err := New(tc.o)
			if tc.wantErr == "" {
				require.NoError(t, err)
				require.NotNil(t, nt)
				return
			}
			require.ErrorContains(t, err, tc.wantErr)
			require.NotContains(t, err.Error(), "ab\ncd")
		})
	}
}

// TestErrors checks how each answer of the endpoint is classified for the dispatcher.
func TestErrors(t *testing.T) {
	t.Parallel()
	type class int
	const (
		ok class = iota
		retry
		rateLimited
		permanent
		unauthorized
	)
	tests := []struct {
		name       string
		status     int
		header     map[string]string
		body       string
		want       class
		after      time.Duration
		serverErr  bool
		wantInText string
	}{
		{name: "200", status: 200, want: ok},
		{name: "204", status: 204, want: ok},
		{name: "202 with a body", status: 202, body: "queued", want: ok},
		{name: "400", status: 400, body: `{"error":"bad payload"}`, want: permanent, wantInText: `400 Bad Request: {"error":"bad payload"}`},
		{name: "404", status: 404, want: permanent, wantInText: "404 Not Found"},
		{name: "401", status: 401, want: unauthorized, wantInText: "refused the credentials"},
		{name: "403", status: 403, want: unauthorized, wantInText: "refused the credentials"},
		{name: "410", status: 410, want: permanent, wantInText: "no longer accepts webhooks"},
		{name: "302 not followed", status: 302, header: map[string]string{"Location": "/elsewhere"}, want: permanent, wantInText: "redirects are not followed"},
		{name: "429 with Retry-After", status: 429, header: map[string]string{"Retry-After": "7"}, want: rateLimited, after: 7 * time.Second},
		{name: "429 with a date", status: 429, header: map[string]string{"Retry-After": "Thu, 03 Dec 2026 14:03:05 GMT"}, want: rateLimited, after: time.Minute},
		{name: "429 without Retry-After", status: 429, want: rateLimited, after: 0},
		{name: "429 asking for days", status: 429, header: map[string]string{"Retry-After": "864000"}, want: rateLimited, after: time.Hour},
		{name: "429 with garbage", status: 429, header: map[string]string{"Retry-After": "soon"}, want: rateLimited, after: 0},
		{name: "500", status: 500, body: "boom", want: retry, serverErr: true, wantInText: "500 Internal Server Error: boom"},
		{name: "502", status: 502, want: retry, serverErr: true},
		{name: "503 with Retry-After", status: 503, header: map[string]string{"Retry-After": "30"}, want: rateLimited, after: 30 * time.Second, serverErr: true},
		{name: "408", status: 408, want: retry},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEndpoint(t, func(w http.ResponseWriter) {
				for k, v := range tc.header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte(tc.body))
			})
			nt := newNotifier(t, e.URL, func() time.Time { return opened })
			receipt, err := nt.Notify(context.Background(), note(t, incidents.NotifyOpen, 101))
			require.Equal(t, alerts.Receipt{}, receipt)
			require.Len(t, e.received(), 1, "one request, no redirect followed")
			if tc.want == ok {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			require.Equal(t, tc.want == permanent || tc.want == unauthorized, alerts.IsPermanent(err), "permanent")
			require.Equal(t, tc.want == unauthorized, alerts.IsUnauthorized(err), "unauthorized")
			after, limited := alerts.RetryAfter(err)
			require.Equal(t, tc.want == rateLimited, limited, "rate limited")
			require.Equal(t, tc.after, after)
			var status interface{ HTTPStatusCode() int }
			require.True(t, errors.As(err, &status), "the status code is visible")
			require.Equal(t, tc.status, status.HTTPStatusCode())
			require.Equal(t, tc.serverErr, status.HTTPStatusCode() >= 500)
			require.Contains(t, err.Error(), tc.wantInText)
			requireNoSecret(t, err)
		})
	}
}

func TestConnectionRefused(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())

	nt, err := New(Options{URL: "http://user:pa55word@" + addr + "/hook?token=q53cret", Secret: testSecret, BearerToken: testBearer})
	require.NoError(t, err)
	_, err = nt.Notify(context.Background(), note(t, incidents.NotifyOpen, 101))
	require.Error(t, err)
	require.False(t, alerts.IsPermanent(err), "retryable")
	_, limited := alerts.RetryAfter(err)
	require.False(t, limited)
	var netErr net.Error
	require.True(t, errors.As(err, &netErr), "the dispatcher counts it as a network error: %v", err)
	require.Contains(t, err.Error(), "http://"+addr+"/hook")
	require.NotContains(t, err.Error(), "pa55word")
	require.NotContains(t, err.Error(), "q53cret")
	requireNoSecret(t, err)
}

func TestContextCanceled(t *testing.T) {
	t.Parallel()
	e := newEndpoint(t, nil)
	nt := newNotifier(t, e.URL, time.Now)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := nt.Notify(ctx, note(t, incidents.NotifyOpen, 101))
	require.ErrorIs(t, err, context.Canceled)
	require.False(t, alerts.IsPermanent(err))
}

// TestResponseBounded checks that an error quotes a bounded snippet of a long answer, with the
// secret and token the endpoint echoed cut out.
func TestResponseBounded(t *testing.T) {
	t.Parallel()
	echo := "got Authorization: Bearer " + testBearer + " and secret " + testSecret + "\n\t" + strings.Repeat("x", 1<<20)
	e := newEndpoint(t, func(w http.ResponseWriter) {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(echo))
	})
	nt := newNotifier(t, e.URL, time.Now)
	_, err := nt.Notify(context.Background(), note(t, incidents.NotifyOpen, 101))
	require.True(t, alerts.IsPermanent(err))
	requireNoSecret(t, err)
	require.Contains(t, err.Error(), "got Authorization: Bearer [redacted] and secret whsec_[redacted] xxx")
	require.Less(t, len(err.Error()), 600)
}

func TestNoDedupKey(t *testing.T) {
	t.Parallel()
	e := newEndpoint(t, nil)
	n := note(t, incidents.NotifyOpen, 101)
	n.Row.DedupKey = ""
	_, err := newNotifier(t, e.URL, time.Now).Notify(context.Background(), n)
	require.True(t, alerts.IsPermanent(err))
	require.Empty(t, e.received())
}

// TestClientKeepsItsPolicy checks that the notifier does not change the client it was given.
func TestClientKeepsItsPolicy(t *testing.T) {
	t.Parallel()
	client := &http.Client{Timeout: time.Second}
	_, err := New(Options{URL: "https://hooks.example.com/", Secret: testSecret, Client: client})
	require.NoError(t, err)
	require.Nil(t, client.CheckRedirect)
}

func requireNoSecret(tb testing.TB, err error) {
	tb.Helper()
	msg := err.Error()
	require.NotContains(tb, msg, testBearer)
	require.NotContains(tb, msg, strings.TrimPrefix(testSecret, "whsec_"))
}
