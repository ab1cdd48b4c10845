package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/outagewatch/outagewatch/health/client"
)

// The example's two models.
var (
	primaryTarget  = target{Provider: "anthropic", Model: "claude-sonnet-4-5"}
	fallbackTarget = target{Provider: "openai", Model: "gpt-4o"}
)

const (
	// probeEvery is the probe rate to an unusable primary: enough for outagewatch's recovery
	// test, negligible for the provider.
	probeEvery = time.Second
	// exportDelay is the batch span processor's schedule delay: spans reach outagewatch within
	// it, so detection is quick.
	exportDelay = 200 * time.Millisecond
	// maxInFlight bounds the user requests in flight; beyond it a tick is dropped.
	maxInFlight = 256
)

// config is the command line.
type config struct {
	outagewatch      string
	otlpEndpoint     string
	rate             float64
	duration         time.Duration
	failPrimaryAfter time.Duration
	failPrimaryFor   time.Duration
	latency          time.Duration
}

func parseConfig(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("router", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.outagewatch, "outagewatch", "http://127.0.0.1:9317", "base URL of the outagewatch API")
	fs.StringVar(&c.otlpEndpoint, "otlp-endpoint", "127.0.0.1:4318", "host:port of outagewatch's OTLP/HTTP receiver")
	fs.Float64Var(&c.rate, "rate", 20, "user requests per second")
	// The default run shows the whole cycle: the router fails over within a second of the
	// outage, and fails back once outagewatch says the primary is usable again, which its
	// hold-down (30 s after the first entry into down) and the probes' reverse test put about
	// 30 s after the provider recovers (at 25 s); the run lasts 25 s more than that.
	fs.DurationVar(&c.duration, "duration", 80*time.Second, "how long to run (0: until interrupted)")
	fs.DurationVar(&c.failPrimaryAfter, "fail-primary-after", 10*time.Second, "when the primary starts failing with 529")
	fs.DurationVar(&c.failPrimaryFor, "fail-primary-for", 15*time.Second, "how long the primary fails (0: never)")
	fs.DurationVar(&c.latency, "latency", 30*time.Millisecond, "the fake providers' latency")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	var errs []error
	if !(c.rate > 0 && c.rate <= 10_000) {
		errs = append(errs, fmt.Errorf("-rate: %v is not in (0, 10000]", c.rate))
	}
	if c.duration < 0 || c.failPrimaryAfter < 0 || c.failPrimaryFor < 0 || c.latency < 0 {
		errs = append(errs, errors.New("durations must be >= 0"))
	}
	if fs.NArg() > 0 {
		errs = append(errs, fmt.Errorf("unexpected arguments %q", fs.Args()))
	}
	return c, errors.Join(errs...)
}

// example is the running example: the fake providers, the health client, the tracer provider
// exporting to outagewatch, and the router over them.
type example struct {
	primary, fallback *fakeProvider
	health            *client.Client
	tracing           *sdktrace.TracerProvider
	router            *Router
}

// newExample starts the fake providers and builds the rest; nothing sends until it is driven.
// close releases what it started.
func newExample(ctx context.Context, c config, logger *slog.Logger) (*example, error) {
	e := &example{}
	var err error
	if e.primary, err = newFakeProvider(primaryTarget.Provider, primaryTarget.Model, "127.0.0.1:0", c.latency, logger); err != nil {
		return nil, err
	}
	if e.fallback, err = newFakeProvider(fallbackTarget.Provider, fallbackTarget.Model, "127.0.0.1:0", c.latency, logger); err != nil {
		return nil, errors.Join(err, e.close())
	}
	if e.health, err = client.New(c.outagewatch, client.Options{Logger: logger.With("component", "health_client")}); err != nil {
		return nil, errors.Join(err, e.close())
	}
	exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpoint(c.otlpEndpoint), otlptracehttp.WithInsecure())
	if err != nil {
		return nil, errors.Join(fmt.Errorf("otlp exporter: %w", err), e.close())
	}
	e.tracing = sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp, sdktrace.WithBatchTimeout(exportDelay)),
		sdktrace.WithResource(resource.NewSchemaless(attribute.String("service.name", "router-example"))),
	)
	p, f := primaryTarget, fallbackTarget
	p.URL, f.URL = e.primary.URL(), e.fallback.URL()
	hc := &http.Client{Timeout: 30 * time.Second}
	e.router = newRouter(e.health, p, f, hc, e.tracing.Tracer("github.com/outagewatch/outagewatch/examples/router"))
	return e, nil
}

// close flushes the spans and stops the fake providers.
func (e *example) close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var errs []error
	if e.tracing != nil {
		if err := e.tracing.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("flush spans: %w", err))
		}
	}
	for _, p := range []*fakeProvider{e.primary, e.fallback} {
		if p != nil {
			if err := p.Close(ctx); err != nil {
				errs = append(errs, fmt.Errorf("stop fake %s: %w", p.name, err))
			}
		}
	}
	return errors.Join(errs...)
}

// start runs the health client and the probes until ctx ends; wait for them with wg.
func (e *example) start(ctx context.Context, wg *sync.WaitGroup) {
	wg.Go(func() { _ = e.health.Run(ctx) })
	wg.Go(func() { _ = e.router.RunProbes(ctx, probeEvery) })
}

// generateLoad sends user requests at rate per second until ctx ends, each on its own
// goroutine, at most maxInFlight at once; it returns when the last has finished.
func generateLoad(ctx context.Context, r *Router, rate float64) {
	var wg sync.WaitGroup
	defer wg.Wait()
	sem := make(chan struct{}, maxInFlight)
	t := time.NewTicker(time.Duration(float64(time.Second) / rate))
	defer t.Stop()
	for n := 0; ; n++ {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		select {
		case sem <- struct{}{}:
		default:
			continue // overloaded: a real router would shed this request
		}
		wg.Go(func() {
			defer func() { <-sem }()
			// A user request outlives the load's ctx: a shutdown lets it finish.
			_, _ = r.Handle(context.WithoutCancel(ctx), fmt.Sprintf("question %d", n))
		})
	}
}

// run is the example: the fake providers, the router under load at -rate, the primary failing
// on the schedule, and a line a second on stdout.
func run(ctx context.Context, args []string, stdout io.Writer) error {
	c, err := parseConfig(args, stdout)
	if err != nil {
		return err
	}
	// The report, the log and the fake providers write from several goroutines.
	stdout = &lockedWriter{w: stdout}
	logger := slog.New(slog.NewTextHandler(stdout, &slog.HandlerOptions{Level: slog.LevelInfo}))
	e, err := newExample(ctx, c, logger)
	if err != nil {
		return err
	}
	if c.duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.duration)
		defer cancel()
	}
	var wg sync.WaitGroup
	e.start(ctx, &wg)
	wg.Go(func() { scheduleFailure(ctx, e.primary, c.failPrimaryAfter, c.failPrimaryFor) })
	wg.Go(func() { report(ctx, stdout, e) })
	fmt.Fprintf(stdout, "router: primary %s/%s at %s, fallback %s/%s at %s, outagewatch %s, %v req/s\n",
		primaryTarget.Provider, primaryTarget.Model, e.primary.URL(),
		fallbackTarget.Provider, fallbackTarget.Model, e.fallback.URL(), c.outagewatch, c.rate)
	generateLoad(ctx, e.router, c.rate)
	wg.Wait()
	s := e.router.Stats()
	fmt.Fprintf(stdout, "total: requests=%d primary=%d fallback=%d retried=%d failed=%d probes=%d\n",
		s.Requests, s.ToPrimary, s.ToFallback, s.Retried, s.Failed, s.Probes)
	return e.close()
}

// scheduleFailure makes p fail after after, for for; for 0 means never.
func scheduleFailure(ctx context.Context, p *fakeProvider, after, forDur time.Duration) {
	if forDur == 0 || !sleep(ctx, after) {
		return
	}
	p.SetFailing(true)
	defer p.SetFailing(false)
	sleep(ctx, forDur)
}

// report prints a line a second: the second's requests, where they went, the failures users
// saw, and the primary's health as outagewatch says.
func report(ctx context.Context, w io.Writer, e *example) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	start, last := time.Now(), e.router.Stats()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s := e.router.Stats()
		state, _ := e.health.State(primaryTarget.Provider, primaryTarget.Model)
		fmt.Fprintf(w, "t=%3.0fs requests=%d primary=%d fallback=%d retried=%d failed=%d probes=%d primary_health=%s usable=%t staleness=%s\n",
			time.Since(start).Seconds(), s.Requests-last.Requests, s.ToPrimary-last.ToPrimary, s.ToFallback-last.ToFallback,
			s.Retried-last.Retried, s.Failed-last.Failed, s.Probes-last.Probes, state, e.router.PrimaryUsable(),
			e.health.Staleness().Round(time.Millisecond))
		last = s
	}
}

// sleep waits d or until ctx ends; it reports whether ctx is still alive.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// lockedWriter serialises writes to w.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
