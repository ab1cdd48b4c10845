package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"google.golang.org/grpc"

	"github.com/outagewatch/outagewatch/alerts"
	"github.com/outagewatch/outagewatch/alerts/slack"
	"github.com/outagewatch/outagewatch/health"
	"github.com/outagewatch/outagewatch/incidents"
	"github.com/outagewatch/outagewatch/ingest"
	"github.com/outagewatch/outagewatch/statuspage"
)

// run is the whole daemon: it loads and validates the configuration, starts every component,
// waits for ctx to end, and shuts down in a fixed order. started, when not nil, is called once
// everything listens (tests use it to learn the bound addresses).
func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer, started func(*app)) error {
	cfg, opts, err := loadConfig(args, getenv)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(stdout, err)
		return err
	}
	if err != nil {
		return err
	}
	if opts.configCheck {
		fmt.Fprintln(stdout, "configuration is valid")
		return nil
	}
	logger := newLogger(cfg.Log, stdout)
	a, err := newApp(cfg, logger)
	if err != nil {
		return err
	}
	if err := a.start(); err != nil {
		return errors.Join(err, a.stop())
	}
	logger.Info("watcher started", "api_addr", a.apiAddr(), "otlp_grpc_addr", a.ingest.GRPCAddr(), "otlp_http_addr", a.ingest.HTTPAddr())
	if started != nil {
		started(a)
	}
	<-ctx.Done()
	logger.Info("watcher stopping")
	return a.stop()
}

func newLogger(cfg LogConfig, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.SlogLevel()}
	if cfg.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// readyChecker is a component whose readiness /readyz aggregates.
type readyChecker interface {
	Check(ctx context.Context) error
}

// app holds the running daemon. Its fields are set by newApp and start, and read-only after.
type app struct {
	cfg    Config
	logger *slog.Logger
	reg    *prometheus.Registry

	pipeline *ingest.Pipeline
	ingest   *ingest.Server
	engine   *engineRunner
	board    *health.Board
	// history keeps the last hour of every series' figures for the status page.
	history *statuspage.History
	store   *lazyStore
	// incidents runs the lifecycle; incidentsCancel stops it and incidentsDone closes after.
	incidents       *incidents.Manager
	incidentsCancel context.CancelFunc
	incidentsDone   chan struct{}
	// alerts delivers the outbox to Slack; alertsCancel stops it and alertsDone closes after its
	// send in flight is recorded.
	alerts       *alerts.Dispatcher
	alertsCancel context.CancelFunc
	alertsDone   chan struct{}
	// bgCtx ends the background work (store opener, baseline saver) that bg waits for.
	bgCtx    context.Context
	bgCancel context.CancelFunc
	bg       sync.WaitGroup
	// healthGRPC serves grpc.health.v1 on the OTLP gRPC server, and on healthOwn (with
	// healthLn) when health.grpc_addr is set.
	healthGRPC *health.GRPCServer
	healthOwn  *grpc.Server
	healthLn   net.Listener
	api        *http.Server
	apiLn      net.Listener

	// pipelineCancel stops the pipeline; pipelineDone is closed when it has drained.
	pipelineCancel context.CancelFunc
	pipelineDone   chan struct{}
	// engineCancel stops the engine's ticker; engineDone is closed when it has stopped.
	engineCancel context.CancelFunc
	engineDone   chan struct{}
	// stopping is set when shutdown begins, so that /readyz turns 503 at once.
	stopping atomic.Bool
	checks   map[string]readyChecker
}

func newApp(cfg Config, logger *slog.Logger) (*app, error) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	a := &app{cfg: cfg, logger: logger, reg: reg}
	a.board = health.NewBoard()
	runner, err := newEngineRunner(cfg.Detectors, a.board, reg, logger)
	if err != nil {
		return nil, fmt.Errorf("detection engine: %w", err)
	}
	a.engine = runner
	a.store = &lazyStore{}
	mgr, err := incidents.NewManager(cfg.Incidents, a.store, reg, logger)
	if err != nil {
		return nil, fmt.Errorf("incidents: %w", err)
	}
	a.incidents = mgr
	runner.onTransitions = mgr.Handle
	acfg := cfg.alertsConfig()
	var notifier alerts.Notifier
	if acfg.Enabled() {
		if notifier, err = slack.New(acfg, logger); err != nil {
			return nil, fmt.Errorf("slack: %w", err)
		}
	}
	a.alerts, err = alerts.New(acfg, alerts.Deps{
		Outbox: a.store, Settler: a.store, Reader: a.store, Notifier: notifier,
		Silences: alerts.CheckSilences(a.store), Registerer: reg, Logger: logger,
	})
	if err != nil {
		return nil, fmt.Errorf("alerts: %w", err)
	}
	p, err := ingest.NewPipeline(cfg.Ingest, runner, reg, logger, ingest.PipelineOptions{})
	if err != nil {
		return nil, fmt.Errorf("ingest pipeline: %w", err)
	}
	srv, err := ingest.NewServer(cfg.Ingest, p, logger)
	if err != nil {
		return nil, fmt.Errorf("ingest server: %w", err)
	}
	a.pipeline, a.ingest = p, srv
	a.healthGRPC = health.NewGRPCServer(a.board)
	a.healthGRPC.Register(srv.GRPC())
	if cfg.Health.GRPCAddr != "" {
		a.healthOwn = grpc.NewServer()
		a.healthGRPC.Register(a.healthOwn)
	}
	reg.MustRegister(health.NewCollector(a.board))
	a.history = statuspage.NewHistory(a.board, 10*time.Second, time.Hour)
	registerOwnMetrics(reg, a.history)
	a.checks = map[string]readyChecker{"ingest": srv, "store": a.store, "incidents": mgr, "alerts": a.alerts}
	a.api = &http.Server{
		Handler:           a.routes(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	return a, nil
}

func (a *app) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("GET /readyz", a.readyz)
	health.NewAPI(a.board, health.HTTPOptions{Heartbeat: a.cfg.Health.SSEHeartbeat}).Register(mux)
	incidents.NewAPI(a.store, a.incidents, string(a.cfg.API.Token)).Register(mux)
	alerts.NewSilenceAPI(a.store, string(a.cfg.API.Token)).Register(mux)
	statuspage.New(a.board, a.history, a.store, a.store, statuspage.Options{GrafanaURL: a.cfg.Links.GrafanaURL}).Register(mux)
	mux.Handle("GET /metrics", promhttp.HandlerFor(a.reg, promhttp.HandlerOpts{Registry: a.reg, EnableOpenMetrics: true}))
	if a.cfg.API.Pprof {
		mux.HandleFunc("GET /debug/pprof/", pprof.Index)
		mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	}
	return mux
}

// readyz answers 200 when every component is ready, else 503 with what is not.
func (a *app) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	var problems []string
	if a.stopping.Load() {
		problems = append(problems, "shutting down")
	}
	for name, c := range a.checks {
		if err := c.Check(ctx); err != nil {
			problems = append(problems, name+": "+err.Error())
		}
	}
	if len(problems) > 0 {
		w.WriteHeader(http.StatusServiceUnavailable)
		for _, p := range problems {
			_, _ = fmt.Fprintln(w, p)
		}
		return
	}
	_, _ = io.WriteString(w, "ready\n")
}

// start starts the engine, the pipeline, then the API, then the OTLP listeners: data is
// accepted only once everything behind it runs.
func (a *app) start() error {
	a.bgCtx, a.bgCancel = context.WithCancel(context.Background())
	if err := a.openStore(a.bgCtx); err != nil {
		return err
	}
	ictx, icancel := context.WithCancel(context.Background())
	a.incidentsCancel, a.incidentsDone = icancel, make(chan struct{})
	go func() {
		defer close(a.incidentsDone)
		_ = a.incidents.Run(ictx)
	}()
	a.bg.Go(func() { a.saveBaselinesEvery(a.bgCtx, a.cfg.Store.BaselineInterval) })
	a.bg.Go(func() { _ = a.history.Run(a.bgCtx) })
	actx, acancel := context.WithCancel(context.Background())
	a.alertsCancel, a.alertsDone = acancel, make(chan struct{})
	go func() {
		defer close(a.alertsDone)
		_ = a.alerts.Run(actx)
	}()
	ectx, ecancel := context.WithCancel(context.Background())
	a.engineCancel, a.engineDone = ecancel, make(chan struct{})
	go func() {
		defer close(a.engineDone)
		_ = a.engine.Run(ectx)
	}()
	pctx, cancel := context.WithCancel(context.Background())
	a.pipelineCancel, a.pipelineDone = cancel, make(chan struct{})
	go func() {
		defer close(a.pipelineDone)
		_ = a.pipeline.Run(pctx)
	}()
	ln, err := net.Listen("tcp", a.cfg.API.Addr)
	if err != nil {
		return fmt.Errorf("listen api %s: %w", a.cfg.API.Addr, err)
	}
	a.apiLn = ln
	a.logger.Info("api listening", "addr", ln.Addr().String())
	go func() {
		if err := a.api.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.logger.Error("api server stopped", "err", err)
		}
	}()
	if a.healthOwn != nil {
		hln, err := net.Listen("tcp", a.cfg.Health.GRPCAddr)
		if err != nil {
			return fmt.Errorf("listen health grpc %s: %w", a.cfg.Health.GRPCAddr, err)
		}
		a.healthLn = hln
		a.logger.Info("health grpc listening", "addr", hln.Addr().String())
		go func() { _ = a.healthOwn.Serve(hln) }()
	}
	return a.ingest.Start()
}

func (a *app) apiAddr() string {
	if a.apiLn == nil {
		return ""
	}
	return a.apiLn.Addr().String()
}

// stop shuts down in a fixed order, within api.shutdown_timeout in all: the OTLP listeners
// first (no new data), then the pipeline drains what it holds into the engine, the engine stops
// ticking, the incident manager writes what it has queued, the alert dispatcher finishes its
// send in flight, the baselines are saved, the store closes, and the API stops last. Each step is logged
// by name. It is safe to call after a failed start.
func (a *app) stop() error {
	a.stopping.Store(true)
	ctx, cancel := context.WithTimeout(context.Background(), a.cfg.API.ShutdownTimeout)
	defer cancel()
	var errs []error
	step := func(name string, fn func() error) {
		start := time.Now()
		if err := fn(); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
			a.logger.Warn("shutdown step failed", "step", name, "err", err)
			return
		}
		a.logger.Info("shutdown step done", "step", name, "took", time.Since(start).Round(time.Millisecond))
	}
	step("ingest listeners", func() error { return a.ingest.Shutdown(ctx) })
	if a.healthOwn != nil {
		step("health grpc", func() error {
			a.healthOwn.Stop()
			return nil
		})
	}
	step("ingest pipeline", func() error {
		if a.pipelineCancel == nil {
			return nil
		}
		a.pipelineCancel()
		select {
		case <-a.pipelineDone:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	step("detection engine", func() error {
		if a.engineCancel == nil {
			return nil
		}
		a.engineCancel()
		select {
		case <-a.engineDone:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	step("incidents", func() error {
		if a.incidentsCancel == nil {
			return nil
		}
		a.incidentsCancel()
		<-a.incidentsDone
		return a.incidents.Drain(ctx)
	})
	step("alert dispatcher", func() error {
		if a.alertsCancel == nil {
			return nil
		}
		a.alertsCancel() // Run returns once the send in flight is recorded
		select {
		case <-a.alertsDone:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	step("baselines", func() error {
		if _, err := a.store.get(); err != nil {
			return nil // never opened: nothing to save to
		}
		return a.saveBaselines(ctx)
	})
	step("store", func() error {
		if a.bgCancel != nil {
			a.bgCancel()
		}
		a.bg.Wait()
		return a.store.Close()
	})
	step("api", func() error { return a.api.Shutdown(ctx) })
	return errors.Join(errs...)
}

// registerOwnMetrics registers the daemon's build and the status page's history bounds.
func registerOwnMetrics(reg prometheus.Registerer, history *statuspage.History) {
	f := promauto.With(reg)
	version, revision := "(devel)", "unknown"
	if bi, ok := debug.ReadBuildInfo(); ok {
		version = bi.Main.Version
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				revision = s.Value
			}
		}
	}
	f.NewGauge(prometheus.GaugeOpts{
		Name:        "outagewatch_build_info",
		Help:        "The running build: module version, VCS revision and Go version; always 1.",
		ConstLabels: prometheus.Labels{"version": version, "revision": revision, "goversion": runtime.Version()},
	}).Set(1)
	f.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "outagewatch_statuspage_series",
		Help: "Series whose last hour the status page keeps; it keeps at most 4096.",
	}, func() float64 { n, _ := history.Len(); return float64(n) })
	f.NewCounterFunc(prometheus.CounterOpts{
		Name: "outagewatch_statuspage_samples_refused_total",
		Help: "Samples of series the status page keeps no history for, because it keeps 4096 series already.",
	}, func() float64 { _, refused := history.Len(); return float64(refused) })
}
