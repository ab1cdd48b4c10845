// Command loadgen emits the spans of an application's LLM calls through the OpenTelemetry Go
// SDK, as instrumented applications do, following a scenario: a traffic mix of providers,
// models and instrumentations, and a timeline of phases (baseline, outage, overload, cut
// streams, slowdown, rate limits, recovery). It is outagewatch's realistic traffic source.
//
//	go run ./cmd/loadgen -scenario outage
//	OTEL_EXPORTER_OTLP_PROTOCOL=grpc go run ./cmd/loadgen -scenario baseline -duration 5m
//
// README.md describes the scenario format and the shipped scenarios.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

// options are the parsed flags.
type options struct {
	scenario string
	endpoint string
	protocol string
	duration time.Duration
	drain    time.Duration
	seed     uint64
	quiet    bool
	check    bool
	list     bool
}

// exportDelay is the batch span processor's schedule delay: short, so that the daemon sees a
// span about a second after it ended.
const exportDelay = time.Second

func newFlagSet(o *options) *flag.FlagSet {
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // run reports parse errors itself
	fs.StringVar(&o.scenario, "scenario", "baseline", "shipped scenario name, or path to a scenario YAML file")
	fs.StringVar(&o.endpoint, "endpoint", "", "OTLP endpoint, overriding OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT (host:port or URL)")
	fs.StringVar(&o.protocol, "protocol", "", "grpc or http/protobuf, overriding OTEL_EXPORTER_OTLP_[TRACES_]PROTOCOL (default http/protobuf)")
	fs.DurationVar(&o.duration, "duration", 0, "total length, cutting the timeline or stretching its last phase (0: the scenario's)")
	fs.DurationVar(&o.drain, "drain", 15*time.Second, "after the timeline, how long to wait for calls in flight")
	fs.Uint64Var(&o.seed, "seed", 0, "seed of the random draws (0: a random seed, logged)")
	fs.BoolVar(&o.quiet, "quiet", false, "no progress line every second")
	fs.BoolVar(&o.check, "check", false, "validate the scenario and exit")
	fs.BoolVar(&o.list, "list", false, "list the shipped scenarios and exit")
	return fs
}

func parseFlags(args []string, stdout io.Writer) (options, error) {
	var o options
	fs := newFlagSet(&o)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stdout)
			fmt.Fprintln(stdout, "usage: loadgen [flags]")
			fs.PrintDefaults()
			return o, err
		}
		return o, fmt.Errorf("parse flags: %w", err)
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	if o.duration < 0 || o.drain < 0 {
		return o, errors.New("-duration and -drain must not be negative")
	}
	return o, nil
}

// run parses args, loads the scenario, plays it against the OTLP endpoint that the flags and
// getenv name, and writes the summary to stdout; logs and progress go to stderr. It returns nil
// when ctx is cancelled: the spans ended so far are flushed.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	o, err := parseFlags(args, stdout)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	if o.list {
		return listScenarios(stdout)
	}
	sc, err := loadScenario(o.scenario)
	if err != nil {
		return err
	}
	if o.check {
		fmt.Fprintf(stdout, "scenario %s: valid, %d targets, %d phases\n", sc.Name, len(sc.Traffic.Targets), len(sc.Phases))
		return nil
	}
	target, err := resolveTarget(o.endpoint, o.protocol, getenv)
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil)).With("component", "loadgen")
	return play(ctx, sc, o, target, getenv, logger, stdout, stderr)
}

// play runs the scenario with a tracer provider exporting to target, then flushes it.
func play(ctx context.Context, sc *scenario, o options, target exportTarget, getenv func(string) string,
	logger *slog.Logger, stdout, stderr io.Writer,
) error {
	exp, err := newExporter(ctx, target)
	if err != nil {
		return err
	}
	// One tracer provider per service.name (a resource per provider), all batching into the same
	// exporter, which is shut down once after them.
	shared := &sharedExporter{SpanExporter: exp}
	newTP := func(service string) *sdktrace.TracerProvider {
		res := resource.NewSchemaless(attribute.String("service.name", service),
			attribute.String("telemetry.sdk.language", "go"), attribute.String("telemetry.sdk.name", "opentelemetry"))
		return sdktrace.NewTracerProvider(sdktrace.WithResource(res), sdktrace.WithBatcher(shared,
			sdktrace.WithBatchTimeout(exportDelay), sdktrace.WithMaxQueueSize(1<<16), sdktrace.WithMaxExportBatchSize(2048)))
	}
	service := firstNonEmpty(getenv("OTEL_SERVICE_NAME"), sc.Traffic.Service)
	tp := newTP(service)
	tps := []*sdktrace.TracerProvider{tp}
	byService := map[string]trace.TracerProvider{}
	for _, name := range sc.Traffic.services() {
		byService[name] = newTP(name)
		tps = append(tps, byService[name].(*sdktrace.TracerProvider))
	}
	exportErrors := countExportErrors(logger)

	if o.seed == 0 {
		o.seed = rand.Uint64()
	}
	start := time.Now()
	l := newLoad(sc, loadOptions{
		tracerProvider: tp, serviceProviders: byService, seed: o.seed, start: start, duration: o.duration, logger: logger,
		progress: progressWriter(o.quiet, stderr), exportErrors: exportErrors,
	})
	logger.Info("loadgen starting", "scenario", sc.Name, "length", l.gen.end().Sub(start), "endpoint", target.url,
		"protocol", target.protocol, "service", service, "services", sc.Traffic.services(), "seed", o.seed)
	l.run(ctx, o.drain)
	if l.stats.abandoned > 0 {
		logger.Warn("calls still in flight were abandoned", "calls", l.stats.abandoned)
	}

	// Flush with a fresh context: ctx may be cancelled already.
	flushCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	var flushErrs []error
	for _, p := range tps {
		flushErrs = append(flushErrs, p.Shutdown(flushCtx))
	}
	flushErr := errors.Join(append(flushErrs, exp.Shutdown(flushCtx))...)
	logger.Info("spans flushed", "export_errors", exportErrors())
	sumErr := l.stats.writeSummary(stdout, time.Since(start))
	if flushErr != nil {
		flushErr = fmt.Errorf("flush spans: %w", flushErr)
	}
	return errors.Join(flushErr, sumErr)
}

// sharedExporter lets several tracer providers batch into one exporter: their shutdowns leave it
// open, and the caller shuts it down once they have all flushed.
type sharedExporter struct{ sdktrace.SpanExporter }

func (sharedExporter) Shutdown(context.Context) error { return nil }

func progressWriter(quiet bool, stderr io.Writer) io.Writer {
	if quiet {
		return nil
	}
	return stderr
}

// countExportErrors routes the SDK's errors (failed exports, mostly) to a counter, logging the
// first and then at most one every 10 s. The SDK's handler is process-wide.
func countExportErrors(logger *slog.Logger) func() int64 {
	var n, lastLog atomic.Int64
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		count := n.Add(1)
		now := time.Now().UnixNano()
		if last := lastLog.Load(); (count == 1 || now-last >= int64(10*time.Second)) && lastLog.CompareAndSwap(last, now) {
			logger.Warn("span export failed", "err", err, "errors", count)
		}
	}))
	return n.Load
}

func listScenarios(w io.Writer) error {
	for _, name := range shippedNames() {
		sc, err := loadScenario(name)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "%-20s %s\n", name, sc.Description)
	}
	return nil
}
