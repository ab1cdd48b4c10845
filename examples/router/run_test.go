package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestParseConfig(t *testing.T) {
	t.Parallel()
	c, err := parseConfig(nil, io.Discard)
	require.NoError(t, err)
	require.Equal(t, config{
		outagewatch: "http://127.0.0.1:9317", otlpEndpoint: "127.0.0.1:4318", rate: 20, duration: 80 * time.Second,
		failPrimaryAfter: 10 * time.Second, failPrimaryFor: 15 * time.Second, latency: 30 * time.Millisecond,
	}, c)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"zero rate", []string{"-rate", "0"}, "-rate"},
		{"negative duration", []string{"-duration", "-1s"}, "durations"},
		{"stray argument", []string{"extra"}, "unexpected arguments"},
		{"unknown flag", []string{"-nope"}, "not defined"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := parseConfig(tt.args, io.Discard)
			require.ErrorContains(t, err, tt.want)
		})
	}
}

// TestRunPrintsALineASecond runs the whole command for two seconds against a stand-in
// outagewatch (an empty board) and a stand-in OTLP receiver, with the primary failing after
// half a second: the board never says down, so every failed primary call is retried.
func TestRunPrintsALineASecond(t *testing.T) {
	t.Parallel()
	var spans atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/health", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"version":0,"generated_at":"2026-06-20T14:03:07Z","providers":[]}`)
	})
	mux.HandleFunc("POST /v1/traces", func(w http.ResponseWriter, r *http.Request) {
		spans.Add(1)
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/x-protobuf")
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	var out bytes.Buffer
	err := run(context.Background(), []string{
		"-outagewatch", srv.URL, "-otlp-endpoint", strings.TrimPrefix(srv.URL, "http://"),
		"-rate", "50", "-duration", "2500ms", "-fail-primary-after", "500ms", "-fail-primary-for", "1s", "-latency", "1ms",
	}, &out)
	require.NoError(t, err)
	text := out.String()
	require.Contains(t, text, "t=  1s requests=")
	require.Contains(t, text, "t=  2s requests=")
	require.Contains(t, text, "primary_health=unknown usable=true")
	require.Contains(t, text, "failed=0 probes=0\n", "the total line")
	require.NotContains(t, text, "retried=0 failed=0 probes=0\n", "the failing primary's calls were retried")
	require.Positive(t, spans.Load(), "spans were exported")
}

// TestDefaultRunFailsBack runs the command as a new user does, with every timing flag at its
// default, against the real daemon: the output must show the router failing over to the
// fallback during the primary's outage, and failing back to the primary once outagewatch says
// it is usable again, all before the run ends, with no user request failed.
func TestDefaultRunFailsBack(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: builds and runs the daemon for the example's default run")
	}
	w := startWatcher(t)
	c, err := parseConfig(nil, io.Discard)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), c.duration+30*time.Second)
	defer cancel()
	var out bytes.Buffer
	require.NoError(t, run(ctx, []string{"-outagewatch", w.apiURL, "-otlp-endpoint", w.otlpHTTP}, &out))
	text := out.String()
	t.Logf("output:\n%s", text)

	lines := reportLines(t, text)
	require.NotEmpty(t, lines)
	failover, failback := -1, -1
	for i, l := range lines {
		switch {
		case failover < 0 && !l.usable:
			failover = i
		case failover >= 0 && failback < 0 && l.usable:
			failback = i
		}
	}
	require.GreaterOrEqual(t, failover, 0, "the router never failed over: the primary was never unusable")
	require.Positive(t, lines[failover].fallback, "requests went to the fallback during the outage")
	require.GreaterOrEqual(t, failback, 0, "the run ended before the router failed back to the primary")
	primaryAfter := 0
	for _, l := range lines[failback:] {
		require.True(t, l.usable, "t=%ds: the primary became unusable again after the fail-back", l.second)
		primaryAfter += l.primary
	}
	require.Positive(t, primaryAfter, "requests went to the primary again after the fail-back")
	require.Contains(t, text, "failed=0 probes=", "the total line")
	require.Regexp(t, `(?m)^total: requests=\d+ primary=\d+ fallback=[1-9]\d* retried=\d+ failed=0 probes=[1-9]`, text)
}

// reportLine is one of the per-second lines run prints.
type reportLine struct {
	second, primary, fallback, failed int
	usable                            bool
}

var reportLineRE = regexp.MustCompile(`(?m)^t=\s*(\d+)s requests=\d+ primary=(\d+) fallback=(\d+) retried=\d+ failed=(\d+) probes=\d+ primary_health=\S+ usable=(true|false) `)

func reportLines(tb testing.TB, text string) []reportLine {
	tb.Helper()
	var out []reportLine
	for _, m := range reportLineRE.FindAllStringSubmatch(text, -1) {
		atoi := func(s string) int {
			n, err := strconv.Atoi(s)
			require.NoError(tb, err)
			return n
		}
		out = append(out, reportLine{second: atoi(m[1]), primary: atoi(m[2]), fallback: atoi(m[3]), failed: atoi(m[4]), usable: m[5] == "true"})
	}
	return out
}
