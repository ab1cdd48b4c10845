package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
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
		outagewatch: "http://127.0.0.1:9317", otlpEndpoint: "127.0.0.1:4318", rate: 20, duration: 60 * time.Second,
		failPrimaryAfter: 20 * time.Second, failPrimaryFor: 20 * time.Second, latency: 30 * time.Millisecond,
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
