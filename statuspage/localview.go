package statuspage

import (
	"time"

	"github.com/outagewatch/outagewatch/detectors"
)

// Local verdicts on the page (issue 18): under a series, each caller that fails on its own while
// the series' other callers are at their baseline, as its own entry, e.g. "service batch-jobs:
// down since 14:07:40 UTC — 95% timeout errors; the model is usable for its other callers".
// static/live.js writes the same entries from the stream's "local" events and the snapshots'
// "local" arrays.

// localEntry is one local verdict of a series.
type localEntry struct {
	Caller string // "service:batch-jobs": the key live.js finds the entry by
	Label  string // "service batch-jobs"
	State  string
	Since  timeText
	Line   string
}

// localEntries lists s's local verdicts; eff is s's effective state, which says whether the
// series is usable for its other callers.
func localEntries(s detectors.Status, eff detectors.State, now time.Time) []localEntry {
	var out []localEntry
	for _, l := range s.Local {
		c := l.Series.Caller
		out = append(out, localEntry{
			Caller: c.String(), Label: string(c.Kind) + " " + c.Name, State: l.State.String(),
			Since: timeTextOf(l.Since, now), Line: localLine(evidenceOf(l.Evidence), s.Series.Model == "", eff),
		})
	}
	return out
}

// localLine says what fails for the caller, in a few words, and whether the series is still
// usable for its other callers: "95% timeout errors; the model is usable for its other callers".
func localLine(e evidence, provider bool, eff detectors.State) string {
	line := localFigure(e)
	whose := "model"
	if provider {
		whose = "provider"
	}
	if eff != detectors.StateDown {
		line += "; the " + whose + " is usable for its other callers"
	}
	return line
}

// localFigure is what fails, in a few words: "95% timeout errors", "40% truncated responses".
func localFigure(e evidence) string {
	switch e.Detector {
	case string(detectors.DetectorErrorRate), string(detectors.DetectorErrorMid), string(detectors.DetectorErrorDown):
		if len(e.Classes) > 0 {
			return formatPercent(e.Observed) + " " + e.Classes[0].Class + " errors"
		}
		return formatPercent(e.Observed) + " errors"
	case "":
		return "failures"
	}
	if label, ok := detectorLabels[e.Detector]; ok {
		return formatPercent(e.Observed) + " " + label
	}
	return e.Detector
}
