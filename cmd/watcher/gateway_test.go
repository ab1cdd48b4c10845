package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/outagewatch/outagewatch/ingest/hosts"
	"github.com/outagewatch/outagewatch/internal/sdkfixtures"
	"github.com/outagewatch/outagewatch/internal/watchertest"
)

// replay posts a recorded scenario's requests to the binary's OTLP/HTTP receiver, their spans
// moved so that the last ends now.
func replay(t *testing.T, addr string, sc sdkfixtures.Scenario) {
	t.Helper()
	var last int64
	for _, body := range sc.Requests {
		req := ptraceotlp.NewExportRequest()
		require.NoError(t, req.UnmarshalProto(body))
		sdkfixtures.EachSpan(req.Traces(), func(s ptrace.Span) { last = max(last, int64(s.EndTimestamp())) })
	}
	delta := time.Since(time.Unix(0, last))
	for _, body := range sc.Requests {
		shifted, err := sdkfixtures.Shifted(body, delta)
		require.NoError(t, err)
		resp, err := http.Post("http://"+addr+"/v1/traces", "application/x-protobuf", bytes.NewReader(shifted))
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
	}
}

// hostListing fetches GET /v1/hosts.
func hostListing(t *testing.T, api string) []hosts.Entry {
	t.Helper()
	code, body := get(t, "http://"+api+"/v1/hosts")
	require.Equal(t, http.StatusOK, code, body)
	var l struct{ Hosts []hosts.Entry }
	require.NoError(t, json.Unmarshal([]byte(body), &l))
	return l.Hosts
}

// TestRecordedSDKsThroughAGatewayWithNoConfiguration replays, into a fresh binary with no
// ingest.provider_hosts, the traces recorded from the official OpenAI SDK with OpenLLMetry and
// the gateway recording (one host serving OpenAI's and Anthropic's APIs): good calls, then calls
// failing with 500, 529 and 429 whose LLM spans were never exported. Every failing call is
// counted for its provider, OpenAI turns 503, the binary lists what it learned, and a restart
// keeps it.
func TestRecordedSDKsThroughAGatewayWithNoConfiguration(t *testing.T) {
	t.Parallel()
	dataDir := t.TempDir()
	const config = "ingest:\n  attempt_wait: 1s\n"
	p := proc{watchertest.StartWatcher(t, config, "OUTAGEWATCH_DATA_DIR="+dataDir)}
	openai, err := sdkfixtures.Load("openai-openllmetry")
	require.NoError(t, err)
	gateway, err := sdkfixtures.Load("gateway-openllmetry")
	require.NoError(t, err)

	start := time.Now()
	replay(t, p.OTLPHTTP, openai)
	require.Eventually(t, func() bool {
		code, _ := get(t, "http://"+p.API+"/v1/health/openai")
		return code == http.StatusServiceUnavailable
	}, 10*time.Second, 50*time.Millisecond, "the OpenAI outage seen through a host nobody configured")
	t.Logf("openai 503 %s after the replay began", time.Since(start).Round(10*time.Millisecond))
	replay(t, p.OTLPHTTP, gateway)

	want := map[string]float64{}
	for _, sc := range []sdkfixtures.Scenario{openai, gateway} {
		for _, ph := range sc.Phases {
			if ok := ph.Calls - ph.CallsFailed; ok > 0 {
				want[ph.Provider+" ok"] += float64(ok)
			}
			if ph.CallsFailed > 0 {
				want[ph.Provider+" failed"] += float64(ph.CallsFailed)
			}
		}
	}
	counted := func() map[string]float64 {
		got := map[string]float64{}
		_, body := get(t, "http://"+p.API+"/metrics")
		for _, line := range strings.Split(body, "\n") {
			if !strings.HasPrefix(line, "outagewatch_calls_total{") {
				continue
			}
			var v float64
			labels, value, _ := strings.Cut(line, "} ")
			require.NoError(t, json.Unmarshal([]byte(value), &v))
			provider := between(labels, `provider="`, `"`)
			outcome := "failed"
			if between(labels, `outcome="`, `"`) == "ok" {
				outcome = "ok"
			}
			if v > 0 {
				got[provider+" "+outcome] += v
			}
		}
		return got
	}
	require.Eventually(t, func() bool { return len(counted()) == len(want) && equalCounts(counted(), want) }, 10*time.Second, 50*time.Millisecond,
		"one call per SDK call, each of its provider: want %v", want)

	learned := hostListing(t, p.API)
	byRoute := map[string]string{}
	for _, e := range learned {
		require.Equal(t, "learned", e.Source)
		byRoute[e.Host+e.Route] = e.Provider
	}
	require.Equal(t, map[string]string{
		openai.Host + "/v1/chat/completions":  "openai",
		gateway.Host + "/v1/chat/completions": "openai",
		gateway.Host + "/v1/messages":         "anthropic",
	}, byRoute)

	p.Stop(t)
	q := proc{watchertest.StartWatcher(t, config, "OUTAGEWATCH_DATA_DIR="+dataDir)}
	restored := hostListing(t, q.API)
	require.Len(t, restored, len(learned), "the hosts learned are restored before any traffic")
	for i := range learned {
		require.Equal(t, learned[i].Host+learned[i].Route, restored[i].Host+restored[i].Route)
		require.Equal(t, learned[i].Provider, restored[i].Provider)
		require.Equal(t, learned[i].Pairs, restored[i].Pairs)
	}
}

func between(s, from, to string) string {
	_, rest, ok := strings.Cut(s, from)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(rest, to)
	return v
}

func equalCounts(got, want map[string]float64) bool {
	for k, v := range want {
		if got[k] != v {
			return false
		}
	}
	return true
}
