// Command ingestbench compares the watcher's two protobuf OTLP decode paths end to end: pdata
// (ingest.fast_path: false) and the single-pass fast path (ingest.fast_path: true). For every
// protocol and request size it starts a fresh watcher for each path, drives it with otlpload for
// a fixed duration, and prints one Markdown table of accepted spans per second, the daemon's CPU
// seconds per million spans, the peak RSS, and the fast/pdata ratios.
//
// It builds cmd/watcher and cmd/otlpload itself, so run it from inside the module:
//
//	go run ./cmd/ingestbench -duration 8s
//	go run ./cmd/ingestbench -protocols grpc -sizes 16,512 -connections 8
//
// The two paths of a cell run back to back, so that each pair is measured under the same machine
// conditions. The load generator runs on the same machine as the daemon; compare the ratios, not
// the absolute figures.
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

	"github.com/outagewatch/outagewatch/internal/watcherproc"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "ingestbench:", err)
		os.Exit(1)
	}
}

// run parses args, builds the binaries it was not given, measures every cell and writes the
// table to stdout, a pair of rows as soon as a cell is measured.
func run(ctx context.Context, args []string, stdout io.Writer) error {
	cfg, err := parseConfig(args, stdout)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "ingestbench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bins, err := buildBinaries(ctx, cfg, dir)
	if err != nil {
		return err
	}
	t, err := newTable(stdout)
	if err != nil {
		return err
	}
	for _, c := range cfg.cells() {
		pdata, err := measure(ctx, bins, cfg, c, false, dir)
		if err != nil {
			return err
		}
		fast, err := measure(ctx, bins, cfg, c, true, dir)
		if err != nil {
			return err
		}
		if err := t.addPair(pdata, fast); err != nil {
			return err
		}
	}
	return t.close()
}

// measure starts a fresh watcher on one decode path, drives the load of cell c at it, reads its
// peak RSS and stops it.
func measure(ctx context.Context, bins binaries, cfg config, c cell, fast bool, tmp string) (res result, err error) {
	res = result{cell: c, fast: fast}
	defer func() {
		if err != nil {
			err = fmt.Errorf("%s, %s path: %w", c, res.path(), err)
		}
	}()
	dir, err := os.MkdirTemp(tmp, "run")
	if err != nil {
		return res, err
	}
	w, err := watcherproc.Start(ctx, bins.watcher, dir, watcherConfig(fast), watcherproc.CleanEnv())
	if err != nil {
		return res, err
	}
	defer func() { err = errors.Join(err, w.Stop()) }()
	if res.load, err = runLoad(ctx, bins.otlpload, cfg, c, w); err != nil {
		return res, err
	}
	// Read before stopping: VmHWM goes with the process.
	res.peakRSS, err = w.PeakRSS()
	return res, err
}
