package main

import (
	"bytes"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestRun builds the watcher and runs every case at a small size against it: a few seconds of
// attack, 8 bombs, a slower storm. It asserts the report's shape and both targets: the peak RSS
// under the 512 MiB ceiling and at least 99% of the legitimate spans accepted. -short keeps two
// cases (a bomb and the storm) and halves the attack.
func TestRun(t *testing.T) {
	t.Parallel()
	cases, duration := strings.Join(allCases, ","), "3s"
	if testing.Short() {
		cases, duration = caseHTTPBombs+","+caseNameStorm, "1500ms"
	}
	var out bytes.Buffer
	err := run(t.Context(), []string{
		"-markdown", "-cases", cases, "-duration", duration,
		"-bombs", "8", "-deep-bodies", "2", "-storm-rate", "5000", "-legit-rate", "1000",
	}, &out)
	t.Log("\n" + out.String())
	require.NoError(t, err)

	rows := tableRows(out.String())
	names := strings.Split(cases, ",")
	require.Len(t, rows, 2+len(names), "header, rule and a row per case")
	require.Equal(t, header, rows[0])
	for i, name := range names {
		r := rows[2+i]
		require.Len(t, r, len(header), name)
		require.Equal(t, name, r[0])
		peak, ceiling := parseFloat(t, r[1]), parseFloat(t, r[2])
		require.Positive(t, peak, "%s peak RSS", name)
		require.Equal(t, 512.0, ceiling, name)
		require.Less(t, peak, ceiling, "%s peak RSS", name)
		require.Positive(t, parseFloat(t, r[3]), "%s attack requests", name)
		require.Positive(t, parseFloat(t, r[7]), "%s legit spans sent", name)
		require.GreaterOrEqual(t, parseFloat(t, strings.TrimSuffix(r[9], "%")), 99.0, "%s accepted share", name)
		require.GreaterOrEqual(t, parseFloat(t, r[10]), parseFloat(t, r[8]), "%s daemon counted the legit spans", name)
		require.Equal(t, []string{"PASS", "PASS"}, r[11:], name)
	}
}

func parseFloat(tb testing.TB, s string) float64 {
	tb.Helper()
	v, err := strconv.ParseFloat(strings.ReplaceAll(s, ",", ""), 64)
	require.NoError(tb, err, "%q", s)
	return v
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
