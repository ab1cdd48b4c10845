package amtest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// Alert is an alert of Alertmanager's webhook notification.
type Alert struct {
	Status       string            `json:"status"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL"`
}

// Notification is Alertmanager's webhook body (version 4).
type Notification struct {
	Status      string            `json:"status"`
	Receiver    string            `json:"receiver"`
	GroupLabels map[string]string `json:"groupLabels"`
	Alerts      []Alert           `json:"alerts"`
}

// Receiver is a webhook endpoint that records the notifications Alertmanager sends it, in the
// order they arrive; Next and None take them.
type Receiver struct {
	// URL is the endpoint, for Options.Receiver.
	URL string

	ch chan Notification // buffered: Alertmanager waits on a full one
}

// NewReceiver starts a receiver, closed at the end of the test. A body that does not decode
// fails the test and is answered 400.
func NewReceiver(tb testing.TB) *Receiver {
	tb.Helper()
	r := &Receiver{ch: make(chan Notification, 100)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		var n Notification
		if err := json.NewDecoder(req.Body).Decode(&n); err != nil {
			tb.Errorf("amtest: receiver: decode notification: %v", err)
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.ch <- n
	}))
	tb.Cleanup(srv.Close)
	r.URL = srv.URL
	return r
}

// Next waits up to WaitLong for the next notification, failing with what.
func (r *Receiver) Next(tb testing.TB, what string) Notification {
	tb.Helper()
	select {
	case n := <-r.ch:
		return n
	case <-time.After(WaitLong):
		tb.Fatalf("no notification within %s: waiting for %s", WaitLong, what)
		return Notification{}
	}
}

// None fails, with why, if a notification has arrived or arrives within window; a window of
// 0 checks only the notifications already received.
func (r *Receiver) None(tb testing.TB, window time.Duration, why string) {
	tb.Helper()
	t := time.NewTimer(window)
	defer t.Stop()
	select { // the ones waiting first: an expired timer must not hide them
	case n := <-r.ch:
		tb.Fatalf("unexpected notification (%s): %s with %d alerts: %+v", why, n.Status, len(n.Alerts), n.Alerts)
	default:
	}
	select {
	case n := <-r.ch:
		tb.Fatalf("unexpected notification (%s): %s with %d alerts: %+v", why, n.Status, len(n.Alerts), n.Alerts)
	case <-t.C:
	}
}
