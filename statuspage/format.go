package statuspage

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/outagewatch/outagewatch/detectors"
	"github.com/outagewatch/outagewatch/health"
	"github.com/outagewatch/outagewatch/incidents"
)

// The words of the page. static/live.js formats the same way for live updates; a test keeps
// the two in step.

// evidence is the part of a detector's evidence that the page shows, from either the board
// (detectors.Evidence) or the incident store (incidents.Evidence).
type evidence struct {
	Detector    string
	Observed    float64
	Baseline    float64
	Window      time.Duration
	SampleSize  int
	Events      int
	Classes     []classCount // most frequent first
	SampleError string
	Callers     []detectors.CallerShare // most events first
	ConfinedTo  string
}

type classCount struct {
	Class string
	Count int
}

func evidenceOf(ev detectors.Evidence) evidence {
	e := evidence{
		Detector: string(ev.Detector), Observed: ev.Observed, Baseline: ev.Baseline, Window: ev.Window,
		SampleSize: ev.SampleSize, Events: ev.Events, SampleError: ev.SampleError, Callers: ev.Callers, ConfinedTo: ev.ConfinedTo.String(),
	}
	for _, c := range ev.Classes {
		e.Classes = append(e.Classes, classCount{Class: c.Class.String(), Count: c.Count})
	}
	return e
}

func storedEvidenceOf(ev incidents.Evidence) evidence {
	e := evidence{
		Detector: ev.Detector, Observed: ev.Observed, Baseline: ev.Baseline,
		Window:     time.Duration(ev.Window * float64(time.Second)),
		SampleSize: ev.SampleSize, Events: ev.Events, SampleError: ev.SampleError,
	}
	for class, n := range ev.Classes {
		e.Classes = append(e.Classes, classCount{Class: class, Count: n})
	}
	slices.SortFunc(e.Classes, func(a, b classCount) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Class, b.Class))
	})
	return e
}

// detectorLabels name the detectors that measure a rate, in words.
var detectorLabels = map[string]string{
	string(detectors.DetectorErrorRate):  "errors",
	string(detectors.DetectorErrorMid):   "errors (partial outage)",
	string(detectors.DetectorErrorDown):  "errors (hard outage)",
	string(detectors.DetectorTruncation): "truncated responses",
	string(detectors.DetectorRateLimit):  "rate limited (429)",
	string(detectors.DetectorTTFT):       "slow first token",
	string(detectors.DetectorLatency):    "slow responses",
}

// detectorSentences explain the detectors that measure no rate.
var detectorSentences = map[string]string{
	string(detectors.DetectorWarmup):   "judged from its first calls",
	string(detectors.DetectorSilence):  "no calls for longer than its traffic explains",
	string(detectors.DetectorRecovery): "the alarm cleared after its hold-down",
	string(detectors.DetectorRollup):   "follows its models",
}

// maxSampleError bounds the quoted error message of a reason line, in characters.
const maxSampleError = 160

// reasonOf says why a series is in its state: the health API's text for the detectors that
// measure no rate (true of the state: "no calls yet" for a new unknown series, "calls again
// after a time without" for one whose traffic came back), the figures' line for the others.
func reasonOf(s detectors.Status) string {
	if _, sentence := detectorSentences[string(s.Evidence.Detector)]; sentence {
		return health.ReasonText(s.Evidence, s.State)
	}
	return reasonLine(evidenceOf(s.Evidence))
}

// reasonLine says in one line why a series is in its state, e.g.
// errors (hard outage): 93% against a usual 1.2% (38 of 41 calls in 7s); overloaded 35, timeout 3; "Error code: 529".
func reasonLine(e evidence) string {
	if e.Detector == "" {
		return "no change recorded yet"
	}
	if s, ok := detectorSentences[e.Detector]; ok {
		return s
	}
	label, ok := detectorLabels[e.Detector]
	if !ok {
		label = e.Detector
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s against a usual %s (%d of %d calls in %s)", label,
		formatPercent(e.Observed), formatPercent(e.Baseline), e.Events, e.SampleSize, formatDuration(e.Window))
	for i, c := range e.Classes {
		sep := ", "
		if i == 0 {
			sep = "; "
		}
		fmt.Fprintf(&b, "%s%s %d", sep, c.Class, c.Count)
	}
	for i, c := range e.Callers {
		sep := ", "
		if i == 0 {
			sep = "; by caller: "
		}
		fmt.Fprintf(&b, "%s%s %d of %d", sep, c.Caller, c.K, c.N)
	}
	if e.ConfinedTo != "" {
		fmt.Fprintf(&b, " (only %s fails: likely its own network, key or deploy)", e.ConfinedTo)
	}
	if msg := oneLine(e.SampleError, maxSampleError); msg != "" {
		b.WriteString("; “" + msg + "”")
	}
	return b.String()
}

// oneLine collapses whitespace (newlines included) and cuts s to at most n characters.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

func formatPercent(v float64) string {
	p := v * 100
	switch {
	case p == 0:
		return "0%"
	case p < 10:
		return strconv.FormatFloat(p, 'f', 1, 64) + "%"
	}
	return strconv.FormatFloat(p, 'f', 0, 64) + "%"
}

func formatRate(v float64) string {
	if v < 10 {
		return strconv.FormatFloat(v, 'f', 1, 64) + "/s"
	}
	return strconv.FormatFloat(v, 'f', 0, 64) + "/s"
}

func formatSeconds(v float64) string {
	if v < 1 {
		return strconv.FormatFloat(v*1000, 'f', 0, 64) + " ms"
	}
	return strconv.FormatFloat(v, 'f', 1, 64) + " s"
}

// formatDuration is a short duration: 7s, 2m 5s, 1h 5m, 3d 2h.
func formatDuration(d time.Duration) string {
	s := int64(d.Round(time.Second) / time.Second)
	switch {
	case s < 1:
		return "<1s"
	case s < 60:
		return fmt.Sprintf("%ds", s)
	case s < 3600:
		return fmt.Sprintf("%dm %ds", s/60, s%60)
	case s < 48*3600:
		return fmt.Sprintf("%dh %dm", s/3600, s%3600/60)
	}
	return fmt.Sprintf("%dd %dh", s/86400, s%86400/3600)
}

// formatAgo says how long ago t was, coarsely: just now, 40s ago, 12m ago, 3h 5m ago, 4d ago.
func formatAgo(t, now time.Time) string {
	d := now.Sub(t)
	switch {
	case d < 5*time.Second:
		return "just now"
	case d < time.Minute:
		return fmt.Sprintf("%ds ago", int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh %dm ago", int(d/time.Hour), int(d%time.Hour/time.Minute))
	}
	return fmt.Sprintf("%dd ago", int(d/(24*time.Hour)))
}

// formatClock is a time in UTC, with the date when it is not now's day: 14:02:51 UTC,
// 19 Jun 14:02 UTC, 19 Jun 2025 14:02 UTC.
func formatClock(t, now time.Time) string {
	t, now = t.UTC(), now.UTC()
	switch {
	case t.YearDay() == now.YearDay() && t.Year() == now.Year():
		return t.Format("15:04:05 UTC")
	case t.Year() == now.Year():
		return t.Format("2 Jan 15:04 UTC")
	}
	return t.Format("2 Jan 2006 15:04 UTC")
}

// isoTime is t for a datetime attribute.
func isoTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// baselineLine says where a series' baselines come from, and on how much of its own evidence.
func baselineLine(b detectors.BaselineSource) string {
	switch b.From {
	case detectors.BaselineOwn:
		return "baseline: its own, from " + thousands(b.Calls) + " calls"
	case detectors.BaselineProvider:
		return "baseline: its provider’s, while it is new (" + thousands(b.Calls) + " calls of its own)"
	case detectors.BaselineGlobal:
		return "baseline: global priors, while it is new (" + thousands(b.Calls) + " calls of its own)"
	}
	return ""
}

// thousands writes n with a comma between groups of three digits.
func thousands(n uint64) string {
	s := strconv.FormatUint(n, 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
