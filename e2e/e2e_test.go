package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"
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

	"github.com/stretchr/testify/require"

	"github.com/outagewatch/outagewatch/internal/pgtest"
	"github.com/outagewatch/outagewatch/internal/slackfake"
)

func TestMain(m *testing.M) {
	code := m.Run()
	pgtest.StopAll()
	os.Exit(code)
}

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

// binaries builds the watcher and loadgen once per test binary.
func binaries(tb testing.TB) (watcher, loadgen string) {
	tb.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "e2e-bin")
		if buildErr != nil {
			return
		}
		for _, pkg := range []string{"cmd/watcher", "cmd/loadgen"} {
			out, err := exec.Command("go", "build", "-o", filepath.Join(binDir, filepath.Base(pkg)), "github.com/outagewatch/outagewatch/"+pkg).CombinedOutput()
			if err != nil {
				buildErr = fmt.Errorf("build %s: %w: %s", pkg, err, out)
				return
			}
		}
	})
	require.NoError(tb, buildErr)
	return filepath.Join(binDir, "watcher"), filepath.Join(binDir, "loadgen")
}

// The scenario: the shipped outage scenario's traffic, with shorter phases.
const (
	baselinePhase = 20 * time.Second
	outagePhase   = 25 * time.Second
	recoveryPhase = 50 * time.Second
	outageRate    = 8.0 // calls/s of anthropic/claude-sonnet-4-5
)

func scenario(tb testing.TB, dir string) string {
	tb.Helper()
	src, err := os.ReadFile("../cmd/loadgen/scenarios/outage.yaml")
	require.NoError(tb, err)
	text := string(src)
	i := strings.Index(text, "\nphases:")
	require.Positive(tb, i)
	text = text[:i] + fmt.Sprintf(`
phases:
  - name: baseline
    duration: %s
  - name: outage
    duration: %s
    overrides:
      - target: anthropic/claude-sonnet-4-5
        errors: {overloaded: 1}
  - name: recovery
    duration: %s
`, baselinePhase, outagePhase, recoveryPhase)
	path := filepath.Join(dir, "outage-short.yaml")
	require.NoError(tb, os.WriteFile(path, []byte(text), 0o600))
	return path
}

// watcherConfig keeps the daemon's defaults (cold start included) but shortens the hold-downs
// and the group wait, so that recovery and the incident's resolution fit in the test.
const watcherConfig = `
detectors:
  hold_degraded: 10s
  hold_down_base: 10s
incidents:
  group_wait: 2s
alerts:
  poll_interval: 200ms
  backoff_min: 200ms
`

// process is a running binary whose output is kept.
type process struct {
	cmd  *exec.Cmd
	mu   sync.Mutex
	out  strings.Builder
	done chan struct{}
}

func start(tb testing.TB, bin string, env []string, args ...string) *process {
	tb.Helper()
	p := &process{cmd: exec.Command(bin, args...), done: make(chan struct{})}
	p.cmd.Env = append(os.Environ(), env...)
	r, w := io.Pipe()
	p.cmd.Stdout, p.cmd.Stderr = w, w
	require.NoError(tb, p.cmd.Start())
	go func() {
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			p.mu.Lock()
			p.out.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
		}
	}()
	go func() {
		_ = p.cmd.Wait()
		_ = w.Close()
		close(p.done)
	}()
	tb.Cleanup(func() { p.stop(tb) })
	return p
}

func (p *process) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

func (p *process) stop(tb testing.TB) {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		tb.Errorf("%s did not stop on SIGTERM", p.cmd.Path)
	}
}

var addrRE = regexp.MustCompile(`msg="(api|otlp http) listening".* addr=(\S+)`)

// addrs waits for the watcher to log its bound API and OTLP/HTTP addresses.
func addrs(tb testing.TB, p *process) (api, otlpHTTP string) {
	tb.Helper()
	require.Eventually(tb, func() bool {
		api, otlpHTTP = "", ""
		for _, m := range addrRE.FindAllStringSubmatch(p.output(), -1) {
			if m[1] == "api" {
				api = m[2]
			} else {
				otlpHTTP = m[2]
			}
		}
		return api != "" && otlpHTTP != ""
	}, 30*time.Second, 20*time.Millisecond, "watcher did not start:\n%s", p.output())
	return api, otlpHTTP
}

func httpGet(tb testing.TB, url string) (int, []byte) {
	tb.Helper()
	resp, err := http.Get(url)
	require.NoError(tb, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(tb, err)
	return resp.StatusCode, b
}

// detectionAllowance is the delay the test allows from the start of the outage phase to 503:
// DETECTION.md's closed-form bound (h + a)/(λ·μ(p1)) for the model's hard-outage member in its
// cold start (p̃0 = 5%, p1 = 0.8, all calls failing, h = ln(2·λ_ref·T_FA) with λ_ref = 10/s),
// plus what lies before the detector: the failing call itself (three attempts with the SDK's
// backoff), the application's batch span processor (1 s), and the daemon's tick.
func detectionAllowance() time.Duration {
	p0, p1 := 0.05, 0.8
	a := math.Log(p1 / p0)
	h := math.Log(2 * 10 * 30 * 86400)
	bound := (h + a) / (outageRate * a) // μ(1) = a
	const beforeDetector = 5 * time.Second
	return time.Duration(bound*float64(time.Second)) + beforeDetector
}

func TestOutageEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the end-to-end test runs the whole system for about two minutes; scripts/test.sh runs it without -short")
	}
	watcher, loadgen := binaries(t)
	for _, backend := range []string{"postgres", "sqlite"} {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			runOutage(t, watcher, loadgen, backend)
		})
	}
}

func runOutage(t *testing.T, watcherBin, loadgenBin, backend string) {
	dir := t.TempDir()
	slack := slackfake.New(t)
	cfg := filepath.Join(dir, "watcher.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte(watcherConfig), 0o600))
	env := []string{
		"OUTAGEWATCH_DATA_DIR=" + filepath.Join(dir, "data"),
		"OUTAGEWATCH_SLACK_BOT_TOKEN=xoxb-e2e",
		"OUTAGEWATCH_SLACK_CHANNEL=C0E2E",
		"OUTAGEWATCH_SLACK_API_URL=" + slack.APIURL(),
	}
	if backend == "postgres" {
		env = append(env, "OUTAGEWATCH_POSTGRES_DSN="+pgtest.NewDatabase(t))
	}
	w := start(t, watcherBin, env, "-config", cfg, "-api.addr", "127.0.0.1:0", "-otlp.grpc.addr", "127.0.0.1:0", "-otlp.http.addr", "127.0.0.1:0")
	api, otlpHTTP := addrs(t, w)
	apiURL := "http://" + api

	begin := time.Now()
	lg := start(t, loadgenBin, []string{"OTEL_EXPORTER_OTLP_ENDPOINT=http://" + otlpHTTP, "OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf"},
		"-scenario", scenario(t, dir), "-quiet", "-seed", "7")
	outageAt := begin.Add(baselinePhase)
	recoveryAt := outageAt.Add(outagePhase)

	// Healthy (or warming up) before the outage: usable.
	time.Sleep(time.Until(outageAt.Add(-2 * time.Second)))
	code, body := httpGet(t, apiURL+"/v1/health/anthropic")
	require.Equal(t, http.StatusOK, code, "before the outage: %s", body)

	// Down within the bound.
	allowance := detectionAllowance()
	var downAt time.Time
	require.Eventually(t, func() bool {
		code, _ := httpGet(t, apiURL+"/v1/health/anthropic")
		if code == http.StatusServiceUnavailable {
			downAt = time.Now()
			return true
		}
		return false
	}, outagePhase, 50*time.Millisecond, "the provider never answered 503 during the outage")
	t.Logf("%s: 503 %.1f s after the outage began (allowed %.1f s)", backend, downAt.Sub(outageAt).Seconds(), allowance.Seconds())
	require.LessOrEqual(t, downAt.Sub(outageAt), allowance)
	code, _ = httpGet(t, apiURL+"/v1/health/anthropic/claude-sonnet-4-5")
	require.Equal(t, http.StatusServiceUnavailable, code)
	code, _ = httpGet(t, apiURL+"/v1/health/openai/gpt-4o")
	require.Equal(t, http.StatusOK, code, "the other provider stays usable")

	// Usable again after the recovery.
	require.Eventually(t, func() bool {
		code, _ := httpGet(t, apiURL+"/v1/health/anthropic")
		return code == http.StatusOK && time.Now().After(recoveryAt)
	}, recoveryPhase, 200*time.Millisecond, "the provider never became usable again")
	t.Logf("%s: 200 again %.1f s after the recovery began", backend, time.Since(recoveryAt).Seconds())

	// Exactly one incident, resolved, with its timeline.
	var inc struct {
		ID       int64  `json:"id"`
		Provider string `json:"provider"`
		State    string `json:"state"`
		Severity string `json:"severity"`
		Timeline []struct {
			Kind  string `json:"kind"`
			Model string `json:"model"`
			To    string `json:"to"`
		} `json:"timeline"`
	}
	require.Eventually(t, func() bool {
		_, body := httpGet(t, apiURL+"/v1/incidents")
		var list struct {
			Incidents []struct {
				ID    int64  `json:"id"`
				State string `json:"state"`
			} `json:"incidents"`
		}
		require.NoError(t, json.Unmarshal(body, &list))
		require.LessOrEqual(t, len(list.Incidents), 1, "one incident: %s", body)
		return len(list.Incidents) == 1 && list.Incidents[0].State == "resolved"
	}, 2*time.Minute, 250*time.Millisecond, "the incident did not resolve")
	_, body = httpGet(t, apiURL+"/v1/incidents")
	var list struct {
		Incidents []struct {
			ID int64 `json:"id"`
		} `json:"incidents"`
	}
	require.NoError(t, json.Unmarshal(body, &list))
	_, body = httpGet(t, fmt.Sprintf("%s/v1/incidents/%d", apiURL, list.Incidents[0].ID))
	require.NoError(t, json.Unmarshal(body, &inc))
	require.Equal(t, "anthropic", inc.Provider)
	require.Equal(t, "opened", inc.Timeline[0].Kind)
	wentDown := false
	for _, e := range inc.Timeline {
		if e.Model == "claude-sonnet-4-5" && e.To == "down" {
			wentDown = true
		}
	}
	require.True(t, wentDown, "the timeline records the model going down: %+v", inc.Timeline)
	require.Equal(t, "resolved", inc.Timeline[len(inc.Timeline)-1].Kind)

	// Exactly one Slack thread, with its resolution: a reply tagged "resolve" in its metadata.
	require.Eventually(t, func() bool {
		for _, m := range slack.Messages() {
			if m.ThreadTS != "" && m.Metadata.EventPayload["kind"] == "resolve" {
				return true
			}
		}
		return false
	}, 30*time.Second, 100*time.Millisecond, "no resolution in Slack: %+v\n%s", slack.Messages(), metricLines(t, apiURL, "outagewatch_alerts", "outagewatch_outbox"))
	var roots []slackfake.Stored
	for _, m := range slack.Messages() {
		if m.ThreadTS == "" || m.ThreadTS == m.TS {
			roots = append(roots, m)
		}
	}
	require.Len(t, roots, 1, "one thread root: %+v", slack.Messages())
	for _, m := range slack.Messages() {
		if m.TS != roots[0].TS {
			require.Equal(t, roots[0].TS, m.ThreadTS, "every other message is in the thread")
		}
	}
	require.Positive(t, roots[0].Updates, "the root was updated in place")

	<-lg.done
	w.stop(t)
	logs := w.output()
	require.Contains(t, logs, "incident opened")
	require.Contains(t, logs, "incident resolved")
	for _, line := range strings.Split(logs, "\n") {
		require.NotContains(t, line, "level=ERROR", "no error in the daemon's log")
	}
}

func metricLines(tb testing.TB, apiURL string, prefixes ...string) string {
	_, body := httpGet(tb, apiURL+"/metrics")
	var out []string
	for _, line := range strings.Split(string(body), "\n") {
		for _, p := range prefixes {
			if strings.HasPrefix(line, p) {
				out = append(out, line)
			}
		}
	}
	return strings.Join(out, "\n")
}
