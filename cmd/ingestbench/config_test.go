package main

import (
	"bytes"
	"flag"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestParseConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		want config
	}{
		{"defaults", nil, config{
			Protocols: []string{"grpc", "http"}, Sizes: []int{1, 16, 512},
			Duration: 5 * time.Second, Connections: 4, LLMFraction: 1,
		}},
		{"lists with spaces", []string{"-protocols", " http, grpc,", "-sizes", "512 ,8", "-duration", "1s"}, config{
			Protocols: []string{"http", "grpc"}, Sizes: []int{512, 8},
			Duration: time.Second, Connections: 4, LLMFraction: 1,
		}},
		{"prebuilt binaries", []string{"-watcher", "/bin/w", "-otlpload", "/bin/o", "-connections", "2", "-llm-fraction", "0.5"}, config{
			Protocols: []string{"grpc", "http"}, Sizes: []int{1, 16, 512},
			Duration: 5 * time.Second, Connections: 2, LLMFraction: 0.5, Watcher: "/bin/w", OTLPLoad: "/bin/o",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := parseConfig(tt.args, nil)
			require.NoError(t, err)
			require.Equal(t, tt.want, cfg)
		})
	}
}

func TestParseConfigErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"unknown protocol", []string{"-protocols", "grpc,udp"}, `-protocols: "udp"`},
		{"no protocol", []string{"-protocols", ","}, "-protocols: must not be empty"},
		{"zero size", []string{"-sizes", "16,0"}, `-sizes: "0"`},
		{"size not a number", []string{"-sizes", "x"}, `-sizes: "x"`},
		{"no size", []string{"-sizes", ""}, "-sizes: must not be empty"},
		{"zero duration", []string{"-duration", "0s"}, "-duration"},
		{"no connections", []string{"-connections", "0"}, "-connections"},
		{"fraction above one", []string{"-llm-fraction", "1.5"}, "-llm-fraction"},
		{"fraction NaN", []string{"-llm-fraction", "NaN"}, "-llm-fraction"},
		{"unknown flag", []string{"-size", "5"}, "parse flags"},
		{"positional argument", []string{"extra"}, "unexpected arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := parseConfig(tt.args, nil)
			require.ErrorContains(t, err, tt.wantErr)
		})
	}
}

func TestParseConfigHelp(t *testing.T) {
	t.Parallel()
	var usage bytes.Buffer
	_, err := parseConfig([]string{"-h"}, &usage)
	require.ErrorIs(t, err, flag.ErrHelp)
	require.Contains(t, usage.String(), "usage: ingestbench")
	require.Contains(t, usage.String(), "-protocols")
}

func TestCells(t *testing.T) {
	t.Parallel()
	cfg := config{Protocols: []string{"grpc", "http"}, Sizes: []int{1, 512}}
	require.Equal(t, []cell{{"grpc", 1}, {"grpc", 512}, {"http", 1}, {"http", 512}}, cfg.cells())
}
