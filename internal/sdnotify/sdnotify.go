// Package sdnotify tells systemd how the daemon is doing (sd_notify(3)): READY=1 once it serves,
// RELOADING=1 and READY=1 around a configuration reload, STOPPING=1 when it shuts down. The unit
// (deploy/systemd/outagewatch.service) is Type=notify: systemd holds dependent units, and
// `systemctl start` returns, only after READY=1.
//
// A Notifier sends datagrams to the socket named by NOTIFY_SOCKET (a path, or an abstract
// socket when it starts with @). Without the variable (not under systemd) it does nothing.
package sdnotify

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
)

// Notifier sends states to systemd's notification socket.
type Notifier struct {
	addr *net.UnixAddr // nil when not under systemd
}

// New returns a notifier for the socket named by getenv("NOTIFY_SOCKET").
func New(getenv func(string) string) *Notifier {
	path := getenv("NOTIFY_SOCKET")
	if path == "" {
		return &Notifier{}
	}
	if strings.HasPrefix(path, "@") {
		path = "\x00" + path[1:]
	}
	return &Notifier{addr: &net.UnixAddr{Name: path, Net: "unixgram"}}
}

// Enabled reports whether a socket was named.
func (n *Notifier) Enabled() bool { return n.addr != nil }

// Notify sends lines (such as "READY=1", "STATUS=serving") as one datagram.
func (n *Notifier) Notify(lines ...string) error {
	if n.addr == nil {
		return nil
	}
	conn, err := net.DialUnix("unixgram", nil, n.addr)
	if err != nil {
		return fmt.Errorf("sd_notify: %w", err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte(strings.Join(lines, "\n") + "\n")); err != nil {
		return fmt.Errorf("sd_notify: %w", err)
	}
	return nil
}

// Ready says the daemon serves.
func (n *Notifier) Ready(status string) error { return n.Notify("READY=1", "STATUS="+status) }

// Reloading says a reload began, with the monotonic time systemd's Type=notify-reload wants
// (CLOCK_MONOTONIC in microseconds); call Ready when it ends, whatever its result.
func (n *Notifier) Reloading(now time.Duration) error {
	return n.Notify("RELOADING=1", "MONOTONIC_USEC="+strconv.FormatInt(now.Microseconds(), 10))
}

// Stopping says the shutdown began.
func (n *Notifier) Stopping() error { return n.Notify("STOPPING=1", "STATUS=stopping") }
