package statuspage

import (
	"math"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/outagewatch/outagewatch/detectors"
	"github.com/outagewatch/outagewatch/incidents"
)

func TestReasonLine(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		ev   evidence
		want string
	}{
		"none":     {evidence{}, "no change recorded yet"},
		"warm-up":  {evidence{Detector: "warmup"}, "judged from its first calls"},
		"recovery": {evidence{Detector: "recovery", Observed: 0.01}, "the alarm cleared after its hold-down"},
		"outage": {evidence{Detector: "error_rate_down", Observed: 0.93, Baseline: 0.012, Window: 7100 * time.Millisecond,
			SampleSize: 41, Events: 38, Classes: []classCount{{"overloaded", 35}, {"timeout", 3}}, SampleError: "Error code: 529\n  overloaded"},
			"errors (hard outage): 93% against a usual 1.2% (38 of 41 calls in 7s); overloaded 35, timeout 3; “Error code: 529 overloaded”"},
		"truncation": {evidence{Detector: "truncation", Observed: 0.25, Baseline: 0.001, Window: 150 * time.Second, SampleSize: 80, Events: 20},
			"truncated responses: 25% against a usual 0.1% (20 of 80 calls in 2m 30s)"},
		"one caller failing": {evidence{Detector: "error_rate", Observed: 0.37, Baseline: 0.013, Window: 900 * time.Millisecond, SampleSize: 19, Events: 7,
			Classes: []classCount{{"timeout", 7}}, Callers: []detectors.CallerShare{{Caller: "batch-jobs", N: 7, K: 7}, {Caller: "checkout", N: 6}, {Caller: "search", N: 6}}, ConfinedTo: "batch-jobs"},
			"errors: 37% against a usual 1.3% (7 of 19 calls in 1s); timeout 7; by caller: batch-jobs 7 of 7, checkout 0 of 6, search 0 of 6 (only batch-jobs fails: likely its own network, key or deploy)"},
		"unknown detector": {evidence{Detector: "future_detector", Observed: 0.5}, "future_detector: 50% against a usual 0% (0 of 0 calls in <1s)"},
		"long error": {evidence{Detector: "rate_limit", SampleError: strings.Repeat("é", 300)},
			"rate limited (429): 0% against a usual 0% (0 of 0 calls in <1s); “" + strings.Repeat("é", 159) + "…”"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, reasonLine(tc.ev))
		})
	}
}

func TestStoredEvidenceSortsClasses(t *testing.T) {
	t.Parallel()
	e := storedEvidenceOf(incidents.Evidence{Detector: "error_rate", Window: 2.5, Classes: map[string]int{"timeout": 3, "overloaded": 35, "server": 3}})
	require.Equal(t, []classCount{{"overloaded", 35}, {"server", 3}, {"timeout", 3}}, e.Classes)
	require.Equal(t, 2500*time.Millisecond, e.Window)
	d := evidenceOf(detectors.Evidence{Detector: detectors.DetectorTTFT, Classes: []detectors.ClassCount{{Class: detectors.ClassTimeout, Count: 2}}})
	require.Equal(t, evidence{Detector: "ttft", Classes: []classCount{{"timeout", 2}}}, d)
}

func TestFormats(t *testing.T) {
	t.Parallel()
	require.Equal(t, []string{"0%", "0.5%", "9.9%", "10%", "93%", "100%"},
		[]string{formatPercent(0), formatPercent(0.005), formatPercent(0.099), formatPercent(0.1), formatPercent(0.93), formatPercent(1)})
	require.Equal(t, []string{"0.0/s", "6.1/s", "120/s"}, []string{formatRate(0), formatRate(6.1), formatRate(120.4)})
	require.Equal(t, []string{"0 ms", "450 ms", "2.4 s"}, []string{formatSeconds(0), formatSeconds(0.45), formatSeconds(2.4)})
	require.Equal(t, []string{"<1s", "7s", "2m 5s", "1h 5m", "47h 0m", "3d 2h"}, []string{
		formatDuration(200 * time.Millisecond), formatDuration(7 * time.Second), formatDuration(125 * time.Second),
		formatDuration(65 * time.Minute), formatDuration(47 * time.Hour), formatDuration(74 * time.Hour),
	})
	require.Equal(t, []string{"just now", "just now", "40s ago", "12m ago", "3h 5m ago", "4d ago"}, []string{
		formatAgo(now.Add(time.Minute), now), formatAgo(now.Add(-4*time.Second), now), formatAgo(now.Add(-40*time.Second), now),
		formatAgo(now.Add(-12*time.Minute), now), formatAgo(now.Add(-185*time.Minute), now), formatAgo(now.Add(-100*time.Hour), now),
	})
	paris := time.FixedZone("CEST", 2*3600)
	require.Equal(t, "14:02:51 UTC", formatClock(downAt.In(paris), now))
	require.Equal(t, "19 Jun 23:59 UTC", formatClock(time.Date(2026, 6, 19, 23, 59, 0, 0, time.UTC), now))
	require.Equal(t, "31 Dec 2025 23:59 UTC", formatClock(time.Date(2025, 12, 31, 23, 59, 0, 0, time.UTC), now))
}

// live.js formats live updates itself; it must use the server's words.
func TestLiveScriptSpeaksLikeTheServer(t *testing.T) {
	t.Parallel()
	js, err := os.ReadFile("static/live.js")
	require.NoError(t, err)
	for detector, label := range detectorLabels {
		require.Contains(t, string(js), detector+`: "`+label+`"`)
	}
	for detector, sentence := range detectorSentences {
		require.Contains(t, string(js), detector+`: "`+sentence+`"`)
	}
	for _, phrase := range []string{`" against a usual "`, `" calls in "`, `"no change recorded yet"`, `"just now"`, `" UTC"`, `"; “"`} {
		require.Contains(t, string(js), phrase)
	}
	require.Contains(t, string(js), "MAX_SAMPLE_ERROR = "+strconv.Itoa(maxSampleError)+";")
	require.NotContains(t, string(js), "innerHTML", "data is written as text")
	require.NotContains(t, string(js), "insertAdjacentHTML")
	require.NotContains(t, string(js), "eval(")
}

// Every pair of text colour and background meets WCAG AA (4.5:1), in the light and dark
// schemes; chart lines and borders meet the 3:1 of non-text contrast.
func TestColoursMeetWCAGAA(t *testing.T) {
	t.Parallel()
	css, err := os.ReadFile("static/style.css")
	require.NoError(t, err)
	light, dark, ok := strings.Cut(string(css), "@media (prefers-color-scheme: dark)")
	require.True(t, ok)
	text := [][2]string{
		{"page-fg", "page-bg"}, {"page-fg", "card-bg"}, {"muted-fg", "page-bg"}, {"muted-fg", "card-bg"},
		{"link-fg", "page-bg"}, {"link-fg", "card-bg"}, {"healthy-fg", "healthy-bg"}, {"degraded-fg", "degraded-bg"},
		{"down-fg", "down-bg"}, {"unknown-fg", "unknown-bg"}, {"note-fg", "note-bg"},
	}
	graphics := [][2]string{
		{"chart-fg", "card-bg"}, {"chart-fg", "page-bg"}, {"healthy-fg", "card-bg"}, {"degraded-fg", "card-bg"}, {"down-line", "card-bg"},
	}
	for scheme, block := range map[string]string{"light": light, "dark": dark} {
		colours := customColours(t, block)
		for _, pair := range text {
			r := contrast(t, colours[pair[0]], colours[pair[1]])
			require.GreaterOrEqual(t, r, 4.5, "%s: %s on %s is %.2f:1", scheme, pair[0], pair[1], r)
		}
		for _, pair := range graphics {
			r := contrast(t, colours[pair[0]], colours[pair[1]])
			require.GreaterOrEqual(t, r, 3.0, "%s: %s on %s is %.2f:1", scheme, pair[0], pair[1], r)
		}
	}
}

func customColours(tb testing.TB, css string) map[string]string {
	tb.Helper()
	out := map[string]string{}
	for _, m := range regexp.MustCompile(`--([a-z-]+):\s*(#[0-9a-fA-F]{6});`).FindAllStringSubmatch(css, -1) {
		out[m[1]] = m[2]
	}
	require.NotEmpty(tb, out)
	return out
}

// contrast is the WCAG 2 contrast ratio of two #rrggbb colours.
func contrast(tb testing.TB, a, b string) float64 {
	tb.Helper()
	la, lb := luminance(tb, a), luminance(tb, b)
	return (max(la, lb) + 0.05) / (min(la, lb) + 0.05)
}

func luminance(tb testing.TB, hex string) float64 {
	tb.Helper()
	require.Len(tb, hex, 7, "colour %q", hex)
	var rgb [3]float64
	for i := range rgb {
		v, err := strconv.ParseUint(hex[1+2*i:3+2*i], 16, 8)
		require.NoError(tb, err)
		c := float64(v) / 255
		if c <= 0.04045 {
			rgb[i] = c / 12.92
		} else {
			rgb[i] = math.Pow((c+0.055)/1.055, 2.4)
		}
	}
	return 0.2126*rgb[0] + 0.7152*rgb[1] + 0.0722*rgb[2]
}
