package dashboards_test

import (
	"bytes"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/outagewatch/outagewatch/internal/watchertest"
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

// daemon is a watcher process started by startDaemon.
type daemon struct {
	apiAddr  string // host:port of the API (/metrics)
	otlpHTTP string // host:port of the OTLP/HTTP receiver
	logs     fmt.Stringer
}

// output adapts a process's output to fmt.Stringer, for failure messages.
type output struct{ w *watchertest.Watcher }

func (o output) String() string { return o.w.Output() }

// startDaemon runs the watcher binary on 127.0.0.1:0 ports with fastDetection and the embedded
// store in a temporary directory, waits for its bound addresses, and stops it (SIGTERM) when the
// test ends.
func startDaemon(tb testing.TB) *daemon {
	tb.Helper()
	w := watchertest.StartWatcher(tb, fastDetection)
	return &daemon{apiAddr: w.API, otlpHTTP: w.OTLPHTTP, logs: output{w}}
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

// healthy reports whether the daemon's /metrics says that s is healthy: warm (a cold series is
// unknown) and seeing nothing wrong.
func (d *daemon) healthy(s series) (bool, error) {
	families, err := d.metrics()
	if err != nil {
		return false, err
	}
	f := families["outagewatch_health_state"]
	if f == nil {
		return false, nil
	}
	for _, m := range f.GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		if labels["provider"] == s.provider && labels["model"] == s.model && labels["state"] == "healthy" {
			return m.GetGauge().GetValue() == 1, nil
		}
	}
	return false, nil
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
