package sdnotify

import (
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// listen binds a unixgram socket as systemd does and returns its path and a reader of the
// datagrams.
func listen(t *testing.T, name string) (string, func() string) {
	t.Helper()
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: name, Net: "unixgram"})
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	return name, func() string {
		buf := make([]byte, 4096)
		require.NoError(t, conn.SetReadDeadline(time.Now().Add(10*time.Second)))
		n, err := conn.Read(buf)
		require.NoError(t, err)
		return string(buf[:n])
	}
}

func TestNotify(t *testing.T) {
	path, read := listen(t, filepath.Join(t.TempDir(), "notify.sock"))
	n := New(func(k string) string {
		if k == "NOTIFY_SOCKET" {
			return path
		}
		return ""
	})
	require.True(t, n.Enabled())
	require.NoError(t, n.Ready("serving"))
	require.Equal(t, "READY=1\nSTATUS=serving\n", read())
	require.NoError(t, n.Reloading(1500*time.Millisecond))
	require.Equal(t, "RELOADING=1\nMONOTONIC_USEC=1500000\n", read())
	require.NoError(t, n.Stopping())
	require.Equal(t, "STOPPING=1\nSTATUS=stopping\n", read())
}

func TestAbstractSocket(t *testing.T) {
	name := "outagewatch-test-" + filepath.Base(t.TempDir())
	_, read := listen(t, "\x00"+name)
	n := New(func(string) string { return "@" + name })
	require.NoError(t, n.Notify("READY=1"))
	require.Equal(t, "READY=1\n", read())
}

func TestNotUnderSystemd(t *testing.T) {
	n := New(func(string) string { return "" })
	require.False(t, n.Enabled())
	require.NoError(t, n.Ready("serving"), "nothing to tell")
}

func TestSocketGone(t *testing.T) {
	n := New(func(string) string { return filepath.Join(t.TempDir(), "absent.sock") })
	require.Error(t, n.Ready("serving"))
}
