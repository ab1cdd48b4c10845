package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/outagewatch/outagewatch/internal/fakeprovider"
	"github.com/outagewatch/outagewatch/internal/fakeprovider/agentrun"
	"github.com/outagewatch/outagewatch/internal/watchertest"
)

// agentFaults are the outages the real CLIs go through: Anthropic's 529 storm for Claude Code,
// 503s for Gemini CLI and Codex.
var agentFaults = map[string]fakeprovider.Fault{
	"claude": {Status: 529},
	"gemini": {Status: 503},
	"codex":  {Status: 503},
}

const (
	agentBaselineRuns = 2 // successful runs before the fault
	agentRoundSize    = 3 // failing runs at once
	agentMaxRounds    = 6 // failing rounds before the test gives up
)

// agentsBin returns the directory of the CLIs that scripts/agents.sh installs; the test fails
// (it does not skip) when it is not set.
func agentsBin(t *testing.T) string {
	bin := os.Getenv("OUTAGEWATCH_AGENTS_BIN")
	if bin == "" {
		t.Fatal("OUTAGEWATCH_AGENTS_BIN is unset: install the coding-agent CLIs with scripts/agents.sh and run\n" +
			"  export OUTAGEWATCH_AGENTS_BIN=$(scripts/agents.sh | tail -n 1)")
	}
	for _, tool := range agentrun.Tools {
		_, err := os.Stat(bin + "/" + tool)
		require.NoError(t, err, "OUTAGEWATCH_AGENTS_BIN=%s has no %s: run scripts/agents.sh", bin, tool)
	}
	return bin
}

// TestAgentsEndToEnd runs the real coding-agent CLIs (Claude Code, Gemini CLI, Codex) headless
// against the fake provider, exporting their telemetry to a real watcher over OTLP/HTTP: a few
// successful runs, then runs through the provider's outage until the model's health in
// GET /v1/health turns degraded or down.
func TestAgentsEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the agents' end-to-end test runs the real CLIs for a minute or more; scripts/test.sh runs it without -short")
	}
	bin := agentsBin(t)
	watchertest.Build(t, "cmd/watcher")
	for _, tool := range agentrun.Tools {
		t.Run(tool, func(t *testing.T) {
			t.Parallel()
			runAgentOutage(t, bin, tool)
		})
	}
}

// modelHealth returns the status code and view of GET /v1/health/{provider}/{model}.
func modelHealth(t *testing.T, api, provider, model string) (int, string, bool) {
	code, body := httpGet(t, "http://"+api+"/v1/health/"+provider+"/"+model)
	var view struct {
		State  string `json:"state"`
		Usable bool   `json:"usable"`
	}
	if code == http.StatusOK || code == http.StatusServiceUnavailable {
		require.NoError(t, json.Unmarshal(body, &view), "%s", body)
	}
	return code, view.State, view.Usable
}

func runAgentOutage(t *testing.T, bin, tool string) {
	w := watchertest.StartWatcher(t, watcherConfig)
	otlp := "http://" + w.OTLPHTTP
	resp, err := http.Post(otlp+"/v1/logs", "application/json", strings.NewReader(`{"resourceLogs":[]}`))
	require.NoError(t, err)
	resp.Body.Close()
	require.NotEqual(t, http.StatusNotFound, resp.StatusCode, "the watcher has no OTLP logs receiver: POST %s/v1/logs answers 404", otlp)

	fp := fakeprovider.New()
	provider := httptest.NewServer(fp)
	t.Cleanup(provider.Close)
	providerName, model := agentrun.Providers[tool], agentrun.Models[tool]
	run := func() agentrun.Result {
		return agentrun.Run(context.Background(), tool, agentrun.Options{
			Bin: bin, Provider: provider.URL, OTLP: otlp, Dir: t.TempDir(), Protocol: "http/protobuf", Timeout: 2 * time.Minute,
		})
	}

	// Healthy first: the model is seen and usable after successful runs.
	for i := range agentBaselineRuns {
		res := run()
		require.NoError(t, res.Err, "%s without a fault:\n%s", tool, res.Output)
		t.Logf("%s: run %d succeeded in %.1f s", tool, i+1, res.Duration.Seconds())
	}
	require.Eventually(t, func() bool {
		code, _, usable := modelHealth(t, w.API, providerName, model)
		return code == http.StatusOK && usable
	}, 30*time.Second, 250*time.Millisecond, "%s/%s never seen and usable after %d successful %s runs:\n%s",
		providerName, model, agentBaselineRuns, tool, w.Output())

	// The outage: rounds of failing runs until the model is degraded or down.
	fault := agentFaults[tool]
	fp.SetFault(fault)
	begin := time.Now()
	state := ""
	for round := 0; round < agentMaxRounds && state != "degraded" && state != "down"; round++ {
		var wg sync.WaitGroup
		results := make([]agentrun.Result, agentRoundSize)
		for i := range results {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[i] = run()
			}()
		}
		wg.Wait()
		for _, res := range results {
			require.Error(t, res.Err, "%s exited 0 through a %s fault:\n%s", tool, fault, res.Output)
		}
		// The CLIs export on exit; allow the watcher a few ticks.
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) {
			if _, state, _ = modelHealth(t, w.API, providerName, model); state == "degraded" || state == "down" {
				break
			}
			time.Sleep(250 * time.Millisecond)
		}
		t.Logf("%s: after round %d (%d failing runs, %.1f s): %s/%s is %q", tool, round+1, (round+1)*agentRoundSize,
			time.Since(begin).Seconds(), providerName, model, state)
	}
	require.Contains(t, []string{"degraded", "down"}, state, "%s/%s after %d failing %s runs (%s); watcher output:\n%s",
		providerName, model, agentMaxRounds*agentRoundSize, tool, fault, w.Output())
	code, body := httpGet(t, "http://"+w.API+"/v1/health/"+providerName)
	require.Contains(t, []int{http.StatusOK, http.StatusServiceUnavailable}, code, "%s", body)
	var pv struct {
		State string `json:"state"`
	}
	require.NoError(t, json.Unmarshal(body, &pv))
	require.Contains(t, []string{"degraded", "down"}, pv.State, "the provider %s follows its model: %s", providerName, body)
}
