package dashboards_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"
)

// fastDetection makes the daemon decide in seconds: a short warm-up, one-second hold-downs and
// a short group wait, so that an outage opens an incident while the test watches.
const fastDetection = `
detectors:
  warmup_calls: 10
  warmup_age: 0s
  hold_degraded: 1s
  hold_down_base: 1s
  hold_down_max: 1s
incidents:
  group_wait: 300ms
`

var (
	buildOnce   sync.Once
	watcherPath string
	errBuild    error
)

// buildWatcher builds ./cmd/watcher once per test binary, into binDir.
func buildWatcher(tb testing.TB) string {
	tb.Helper()
	buildOnce.Do(func() {
		watcherPath = filepath.Join(binDir, "watcher")
		cmd := exec.Command("go", "build", "-o", watcherPath, "./cmd/watcher")
		cmd.Dir = ".." // the module root
		if out, err := cmd.CombinedOutput(); err != nil {
			errBuild = fmt.Errorf("go build ./cmd/watcher: %w\n%s", err, out)
		}
	})
	require.NoError(tb, errBuild)
	return watcherPath
}

// daemon is a watcher process started by startDaemon.
type daemon struct {
	apiAddr  string // host:port of the API (/metrics)
	otlpHTTP string // host:port of the OTLP/HTTP receiver
	logs     *logBuffer
}

// logBuffer keeps a process's output for failure messages; it is safe for concurrent use.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

var (
	apiListening  = regexp.MustCompile(`msg="api listening" .*addr=(\S+)`)
	otlpListening = regexp.MustCompile(`msg="otlp http listening" .*addr=(\S+)`)
)

// startDaemon runs the watcher binary on 127.0.0.1:0 ports with fastDetection and the embedded
// store in a temporary directory, waits for its bound addresses, and stops it (SIGTERM) when the
// test ends.
func startDaemon(tb testing.TB) *daemon {
	tb.Helper()
	bin := buildWatcher(tb)
	dir := tb.TempDir()
	cfg := filepath.Join(dir, "watcher.yaml")
	require.NoError(tb, os.WriteFile(cfg, []byte(fastDetection), 0o600))

	cmd := exec.Command(bin, "-config", cfg,
		"-api.addr", "127.0.0.1:0", "-otlp.grpc.addr", "127.0.0.1:0", "-otlp.http.addr", "127.0.0.1:0")
	cmd.Env = append(cleanEnv(), "OUTAGEWATCH_DATA_DIR="+dir)
	out, err := cmd.StdoutPipe()
	require.NoError(tb, err)
	cmd.Stderr = cmd.Stdout
	require.NoError(tb, cmd.Start())
	exited := make(chan struct{})
	tb.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})

	d := &daemon{logs: &logBuffer{}}
	addrs := make(chan [2]string, 1)
	go func() {
		defer close(exited)
		d.scanLog(out, addrs)
		_ = cmd.Wait()
	}()
	select {
	case a, ok := <-addrs:
		require.True(tb, ok, "watcher exited before listening:\n%s", d.logs)
		d.apiAddr, d.otlpHTTP = a[0], a[1]
	case <-time.After(30 * time.Second):
		tb.Fatalf("watcher did not report its addresses:\n%s", d.logs)
	}
	return d
}

// scanLog copies the daemon's log into d.logs and sends the API and OTLP/HTTP addresses once
// both were logged; it closes addrs if the log ends first.
func (d *daemon) scanLog(r io.Reader, addrs chan<- [2]string) {
	var api, otlp string
	sent := false
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		_, _ = d.logs.Write([]byte(line + "\n"))
		if m := apiListening.FindStringSubmatch(line); m != nil {
			api = m[1]
		}
		if m := otlpListening.FindStringSubmatch(line); m != nil {
			otlp = m[1]
		}
		if !sent && api != "" && otlp != "" {
			addrs <- [2]string{api, otlp}
			sent = true
		}
	}
	if !sent {
		close(addrs)
	}
}

// cleanEnv is this process's environment without OUTAGEWATCH_* variables, so that a developer's
// settings (a Postgres DSN, a Slack token) do not leak into the daemon under test.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "OUTAGEWATCH_") {
			env = append(env, kv)
		}
	}
	return env
}

// metrics fetches and parses the daemon's /metrics.
func (d *daemon) metrics() (map[string]*dto.MetricFamily, error) {
	resp, err := http.Get("http://" + d.apiAddr + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /metrics: %s", resp.Status)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	return parser.TextToMetricFamilies(resp.Body)
}

// eventually calls cond every 200ms until it returns true, and fails the test with msg if it
// has not after timeout. Unlike require.Eventually, it calls cond on the test's goroutine, so
// cond may use the test's helpers.
func eventually(tb testing.TB, timeout time.Duration, cond func() bool, msg string, args ...any) {
	tb.Helper()
	for deadline := time.Now().Add(timeout); !cond(); time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			tb.Fatalf(msg, args...)
		}
	}
}
