package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// The cases, by name.
const (
	caseHTTPBombs = "http-bombs"
	caseGRPCBombs = "grpc-bombs"
	caseDeepJSON  = "deep-json"
	caseNameStorm = "name-storm"
)

var allCases = []string{caseHTTPBombs, caseGRPCBombs, caseDeepJSON, caseNameStorm}

// config is the parsed command line.
type config struct {
	Cases    []string
	Duration time.Duration // of each attack
	// MemoryLimit is the watcher's memory.limit, in bytes.
	MemoryLimit int64
	Bombs       int // concurrent bombs, HTTP or gRPC
	BombBytes   int // what each bomb inflates to
	DeepBodies  int // concurrent deep-JSON bodies
	DeepLevels  int // nesting of the deep attribute
	StormRate   int // name-storm spans per second
	// LegitRate is the legitimate spans per second, split between OTLP/HTTP and OTLP/gRPC, in
	// batches of LegitBatch.
	LegitRate  int
	LegitBatch int
	RetryFor   time.Duration // how long an exporter retries a batch
	// MinAccepted is the share of legitimate spans that must be accepted.
	MinAccepted float64
	Markdown    bool
	Watcher     string // a prebuilt watcher; "" builds cmd/watcher
}

// parseConfig parses and validates args. For -h it writes the usage to usage and returns
// flag.ErrHelp.
func parseConfig(args []string, usage io.Writer) (config, error) {
	var cfg config
	fs := flag.NewFlagSet("hostilebench", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // run reports parse errors itself
	cases := fs.String("cases", strings.Join(allCases, ","), "comma-separated cases: "+strings.Join(allCases, ", "))
	fs.DurationVar(&cfg.Duration, "duration", 20*time.Second, "how long each attack lasts")
	limitMiB := fs.Int64("memory-limit-mib", 512, "the watcher's memory.limit, in MiB")
	fs.IntVar(&cfg.Bombs, "bombs", 64, "concurrent gzip bombs")
	bombMiB := fs.Int("bomb-mib", 16, "MiB each gzip bomb inflates to")
	fs.IntVar(&cfg.DeepBodies, "deep-bodies", 8, "concurrent deep-JSON bodies")
	fs.IntVar(&cfg.DeepLevels, "deep-levels", 300_000, "nesting of the deep-JSON attribute")
	fs.IntVar(&cfg.StormRate, "storm-rate", 20_000, "name-storm spans per second")
	fs.IntVar(&cfg.LegitRate, "legit-rate", 2_000, "legitimate spans per second (half on HTTP, half on gRPC)")
	fs.IntVar(&cfg.LegitBatch, "legit-batch", 100, "legitimate spans per request")
	fs.DurationVar(&cfg.RetryFor, "retry-for", 30*time.Second, "how long a legitimate exporter retries a batch")
	fs.Float64Var(&cfg.MinAccepted, "min-accepted", 0.99, "share of legitimate spans that must be accepted")
	fs.BoolVar(&cfg.Markdown, "markdown", false, "write a Markdown table")
	fs.StringVar(&cfg.Watcher, "watcher", "", "watcher binary (default: go build ./cmd/watcher)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(usage, "usage: hostilebench [flags]")
			fs.SetOutput(usage)
			fs.PrintDefaults()
			return cfg, err
		}
		return cfg, fmt.Errorf("parse flags: %w", err)
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	for c := range strings.SplitSeq(*cases, ",") {
		if c = strings.TrimSpace(c); c != "" {
			cfg.Cases = append(cfg.Cases, c)
		}
	}
	cfg.MemoryLimit = *limitMiB << 20
	cfg.BombBytes = *bombMiB << 20
	return cfg, cfg.validate()
}

// validate checks every field and names the flag at fault.
func (c config) validate() error {
	var errs []error
	for _, name := range c.Cases {
		if !slices.Contains(allCases, name) {
			errs = append(errs, fmt.Errorf("-cases: unknown case %q", name))
		}
	}
	if len(c.Cases) == 0 {
		errs = append(errs, errors.New("-cases: must not be empty"))
	}
	positive := []struct {
		flag string
		ok   bool
	}{
		{"-duration", c.Duration > 0},
		{"-memory-limit-mib", c.MemoryLimit >= 64<<20},
		{"-bombs", c.Bombs > 0},
		{"-bomb-mib", c.BombBytes > 0},
		{"-deep-bodies", c.DeepBodies > 0},
		{"-deep-levels", c.DeepLevels > 0},
		{"-storm-rate", c.StormRate > 0},
		{"-legit-rate", c.LegitRate >= 2},
		{"-legit-batch", c.LegitBatch > 0},
		{"-retry-for", c.RetryFor > 0},
	}
	for _, p := range positive {
		if !p.ok {
			errs = append(errs, fmt.Errorf("%s: out of range", p.flag))
		}
	}
	if !(c.MinAccepted >= 0 && c.MinAccepted <= 1) {
		errs = append(errs, errors.New("-min-accepted: must be between 0 and 1"))
	}
	return errors.Join(errs...)
}
