package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"time"
)

const (
	protocolGRPC = "grpc"
	protocolHTTP = "http"

	defaultGRPCEndpoint = "localhost:4317"
	defaultHTTPEndpoint = "http://localhost:4318/v1/traces"
)

// config is the parsed command line.
type config struct {
	Protocol        string
	Endpoint        string
	SpansPerRequest int
	LLMFraction     float64
	Connections     int
	Duration        time.Duration
	Gzip            bool
	PID             int
	Requests        int
	Seed            int64
	JSON            bool
}

// newFlagSet binds the flags to cfg with their defaults.
func newFlagSet(cfg *config) *flag.FlagSet {
	fs := flag.NewFlagSet("otlpload", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // run reports parse errors itself
	fs.StringVar(&cfg.Protocol, "protocol", protocolGRPC, "OTLP transport: grpc or http")
	fs.StringVar(&cfg.Endpoint, "endpoint", "", "target: host:port for grpc (default "+defaultGRPCEndpoint+"), URL for http (default "+defaultHTTPEndpoint+")")
	fs.IntVar(&cfg.SpansPerRequest, "spans-per-request", 512, "spans in each export request")
	fs.Float64Var(&cfg.LLMFraction, "llm-fraction", 1.0, "share of spans that are LLM calls, 0 to 1")
	fs.IntVar(&cfg.Connections, "connections", 4, "concurrent connections, one request in flight on each")
	fs.DurationVar(&cfg.Duration, "duration", 10*time.Second, "how long to send")
	fs.BoolVar(&cfg.Gzip, "gzip", false, "gzip request bodies (http only)")
	fs.IntVar(&cfg.PID, "pid", 0, "daemon PID whose CPU time (/proc/PID/stat) is measured")
	fs.IntVar(&cfg.Requests, "requests", 64, "distinct pre-built requests to cycle through")
	fs.Int64Var(&cfg.Seed, "seed", 1, "generator seed")
	fs.BoolVar(&cfg.JSON, "json", false, "print one JSON line instead of a table")
	return fs
}

// printUsage writes the flag documentation to w.
func printUsage(w io.Writer) {
	fs := newFlagSet(&config{})
	fs.SetOutput(w)
	fmt.Fprintln(w, "usage: otlpload [flags]")
	fs.PrintDefaults()
}

// parseConfig parses args, fills the protocol's default endpoint and
// validates the result. It returns flag.ErrHelp for -h.
func parseConfig(args []string) (config, error) {
	var cfg config
	fs := newFlagSet(&cfg)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return cfg, err
		}
		return cfg, fmt.Errorf("parse flags: %w", err)
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	if cfg.Endpoint == "" {
		cfg.Endpoint = defaultGRPCEndpoint
		if cfg.Protocol == protocolHTTP {
			cfg.Endpoint = defaultHTTPEndpoint
		}
	}
	return cfg, cfg.validate()
}

// validate checks every field and names the flag at fault.
func (c config) validate() error {
	switch c.Protocol {
	case protocolGRPC:
		if c.Gzip {
			return errors.New("-gzip: only supported with -protocol http")
		}
	case protocolHTTP:
		u, err := url.Parse(c.Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("-endpoint: %q is not an http(s) URL", c.Endpoint)
		}
	default:
		return fmt.Errorf("-protocol: %q is not grpc or http", c.Protocol)
	}
	switch {
	case c.SpansPerRequest <= 0:
		return errors.New("-spans-per-request: must be > 0")
	case !(c.LLMFraction >= 0 && c.LLMFraction <= 1):
		return errors.New("-llm-fraction: must be between 0 and 1")
	case c.Connections <= 0:
		return errors.New("-connections: must be > 0")
	case c.Duration <= 0:
		return errors.New("-duration: must be > 0")
	case c.Requests <= 0:
		return errors.New("-requests: must be > 0")
	case c.PID < 0:
		return errors.New("-pid: must be >= 0")
	}
	return nil
}
