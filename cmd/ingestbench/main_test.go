package main

import (
	"bytes"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestRun builds the watcher and otlpload and measures one cell. It asserts only the table's
// shape and that both paths accepted spans without failures, never speed, so that a loaded
// machine cannot make it flaky.
func TestRun(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	require.NoError(t, run(t.Context(), []string{"-duration", "1s", "-sizes", "16", "-protocols", "grpc"}, &out))
	t.Log("\n" + out.String())

	rows := tableRows(out.String())
	require.Len(t, rows, 4, "header, rule, pdata, fast")
	require.Len(t, rows[0], len(header))
	for i, path := range []string{"pdata", "fast"} {
		r := rows[2+i]
		require.Equal(t, []string{"grpc", "16", path}, r[:3])
		spansPerSecond, err := strconv.ParseFloat(r[3], 64)
		require.NoError(t, err)
		require.Positive(t, spansPerSecond, "%s spans/s", path)
		require.Equal(t, "0", r[7], "%s failed requests", path)
		rss, err := strconv.ParseFloat(r[8], 64)
		require.NoError(t, err)
		require.Positive(t, rss, "%s peak RSS", path)
	}
	require.True(t, strings.HasSuffix(rows[3][9], "x"), "fast row has the spans/s ratio: %q", rows[3][9])
	// Not asserted as a number: on a starved machine a path may use under one clock tick of CPU.
	require.NotEmpty(t, rows[3][10], "fast row has the CPU ratio")
}

// tableRows returns the cells of the Markdown table lines of out.
func tableRows(out string) [][]string {
	var rows [][]string
	for line := range strings.Lines(out) {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "|") {
			continue
		}
		var cells []string
		for c := range strings.SplitSeq(strings.Trim(line, "|"), "|") {
			cells = append(cells, strings.TrimSpace(c))
		}
		rows = append(rows, cells)
	}
	return rows
}
