// Command otlpload replays pre-marshalled OTLP trace requests against a
// running outagewatch daemon (or any OTLP receiver) over gRPC or HTTP for a
// fixed duration and reports accepted spans per second and, given the
// daemon's PID, the daemon CPU time spent per million spans.
//
// The request bodies are built once from internal/spangen before the clock
// starts, so the client spends its time on the wire, not on marshalling:
//
//	otlpload -protocol grpc -duration 10s -pid $(pgrep -n watcher)
//	otlpload -protocol http -gzip -llm-fraction 0.2 -json
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
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "otlpload:", err)
		os.Exit(1)
	}
}

// run parses args, pre-builds the requests, drives the load for the
// configured duration and writes the report to stdout. It returns an error
// for bad flags, an unreachable gRPC endpoint or unreadable -pid, and, after
// writing the report, for a run in which no request succeeded.
func run(ctx context.Context, args []string, stdout io.Writer) error {
	cfg, err := parseConfig(args)
	if errors.Is(err, flag.ErrHelp) {
		printUsage(stdout)
		return nil
	}
	if err != nil {
		return err
	}
	reqs, err := buildRequests(cfg, time.Now())
	if err != nil {
		return err
	}
	s, err := newSender(ctx, cfg)
	if err != nil {
		return err
	}
	defer s.close()

	var cpu cpuMeter
	if cfg.PID > 0 {
		if cpu, err = startCPUMeter(cfg.PID); err != nil {
			return err
		}
	}
	res := newLoader(s, reqs, cfg.Connections).run(ctx, cfg.Duration)
	rep := newReport(cfg, res)
	if cfg.PID > 0 {
		used, err := cpu.stop()
		if err != nil {
			return err
		}
		rep.setCPU(used)
	}
	if err := rep.write(stdout, cfg.JSON); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	switch {
	case res.ok > 0:
		return nil
	case res.lastErr != "":
		return fmt.Errorf("no request succeeded: %s", res.lastErr)
	default:
		return fmt.Errorf("no request succeeded (refused %d)", res.refused)
	}
}

// newSender connects the sender for cfg.Protocol.
func newSender(ctx context.Context, cfg config) (sender, error) {
	if cfg.Protocol == protocolGRPC {
		return newGRPCSender(ctx, cfg.Endpoint, cfg.Connections, connectTimeout)
	}
	return newHTTPSender(cfg.Endpoint, cfg.Connections, cfg.Gzip), nil
}
