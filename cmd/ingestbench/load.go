package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"strconv"
	"strings"

	"github.com/outagewatch/outagewatch/internal/watcherproc"
)

// loadReport holds the fields of otlpload's -json line that the table shows.
type loadReport struct {
	SpansPerSecond float64 `json:"spans_per_second"`
	// CPUPerMillionSpans is the daemon's; nil when no span was accepted.
	CPUPerMillionSpans *float64 `json:"cpu_seconds_per_million_spans"`
	RequestBytes       int      `json:"request_bytes"`
	RequestsRefused    int64    `json:"requests_refused"`
	RequestsFailed     int64    `json:"requests_failed"`
	LastError          string   `json:"last_error"`
}

// runLoad runs otlpload against w with the load of cfg and c and returns its report.
func runLoad(ctx context.Context, bin string, cfg config, c cell, w *watcherproc.Process) (loadReport, error) {
	endpoint := w.Addrs().OTLPGRPC
	if c.protocol == protocolHTTP {
		endpoint = "http://" + w.Addrs().OTLPHTTP + "/v1/traces"
	}
	args := []string{
		"-protocol", c.protocol,
		"-endpoint", endpoint,
		"-spans-per-request", strconv.Itoa(c.size),
		"-duration", cfg.Duration.String(),
		"-connections", strconv.Itoa(cfg.Connections),
		"-llm-fraction", strconv.FormatFloat(cfg.LLMFraction, 'g', -1, 64),
		"-pid", strconv.Itoa(w.PID()),
		"-json",
	}
	if cfg.Gzip && c.protocol == protocolHTTP {
		args = append(args, "-gzip")
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	// otlpload writes its report before exiting non-zero for a run in which no request
	// succeeded: such a run is still a row, with its refusals, failures and last error.
	var rep loadReport
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		if runErr != nil {
			err = runErr
		}
		return loadReport{}, fmt.Errorf("otlpload: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	return rep, nil
}
