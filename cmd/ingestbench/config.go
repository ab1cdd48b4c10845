package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

const (
	protocolGRPC = "grpc"
	protocolHTTP = "http"
)

// config is the parsed command line.
type config struct {
	Protocols   []string
	Sizes       []int // spans per request
	Duration    time.Duration
	Connections int
	LLMFraction float64
	// Gzip compresses the OTLP/HTTP request bodies (otlpload -gzip; gRPC requests are sent
	// uncompressed).
	Gzip bool
	// Watcher and OTLPLoad are prebuilt binaries; "" builds the command.
	Watcher  string
	OTLPLoad string
}

// cell is one protocol and request size; both decode paths are measured in it.
type cell struct {
	protocol string
	size     int
}

func (c cell) String() string { return fmt.Sprintf("%s, %d spans/request", c.protocol, c.size) }

// cells returns every protocol and size, in flag order, sizes varying fastest.
func (c config) cells() []cell {
	var cells []cell
	for _, p := range c.Protocols {
		for _, s := range c.Sizes {
			cells = append(cells, cell{protocol: p, size: s})
		}
	}
	return cells
}

// parseConfig parses and validates args. For -h it writes the usage to usage and returns
// flag.ErrHelp.
func parseConfig(args []string, usage io.Writer) (config, error) {
	var cfg config
	fs := flag.NewFlagSet("ingestbench", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // run reports parse errors itself
	protocols := fs.String("protocols", "grpc,http", "comma-separated OTLP transports: grpc, http")
	sizes := fs.String("sizes", "1,16,512", "comma-separated spans per request")
	fs.DurationVar(&cfg.Duration, "duration", 5*time.Second, "load duration of each run")
	fs.IntVar(&cfg.Connections, "connections", 4, "otlpload connections")
	fs.Float64Var(&cfg.LLMFraction, "llm-fraction", 1, "share of spans that are LLM calls, 0 to 1")
	fs.BoolVar(&cfg.Gzip, "gzip", false, "gzip OTLP/HTTP request bodies")
	fs.StringVar(&cfg.Watcher, "watcher", "", "watcher binary (default: go build ./cmd/watcher)")
	fs.StringVar(&cfg.OTLPLoad, "otlpload", "", "otlpload binary (default: go build ./cmd/otlpload)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(usage, "usage: ingestbench [flags]")
			fs.SetOutput(usage)
			fs.PrintDefaults()
			return cfg, err
		}
		return cfg, fmt.Errorf("parse flags: %w", err)
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	cfg.Protocols = splitList(*protocols)
	var err error
	if cfg.Sizes, err = parseSizes(*sizes); err != nil {
		return cfg, err
	}
	return cfg, cfg.validate()
}

// splitList splits a comma-separated flag value, dropping spaces and empty items.
func splitList(s string) []string {
	var items []string
	for item := range strings.SplitSeq(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			items = append(items, item)
		}
	}
	return items
}

func parseSizes(s string) ([]int, error) {
	var sizes []int
	for _, item := range splitList(s) {
		n, err := strconv.Atoi(item)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("-sizes: %q is not a positive integer", item)
		}
		sizes = append(sizes, n)
	}
	return sizes, nil
}

// validate checks every field and names the flag at fault.
func (c config) validate() error {
	var errs []error
	for _, p := range c.Protocols {
		if p != protocolGRPC && p != protocolHTTP {
			errs = append(errs, fmt.Errorf("-protocols: %q is not grpc or http", p))
		}
	}
	if len(c.Protocols) == 0 {
		errs = append(errs, errors.New("-protocols: must not be empty"))
	}
	if len(c.Sizes) == 0 {
		errs = append(errs, errors.New("-sizes: must not be empty"))
	}
	if c.Duration <= 0 {
		errs = append(errs, errors.New("-duration: must be > 0"))
	}
	if c.Connections <= 0 {
		errs = append(errs, errors.New("-connections: must be > 0"))
	}
	if !(c.LLMFraction >= 0 && c.LLMFraction <= 1) {
		errs = append(errs, errors.New("-llm-fraction: must be between 0 and 1"))
	}
	return errors.Join(errs...)
}
