package main

import (
	"bytes"
	"errors"
	"flag"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestParseConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		args    []string
		wantErr string
		check   func(t *testing.T, c config)
	}{
		{name: "defaults", check: func(t *testing.T, c config) {
			require.Equal(t, allCases, c.Cases)
			require.Equal(t, 20*time.Second, c.Duration)
			require.Equal(t, int64(512<<20), c.MemoryLimit)
			require.Equal(t, 64, c.Bombs)
			require.Equal(t, 16<<20, c.BombBytes)
			require.Equal(t, 300_000, c.DeepLevels)
			require.Equal(t, 30*time.Second, c.RetryFor)
			require.InDelta(t, 0.99, c.MinAccepted, 1e-9)
		}},
		{name: "cases trimmed", args: []string{"-cases", " deep-json, ,name-storm"}, check: func(t *testing.T, c config) {
			require.Equal(t, []string{caseDeepJSON, caseNameStorm}, c.Cases)
		}},
		{name: "unknown case", args: []string{"-cases", "bombs"}, wantErr: `-cases: unknown case "bombs"`},
		{name: "no case", args: []string{"-cases", ","}, wantErr: "-cases: must not be empty"},
		{name: "zero duration", args: []string{"-duration", "0s"}, wantErr: "-duration: out of range"},
		{name: "tiny ceiling", args: []string{"-memory-limit-mib", "32"}, wantErr: "-memory-limit-mib: out of range"},
		{name: "share above 1", args: []string{"-min-accepted", "1.5"}, wantErr: "-min-accepted: must be between 0 and 1"},
		{name: "extra argument", args: []string{"now"}, wantErr: "unexpected arguments"},
		{name: "bad flag", args: []string{"-bombz", "3"}, wantErr: "parse flags"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := parseConfig(tt.args, nil)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			tt.check(t, c)
		})
	}
}

func TestParseConfigHelp(t *testing.T) {
	t.Parallel()
	var usage bytes.Buffer
	_, err := parseConfig([]string{"-h"}, &usage)
	require.True(t, errors.Is(err, flag.ErrHelp))
	require.Contains(t, usage.String(), "-memory-limit-mib")
}
