// Command hostilebench checks that the watcher stays bounded under attack (issue 20). For each
// case it starts a fresh watcher with a memory ceiling, runs one attack for a fixed time side by
// side with legitimate OTLP traffic, and reports the watcher's peak RSS against the ceiling, the
// requests refused (as the attacker, the legitimate exporters and the daemon's metrics count
// them) and the share of legitimate spans accepted once the exporters have retried:
//
//   - http-bombs: concurrent OTLP/HTTP gzip bodies of 16 KB inflating to 16 MiB of zeros;
//   - grpc-bombs: the same as gzip-compressed OTLP/gRPC messages;
//   - deep-json: OTLP/JSON bodies with one attribute nested 300,000 deep;
//   - name-storm: GenAI spans with ever-new provider, host and model names.
//
// The legitimate exporters behave as the OpenTelemetry SDK's do: they retry HTTP 429, 502, 503
// and 504 after Retry-After, and gRPC UNAVAILABLE, and RESOURCE_EXHAUSTED when it carries
// RetryInfo, after its delay, with exponential backoff otherwise, for at most -retry-for.
//
// A case passes when the peak RSS stays under the ceiling and at least -min-accepted of the
// legitimate spans were accepted; the command exits non-zero when one fails. It builds
// cmd/watcher itself, so run it from inside the module:
//
//	go run ./cmd/hostilebench -markdown
//	go run ./cmd/hostilebench -cases http-bombs,deep-json -duration 5s -bombs 8
//
// Attacker, exporters and daemon share the machine: on a small one the attack also competes
// with the daemon for CPU, which is part of what is measured.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// errTargetMissed is returned by run when a case misses a target; the report says which.
var errTargetMissed = errors.New("a target was missed")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "hostilebench:", err)
		os.Exit(1)
	}
}

// run parses args, builds the watcher unless given one, runs every case and writes the report
// to stdout. It returns errTargetMissed when a case fails a target.
func run(ctx context.Context, args []string, stdout io.Writer) error {
	cfg, err := parseConfig(args, stdout)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "hostilebench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin, err := buildWatcher(ctx, cfg.Watcher, dir)
	if err != nil {
		return err
	}
	var results []result
	for _, c := range cfg.Cases {
		res, err := runCase(ctx, cfg, c, bin, dir)
		if err != nil {
			return fmt.Errorf("%s: %w", c, err)
		}
		results = append(results, res)
	}
	if err := writeReport(stdout, cfg, results); err != nil {
		return err
	}
	for _, r := range results {
		if !r.pass(cfg) {
			return errTargetMissed
		}
	}
	return nil
}
