package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// small is a tiny bench: one rate, two runs per cell, one scenario run, one day of noise.
var small = []string{"-rates", "1", "-runs", "2", "-scenario-runs", "1", "-days", "1", "-warmup", "1h"}

func runBench(t *testing.T, args ...string) string {
	t.Helper()
	var out bytes.Buffer
	require.NoError(t, run(t.Context(), args, &out))
	return out.String()
}

// table returns the output without its last line (the elapsed time).
func table(out string) string {
	out = strings.TrimRight(out, "\n")
	return out[:strings.LastIndex(out, "\n")]
}

func TestRunTable(t *testing.T) {
	t.Parallel()
	out := runBench(t, append(small, "-engine=false")...)
	lines := strings.Split(out, "\n")
	require.Equal(t, []string{"scenario", "λ/s", "p0", "p1", "envoy", "hystrix", "litellm", "litellm-al", "burnrate", "optimum", "bound", "eng/opt"},
		strings.Fields(lines[0]))
	count := func(prefix string) int {
		n := 0
		for _, l := range lines {
			if strings.HasPrefix(l, prefix) {
				n++
			}
		}
		return n
	}
	require.Equal(t, 6, count("step "), "2 p0 × 3 p1 at one rate")
	require.Equal(t, 2, count("false alarms/30d "))
	require.Equal(t, len(scenarioDefs), count("truncation")+count("latency")+count("TTFT")+count("429")+
		count("silence")+count("recovery")+count("flapping"))
	require.Contains(t, out, "step              1    1%  100%")
	require.Contains(t, out, "28.9", "Table A's optimum for p0=1%, p1=20%, λ=1")
	require.Contains(t, out, "elapsed")
}

func TestRunDeterministicAndParallel(t *testing.T) {
	t.Parallel()
	a := runBench(t, append(small, "-engine=false")...)
	b := runBench(t, append(small, "-engine=false", "-parallel")...)
	require.Equal(t, table(a), table(b), "-parallel changes nothing but the time")
	c := runBench(t, append(small, "-engine=false", "-seed", "2")...)
	require.NotEqual(t, table(a), table(c))
}

func TestRunMarkdown(t *testing.T) {
	t.Parallel()
	out := runBench(t, "-rates", "10", "-runs", "1", "-sections", "delay", "-markdown", "-engine=false")
	lines := strings.Split(out, "\n")
	require.True(t, strings.HasPrefix(lines[0], "| scenario | λ/s |"))
	require.Equal(t, "|"+strings.Repeat("---|", 12), lines[1])
	require.True(t, strings.HasPrefix(lines[2], "| step | 10 | 1% | 20% |"))
	require.Contains(t, out, "\n- optimum: Table A of docs/bench.md; bound: its closed-form delay bound")
}

func TestRunWithEngine(t *testing.T) {
	t.Parallel()
	out := runBench(t, "-rates", "10", "-runs", "1", "-sections", "delay", "-warmup", "1h")
	require.Contains(t, strings.Fields(strings.SplitN(out, "\n", 2)[0]), engineName)
}

func TestRunFlags(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"-runs", "0"},
		{"-rates", "1,x"},
		{"-rates", "-1"},
		{"-sections", "delay,nope"},
		{"-storm-every", "1"},
		{"-cap", "0s"},
		{"extra"},
		{"-nope"},
	} {
		var out bytes.Buffer
		require.Error(t, run(t.Context(), args, &out), "%q", args)
	}
	var out bytes.Buffer
	require.NoError(t, run(t.Context(), []string{"-h"}, &out))
	require.Contains(t, out.String(), "-quick")
}

func TestQuickPlan(t *testing.T) {
	t.Parallel()
	p, _, err := parseFlags([]string{"-quick"}, &bytes.Buffer{})
	require.NoError(t, err)
	require.Equal(t, []float64{0.1, 1, 10}, p.rates)
	require.Equal(t, 10, p.runs)
	require.Equal(t, 5, p.runsFor(0.1))
	require.Equal(t, 7, p.days)
	p, _, err = parseFlags([]string{"-quick", "-days", "30", "-parallel"}, &bytes.Buffer{})
	require.NoError(t, err)
	require.Equal(t, 30, p.days)
	require.GreaterOrEqual(t, p.workers, 1)
	p, _, err = parseFlags([]string{"-sections", "scenarios"}, &bytes.Buffer{})
	require.NoError(t, err)
	require.Zero(t, p.days)
	require.False(t, p.delays)
	require.True(t, p.scenarios)
}
