package amtest

import (
	"net"
	"net/http"
	"testing"
	"time"
)

// Logged waits until every instance has logged the notifications it sent so far in its
// notification log. A notification counts as sent once Alertmanager has read the receiver's
// answer and logged it; the receiver sees it before. The next flush of the group (a
// GroupInterval later) consults the log only after the previous flush is over, so two more
// dedup queries after now prove it. Only for groups that stay (with a firing alert). Call it
// before Restart, whose snapshot of the log would otherwise miss the notification.
func Logged(tb testing.TB, what string, ins ...*Instance) {
	tb.Helper()
	before := make([]float64, len(ins))
	for i, in := range ins {
		before[i] = in.Metric("alertmanager_nflog_queries_total", "")
	}
	WaitFor(tb, what, func() bool {
		for i, in := range ins {
			if in.Metric("alertmanager_nflog_queries_total", "") < before[i]+2 {
				return false
			}
		}
		return true
	})
}

// WaitFor polls cond every 20 ms until it holds, failing with what after WaitLong.
func WaitFor(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(WaitLong)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("not within %s: %s", WaitLong, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// FreePort returns a free 127.0.0.1 address (host:port); udp also checks the port for UDP
// (memberlist uses both).
func FreePort(tb testing.TB, udp bool) string {
	tb.Helper()
	for range 20 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			tb.Fatalf("amtest: %v", err)
		}
		addr := l.Addr().String()
		if udp {
			u, err := net.ListenPacket("udp", addr)
			if err != nil {
				l.Close()
				continue
			}
			u.Close()
		}
		l.Close()
		return addr
	}
	tb.Fatal("amtest: no free port")
	return ""
}

// Client is an HTTP client whose idle connections are closed at the end of the test, so that
// goleak finds none of its goroutines.
func Client(tb testing.TB) *http.Client {
	tr := &http.Transport{}
	tb.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 5 * time.Second}
}
