package dashboards_test

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// requireTool returns the path of a binary on PATH. A missing one fails the test, never skips
// it: scripts/test.sh installs Debian's prometheus package, which brings prometheus and promtool.
func requireTool(tb testing.TB, name string) string {
	tb.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		tb.Fatalf("%s not found on PATH: run scripts/test.sh, which installs it (apt-get install prometheus)", name)
	}
	return path
}

// prometheusServer is a Prometheus process started by startPrometheus.
type prometheusServer struct {
	url  string
	logs *logBuffer
}

// startPrometheus runs Prometheus on a free localhost port, scraping target's /metrics every
// second as job "outagewatch" and evaluating testRules every second, and stops it when the test
// ends.
func startPrometheus(tb testing.TB, target string) *prometheusServer {
	tb.Helper()
	bin := requireTool(tb, "prometheus")
	dir := tb.TempDir()
	config := fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files: [%q]
scrape_configs:
  - job_name: outagewatch
    static_configs:
      - targets: [%q]
`, testRules(tb, dir), target)
	require.NoError(tb, os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(config), 0o600))
	addr := freeAddr(tb)
	p := &prometheusServer{url: "http://" + addr, logs: &logBuffer{}}
	cmd := exec.Command(bin, "--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "data"), "--web.listen-address="+addr, "--log.level=warn")
	cmd.Stdout, cmd.Stderr = p.logs, p.logs
	require.NoError(tb, cmd.Start())
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	tb.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	ready := func() bool {
		resp, err := http.Get(p.url + "/-/ready")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}
	deadline := time.Now().Add(30 * time.Second)
	for !ready() {
		select {
		case err := <-exited:
			tb.Fatalf("prometheus exited: %v\n%s", err, p.logs)
		case <-time.After(100 * time.Millisecond):
		}
		require.True(tb, time.Now().Before(deadline), "prometheus not ready in 30s:\n%s", p.logs)
	}
	return p
}

// testRules writes a copy of rules.yml whose `for:` durations are all 1s, and returns its path:
// the real ones (1 to 20 minutes) would outlast the test. The expressions are the same, and
// promtool checks the real file.
func testRules(tb testing.TB, dir string) string {
	tb.Helper()
	rf := loadRules(tb)
	for _, g := range rf.Groups {
		for i := range g.Rules {
			if g.Rules[i].Alert != "" {
				g.Rules[i].For = "1s"
			}
		}
	}
	data, err := yaml.Marshal(rf)
	require.NoError(tb, err)
	path := filepath.Join(dir, "rules.yml")
	require.NoError(tb, os.WriteFile(path, data, 0o600))
	return path
}

// freeAddr returns a localhost address with a port that was free a moment ago.
func freeAddr(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(tb, err)
	defer ln.Close()
	return ln.Addr().String()
}

// promSeries is one series of an instant query's result.
type promSeries struct {
	Metric map[string]string `json:"metric"`
}

// query evaluates expr at the current time through /api/v1/query and returns its series; a
// scalar result is one series without labels.
func (p *prometheusServer) query(expr string) ([]promSeries, error) {
	resp, err := http.PostForm(p.url+"/api/v1/query", url.Values{"query": {expr}})
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var body struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			ResultType string          `json:"resultType"`
			Result     json.RawMessage `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, err
	}
	if body.Status != "success" {
		return nil, fmt.Errorf("%s", body.Error)
	}
	if body.Data.ResultType == "scalar" {
		return []promSeries{{}}, nil
	}
	var series []promSeries
	err = json.Unmarshal(body.Data.Result, &series)
	return series, err
}

// promAlert is an alert of /api/v1/alerts.
type promAlert struct {
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	State       string            `json:"state"`
}

// firing returns the alert of /api/v1/alerts named name, firing, with the given labels, or nil.
func (p *prometheusServer) firing(name string, labels map[string]string) (*promAlert, error) {
	resp, err := http.Get(p.url + "/api/v1/alerts")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var body struct {
		Data struct {
			Alerts []promAlert `json:"alerts"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, err
	}
next:
	for _, a := range body.Data.Alerts {
		if a.State != "firing" || a.Labels["alertname"] != name {
			continue
		}
		for k, v := range labels {
			if a.Labels[k] != v {
				continue next
			}
		}
		return &a, nil
	}
	return nil, nil
}

// grafanaVariables replaces the Grafana variables of the panels' PromQL with the values the test
// evaluates them with: rate windows that cover the whole run, the provider and model that go
// down, and every replica.
var grafanaVariables = strings.NewReplacer(
	"$__rate_interval", "1m",
	"$__interval", "1m",
	"$__range", "5m",
	"$provider", sonnet.provider,
	"$model", sonnet.model,
	"$instance", ".+",
)

// faultOnly are the rules whose expression has no result while outagewatch itself is well, as it
// is in this test, with why. The test evaluates them with their comparisons removed
// (withoutThresholds), which proves their metrics, labels and arithmetic against real data;
// promtool checks the rest.
var faultOnly = map[string]string{
	"OutagewatchDown":                   "up is 1: Prometheus scrapes the daemon",
	"OutagewatchNoSpansReceived":        "spans flow throughout the test",
	"OutagewatchNoLLMCalls":             "the spans are LLM calls",
	"OutagewatchIngestRefusing":         "the hand-off queue never fills",
	"OutagewatchStoreUnreachable":       "the embedded store stays up",
	"OutagewatchSnapshotNotSaved":       "the snapshot is saved within seconds of each state change",
	"OutagewatchIncidentChangesDropped": "the store stays up, so no change is dropped",
	"OutagewatchOutboxBacklogOld":       "no Slack is configured, so the outbox is never late",
	"OutagewatchAlertsUndeliverable":    "no Slack is configured, so no delivery fails",
}

// threshold matches a comparison with a number: `== 0`, `> 0.05`, `>= bool 50`.
var threshold = regexp.MustCompile(`\s*(?:==|!=|>=|<=|>|<)\s*(?:bool\s+)?-?[0-9][0-9.]*(?:e[+-]?[0-9]+)?`)

// withoutThresholds removes every comparison with a number from expr, leaving what it compares.
func withoutThresholds(expr string) string { return threshold.ReplaceAllString(expr, "") }

// TestPrometheusEvaluatesEveryQuery runs the daemon and a real Prometheus that scrapes it and
// evaluates rules.yml, sends realistic traffic with an outage (one model down, another one's
// streams cut) through the OpenTelemetry SDK, and while the outage is on evaluates every PromQL
// expression of every dashboard and every rule through the HTTP API: each must return data, and
// the provider-down and truncation alerts must fire. Then the provider recovers and the alert
// resolves.
func TestPrometheusEvaluatesEveryQuery(t *testing.T) {
	t.Parallel()
	promtool := requireTool(t, "promtool")
	out, err := exec.Command(promtool, "check", "rules", "rules.yml").CombinedOutput()
	require.NoError(t, err, "promtool check rules rules.yml:\n%s", out)

	start := time.Now()
	d := startDaemon(t)
	prom := startPrometheus(t, d.apiAddr)
	tr := startTraffic(t, d, 100)
	t.Logf("daemon and prometheus up after %v", time.Since(start).Round(time.Millisecond))

	// The baseline: the detectors warm up, and Prometheus takes a few scrapes of normal traffic:
	// three in which every series is healthy.
	eventually(t, 45*time.Second, func() bool {
		for _, s := range everySeries {
			res, err := prom.query(fmt.Sprintf(`sum_over_time(outagewatch_health_state{provider=%q, model=%q, state="healthy"}[1m]) >= 3`, s.provider, s.model))
			if err != nil || len(res) == 0 {
				return false
			}
		}
		return true
	}, "Prometheus did not scrape three healthy samples of every series; daemon log:\n%s", d.logs)
	t.Logf("baseline scraped after %v", time.Since(start).Round(time.Millisecond))
	tr.set(sonnet, outage)
	tr.set(gpt4o, truncation)
	outageAt := time.Now()
	down := map[string]string{"provider": sonnet.provider, "model": sonnet.model}
	var downAlert, truncAlert *promAlert
	eventually(t, 45*time.Second, func() bool {
		var err1, err2 error
		downAlert, err1 = prom.firing("LLMProviderDown", down)
		truncAlert, err2 = prom.firing("LLMTruncationRatioHigh", map[string]string{"provider": gpt4o.provider, "model": gpt4o.model})
		return err1 == nil && err2 == nil && downAlert != nil && truncAlert != nil
	}, "the down and truncation alerts did not fire; daemon log:\n%s", d.logs)
	require.Equal(t, "anthropic claude-sonnet-4-5 is down", downAlert.Annotations["summary"])
	require.Equal(t, "critical", downAlert.Labels["severity"])
	require.Regexp(t, `^openai gpt-4o truncates [0-9.]+% of calls$`, truncAlert.Annotations["summary"])
	t.Logf("LLMProviderDown and LLMTruncationRatioHigh firing %v after the outage began", time.Since(outageAt).Round(time.Millisecond))

	evaluated := time.Now()
	for _, q := range append(dashboardQueries(t), ruleQueries(t)...) {
		requireData(t, prom, q)
	}
	t.Logf("every expression evaluated in %v", time.Since(evaluated).Round(time.Millisecond))

	// Recovery: the provider answers again, the state leaves down and the alert resolves.
	tr.set(sonnet, noFault)
	tr.set(gpt4o, noFault)
	recoveredAt := time.Now()
	eventually(t, 30*time.Second, func() bool {
		stillDown, err1 := prom.query(fmt.Sprintf(`outagewatch_health_state{provider=%q, model=%q, state="down"} == 1`, sonnet.provider, sonnet.model))
		firing, err2 := prom.firing("LLMProviderDown", down)
		return err1 == nil && err2 == nil && len(stillDown) == 0 && firing == nil
	}, "no recovery; daemon log:\n%s", d.logs)
	t.Logf("LLMProviderDown resolved %v after the recovery; whole test %v",
		time.Since(recoveredAt).Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
}

// requireData evaluates q through Prometheus, its Grafana variables substituted, and reports an
// error, an empty result, or a result without a label that its legend or annotations read. A
// rule of faultOnly is evaluated as written (it must be valid) and then without its thresholds.
func requireData(t *testing.T, prom *prometheusServer, q promQuery) {
	t.Helper()
	expr := grafanaVariables.Replace(q.expr)
	require.NotContains(t, expr, "$", "%s: a Grafana variable the test does not substitute", q.where)
	if reason, ok := faultOnly[q.alert]; ok {
		if _, err := prom.query(expr); err != nil {
			t.Errorf("%s: %v\n%s", q.where, err, expr)
		}
		t.Logf("%s: evaluated without its thresholds too: %s", q.where, reason)
		expr = withoutThresholds(expr)
	}
	series, err := prom.query(expr)
	switch {
	case err != nil:
		t.Errorf("%s: %v\n%s", q.where, err, expr)
	case len(series) == 0:
		t.Errorf("%s: no data\n%s", q.where, expr)
	default:
		for _, l := range q.labels {
			if !anyHasLabel(series, l) {
				t.Errorf("%s: no series of the result has label %s (read by its legend or annotations)\n%s", q.where, l, expr)
			}
		}
	}
}

// anyHasLabel reports whether a series of the result has a non-empty label l.
func anyHasLabel(series []promSeries, l string) bool {
	for _, s := range series {
		if s.Metric[l] != "" {
			return true
		}
	}
	return false
}
