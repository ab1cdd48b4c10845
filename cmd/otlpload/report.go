package main

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"
)

// report holds the figures of one run, printed as a table or one JSON line.
type report struct {
	Protocol        string  `json:"protocol"`
	Endpoint        string  `json:"endpoint"`
	SpansPerRequest int     `json:"spans_per_request"`
	LLMFraction     float64 `json:"llm_fraction"`
	Gzip            bool    `json:"gzip"`
	RequestBytes    int     `json:"request_bytes"` // mean body size on the wire
	Connections     int     `json:"connections"`
	DurationSeconds float64 `json:"duration_seconds"`
	RequestsOK      int64   `json:"requests_ok"`
	RequestsRefused int64   `json:"requests_refused"`
	RequestsFailed  int64   `json:"requests_failed"`
	SpansAccepted   int64   `json:"spans_accepted"`
	SpansRejected   int64   `json:"spans_rejected"`
	SpansPerSecond  float64 `json:"spans_per_second"`
	// The CPU fields are set only with -pid; CPUPerMillionSpans also needs
	// accepted spans.
	DaemonCPUSeconds   *float64 `json:"daemon_cpu_seconds,omitempty"`
	CPUPerMillionSpans *float64 `json:"cpu_seconds_per_million_spans,omitempty"`
	LastError          string   `json:"last_error,omitempty"` // last failure
}

func newReport(cfg config, res loadResult) report {
	r := report{
		Protocol:        cfg.Protocol,
		Endpoint:        cfg.Endpoint,
		SpansPerRequest: cfg.SpansPerRequest,
		LLMFraction:     cfg.LLMFraction,
		Gzip:            cfg.Gzip,
		RequestBytes:    res.meanBodyBytes,
		Connections:     cfg.Connections,
		DurationSeconds: res.elapsed.Seconds(),
		RequestsOK:      res.ok,
		RequestsRefused: res.refused,
		RequestsFailed:  res.failed,
		SpansAccepted:   res.accepted,
		SpansRejected:   res.rejected,
		LastError:       res.lastErr,
	}
	if s := res.elapsed.Seconds(); s > 0 {
		r.SpansPerSecond = float64(res.accepted) / s
	}
	return r
}

// setCPU records the daemon CPU time used during the run.
func (r *report) setCPU(used time.Duration) {
	s := used.Seconds()
	r.DaemonCPUSeconds = &s
	if r.SpansAccepted > 0 {
		perM := s / (float64(r.SpansAccepted) / 1e6)
		r.CPUPerMillionSpans = &perM
	}
}

// write prints r as one JSON line or as an aligned table.
func (r report) write(w io.Writer, asJSON bool) error {
	if asJSON {
		return json.NewEncoder(w).Encode(r)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(k, format string, args ...any) { fmt.Fprintf(tw, "%s\t"+format+"\n", append([]any{k}, args...)...) }
	row("protocol", "%s (%s)", r.Protocol, r.Endpoint)
	row("spans/request", "%d (llm fraction %.2f, %d bytes%s)", r.SpansPerRequest, r.LLMFraction, r.RequestBytes, gzipNote(r.Gzip))
	row("connections", "%d", r.Connections)
	row("duration", "%.2fs", r.DurationSeconds)
	row("requests", "ok %d, refused %d, failed %d", r.RequestsOK, r.RequestsRefused, r.RequestsFailed)
	row("spans accepted", "%d (rejected %d)", r.SpansAccepted, r.SpansRejected)
	row("spans/s", "%.0f", r.SpansPerSecond)
	if r.DaemonCPUSeconds != nil {
		row("daemon cpu", "%.2fs", *r.DaemonCPUSeconds)
	}
	if r.CPUPerMillionSpans != nil {
		row("cpu-s/M spans", "%.3f", *r.CPUPerMillionSpans)
	}
	if r.LastError != "" {
		row("last error", "%s", r.LastError)
	}
	return tw.Flush()
}

func gzipNote(gzipped bool) string {
	if gzipped {
		return ", gzip"
	}
	return ""
}
