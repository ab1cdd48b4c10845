package statuspage

import (
	"strconv"
	"time"
)

// The traffic part of the page: is anything arriving, so that "no traffic" never looks like
// "healthy".

// ingestView is the traffic part: the overall line and one per provider.
type ingestView struct {
	Shown bool // a FreshnessSource is configured
	// Line is "last span 12s ago · 4.2 calls/s" (or that nothing has arrived yet).
	Line     string
	LastSpan timeText
	// Warning is set when nothing has arrived for longer than the silence timeout.
	Warning   string
	Providers []providerArrivals
}

// providerArrivals is one provider's line: "last call 3s ago · 1.5 calls/s".
type providerArrivals struct {
	Provider string
	Line     string
	LastCall timeText
	// Quiet is set when the provider has had no call for longer than the silence timeout.
	Quiet bool
}

// buildIngest reads the freshness source into the traffic part.
func (p *Page) buildIngest(now time.Time) ingestView {
	if p.opts.Freshness == nil {
		return ingestView{}
	}
	f := p.opts.Freshness.Freshness(now)
	silence := p.opts.SilenceAfter
	v := ingestView{Shown: true, LastSpan: timeTextOf(f.LastSpan, now)}
	rate := formatCallRate(f.CallsPerSecond)
	switch {
	case f.LastSpan.IsZero():
		v.Line = "no span received yet · " + rate
		if up := now.Sub(f.Start); !f.Start.IsZero() && up > silence {
			v.Warning = "No traffic for " + formatDuration(up) + ": nothing has arrived since outagewatch started. " +
				"Point an OpenTelemetry exporter at it; until then no state below says anything about the providers."
		}
	default:
		quiet := max(now.Sub(f.LastSpan), 0)
		v.Line = "last span " + formatDuration(quiet) + " ago · " + rate
		if quiet > silence {
			v.Warning = "No traffic for " + formatDuration(quiet) + ": nothing has arrived since " + formatClock(f.LastSpan, now) +
				", longer than the detectors' silence timeout (" + formatDuration(silence) + "). " +
				"The states below describe the last traffic seen, not the providers now."
		}
	}
	for _, pf := range f.Providers {
		pa := providerArrivals{Provider: pf.Provider, LastCall: timeTextOf(pf.LastCall, now)}
		quiet := max(now.Sub(pf.LastCall), 0)
		pa.Quiet = quiet > silence
		if pa.Quiet {
			pa.Line = "no calls for " + formatDuration(quiet) + " · " + formatCallRate(pf.CallsPerSecond)
		} else {
			pa.Line = "last call " + formatDuration(quiet) + " ago · " + formatCallRate(pf.CallsPerSecond)
		}
		v.Providers = append(v.Providers, pa)
	}
	return v
}

// formatCallRate is calls per second: 0 calls/s, 0.017 calls/s, 4.2 calls/s, 310 calls/s.
func formatCallRate(v float64) string {
	var s string
	switch {
	case v <= 0:
		s = "0"
	case v < 0.1:
		s = strconv.FormatFloat(v, 'f', 3, 64)
	case v < 10:
		s = strconv.FormatFloat(v, 'f', 1, 64)
	default:
		s = strconv.FormatFloat(v, 'f', 0, 64)
	}
	return s + " calls/s"
}
