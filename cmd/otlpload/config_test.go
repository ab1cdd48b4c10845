package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestParseConfigDefaults(t *testing.T) {
	t.Parallel()
	cfg, err := parseConfig(nil)
	require.NoError(t, err)
	require.Equal(t, config{
		Protocol: protocolGRPC, Endpoint: defaultGRPCEndpoint, SpansPerRequest: 512, LLMFraction: 1,
		Connections: 4, Duration: 10 * time.Second, Requests: 64, Seed: 1,
	}, cfg)

	cfg, err = parseConfig([]string{"-protocol", "http"})
	require.NoError(t, err)
	require.Equal(t, defaultHTTPEndpoint, cfg.Endpoint)
}

func TestParseConfigErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"unknown protocol", []string{"-protocol", "udp"}, "-protocol"},
		{"gzip over grpc", []string{"-gzip"}, "-gzip"},
		{"http endpoint without scheme", []string{"-protocol", "http", "-endpoint", "localhost:4318"}, "-endpoint"},
		{"zero spans per request", []string{"-spans-per-request", "0"}, "-spans-per-request"},
		{"fraction above one", []string{"-llm-fraction", "1.5"}, "-llm-fraction"},
		{"fraction NaN", []string{"-llm-fraction", "NaN"}, "-llm-fraction"},
		{"no connections", []string{"-connections", "0"}, "-connections"},
		{"zero duration", []string{"-duration", "0s"}, "-duration"},
		{"no requests", []string{"-requests", "0"}, "-requests"},
		{"negative pid", []string{"-pid", "-1"}, "-pid"},
		{"unknown flag", []string{"-rate", "5"}, "parse flags"},
		{"positional argument", []string{"extra"}, "unexpected arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := parseConfig(tt.args)
			require.ErrorContains(t, err, tt.wantErr)
		})
	}
}
