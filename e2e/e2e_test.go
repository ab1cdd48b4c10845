package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/outagewatch/outagewatch/internal/pgtest"
	"github.com/outagewatch/outagewatch/internal/slackfake"
	"github.com/outagewatch/outagewatch/internal/watchertest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	pgtest.StopAll()
	watchertest.Cleanup()
	os.Exit(code)
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

// outagePhaseStarted matches loadgen's log line for the start of the outage phase.
var outagePhaseStarted = regexp.MustCompile(`msg="phase started".* phase=outage `)

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
// the closed-form delay bound (h + a)/(λ·μ(p1)) (the bound column of docs/bench.md; h is the
// threshold of docs/detection.md, "Thresholds") for the model's hard-outage member in its
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
	loadgen := watchertest.Build(t, "cmd/loadgen")
	watchertest.Build(t, "cmd/watcher")
	for _, backend := range []string{"postgres", "sqlite"} {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			runOutage(t, loadgen, backend)
		})
	}
}

func runOutage(t *testing.T, loadgenBin, backend string) {
	dir := t.TempDir()
	slack := slackfake.New(t)
	env := []string{
		"OUTAGEWATCH_SLACK_BOT_TOKEN=xoxb-e2e",
		"OUTAGEWATCH_SLACK_CHANNEL=C0E2E",
		"OUTAGEWATCH_SLACK_API_URL=" + slack.APIURL(),
	}
	if backend == "postgres" {
		env = append(env, "OUTAGEWATCH_POSTGRES_DSN="+pgtest.NewDatabase(t))
	}
	w := watchertest.StartWatcher(t, watcherConfig, env...)
	apiURL := "http://" + w.API

	begin := time.Now()
	lg := watchertest.Start(t, loadgenBin, []string{"OTEL_EXPORTER_OTLP_ENDPOINT=http://" + w.OTLPHTTP, "OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf"},
		"-scenario", scenario(t, dir), "-quiet", "-seed", "7")
	outageAt := begin.Add(baselinePhase)
	recoveryAt := outageAt.Add(outagePhase)

	// Healthy (or warming up) before the outage: usable at every look (not seen yet, 404 with
	// usable true, at first), and seen and usable (200) at the last, until the load generator
	// logs that the outage phase has started. The scenario runs on the wall clock by design;
	// the test follows it by what the load generator says, not by its own reckoning. A look
	// just after the phase began still sees the baseline: the first failing span reaches the
	// daemon a second later at the earliest (the SDK's retries and batch delay).
	looks, lastCode := 0, 0
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for ; !outagePhaseStarted.MatchString(lg.Output()); <-tick.C {
		code, body := httpGet(t, apiURL+"/v1/health/anthropic")
		var health struct {
			Usable bool `json:"usable"`
		}
		require.NoError(t, json.Unmarshal(body, &health), "%s", body)
		require.True(t, health.Usable, "before the outage: %d %s", code, body)
		require.Contains(t, []int{http.StatusOK, http.StatusNotFound}, code, "before the outage: %s", body)
		looks, lastCode = looks+1, code
		select {
		case <-lg.Done():
			t.Fatalf("loadgen exited before the outage phase:\n%s", lg.Output())
		default:
		}
		require.Less(t, time.Since(begin), baselinePhase+30*time.Second, "loadgen never started the outage phase:\n%s", lg.Output())
	}
	require.Equal(t, http.StatusOK, lastCode, "seen and usable at the end of the baseline")
	t.Logf("%s: usable at each of %d looks during the baseline", backend, looks)

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
	code, _ := httpGet(t, apiURL+"/v1/health/anthropic/claude-sonnet-4-5")
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
	_, body := httpGet(t, apiURL+"/v1/incidents")
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

	<-lg.Done()
	w.Stop(t)
	logs := w.Output()
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
