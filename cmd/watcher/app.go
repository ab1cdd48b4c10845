package main

import (
	"fmt"
	"io/fs"
	"log/slog"
	"math"
	"net"
	"net/http"
	"runtime/debug"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/outagewatch/outagewatch/alerts"
	"github.com/outagewatch/outagewatch/alerts/slack"
	"github.com/outagewatch/outagewatch/cluster"
	"github.com/outagewatch/outagewatch/detectors"
	"github.com/outagewatch/outagewatch/engine"
	"github.com/outagewatch/outagewatch/health"
	"github.com/outagewatch/outagewatch/incidents"
	"github.com/outagewatch/outagewatch/ingest"
	"github.com/outagewatch/outagewatch/ingest/agentlogs"
	"github.com/outagewatch/outagewatch/ingest/genaimetrics"
	"github.com/outagewatch/outagewatch/ingest/hosts"
	"github.com/outagewatch/outagewatch/internal/memlimit"
	"github.com/outagewatch/outagewatch/internal/supervisor"
	"github.com/outagewatch/outagewatch/statuspage"
	"github.com/outagewatch/outagewatch/store"
	"github.com/outagewatch/outagewatch/vendorstatus"
	"github.com/outagewatch/outagewatch/vendorstatus/leadtime"
)

// The lazy store serves the alert worker and the silences API: asserted here, where they meet.
var (
	_ alerts.Outbox       = (*store.Lazy)(nil)
	_ alerts.Settler      = (*store.Lazy)(nil)
	_ alerts.Reader       = (*store.Lazy)(nil)
	_ alerts.SilenceStore = (*store.Lazy)(nil)
	_ alerts.TargetStore  = (*store.Lazy)(nil)
)

// app holds the running daemon: every component, built by newApp, started by start, and run and
// stopped by sup. Its fields are read-only after start.
type app struct {
	cfg    Config
	logger *slog.Logger
	reg    *prometheus.Registry
	sup    *supervisor.Supervisor

	pipeline *ingest.Pipeline
	// hosts are the endpoint hosts ingest learned to serve a provider, saved with the baselines.
	hosts  *hosts.Map
	ingest *ingest.Server
	engine *engine.Runner
	board  *health.Board
	// history keeps the last hour of every series' figures for the status page.
	history   *statuspage.History
	store     *store.Lazy
	incidents *incidents.Manager
	alerts    *alerts.Dispatcher
	targets   *alerts.Targets
	// vendor is what the providers' own status pages say, kept by vendorPoller (issue 25).
	vendor       *vendorstatus.Board
	vendorPoller *vendorstatus.Poller
	// healthGRPC serves grpc.health.v1 on the OTLP gRPC server, and on healthOwn (with
	// healthLn) when health.grpc_addr is set.
	healthGRPC *health.GRPCServer
	healthOwn  *grpc.Server
	healthLn   net.Listener
	api        *http.Server
	apiLn      net.Listener

	// cluster holds a replica's cluster parts (cluster.go); nil on a single node.
	cluster *clusterParts

	// memory sheds load before the process reaches its memory ceiling: memory.Shed is the
	// receivers' admission hook (ingest.AdmissionConfig.Shed); it never sheds without a ceiling.
	memory *memlimit.Shedder

	// security holds the TLS servers and bearer tokens (security.go); reloader applies the
	// configuration again on SIGHUP and POST /-/reload (reload.go), set by run before start.
	security *security
	reloader *reloader

	// stopping is set when shutdown begins, so that /readyz turns 503 at once.
	stopping atomic.Bool
	checks   map[string]readyChecker
}

// newApp builds every component from a validated configuration and the memory ceiling in
// bytes (0 for none; see applyMemoryLimit). It starts and binds nothing.
func newApp(cfg Config, memoryCeiling int64, logger *slog.Logger) (*app, error) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	a := &app{cfg: cfg, logger: logger, reg: reg, sup: supervisor.New(logger), store: &store.Lazy{}}
	a.memory = memlimit.NewShedder(cfg.Memory, memoryCeiling, memlimit.ShedderOptions{Registerer: reg})
	sec, err := newSecurity(cfg, logger)
	if err != nil {
		return nil, err
	}
	a.security = sec
	sec.register(reg)
	a.board = health.NewBoard()
	mgr, err := incidents.NewManager(cfg.Incidents, a.store, reg, logger)
	if err != nil {
		return nil, fmt.Errorf("incidents: %w", err)
	}
	a.incidents = mgr
	ecfg := engine.DefaultConfig()
	ecfg.Detectors, ecfg.SnapshotInterval = cfg.Detectors, cfg.Store.BaselineInterval
	ecfg.Detectors.Limits = detectors.Limits{MaxProviders: cfg.Ingest.MaxProviders, MaxModelsPerProvider: cfg.Ingest.MaxModelsPerProvider}
	a.hosts = hosts.New()
	edeps := engine.Deps{
		Board: a.board, Transitions: []engine.TransitionHandler{mgr}, Snapshots: a.store,
		Companions: []engine.Companion{a.hosts}, Registerer: reg, Logger: logger,
	}
	var (
		outbox  alerts.Outbox = a.store
		gate    func(alerts.Outbox) alerts.Outbox
		leading func() bool
	)
	if cfg.clustered() {
		// The node stands between the engine and what it feeds; the next leader continues from
		// the snapshot, saved at most a second after a state change.
		a.cluster = &clusterParts{node: cluster.New(cluster.Deps{Incidents: mgr, Board: a.board, Logger: logger})}
		node := a.cluster.node
		edeps.Board, edeps.Transitions, edeps.Snapshots = node, []engine.TransitionHandler{node}, snapshotGate{store: a.store, node: node}
		ecfg.SnapshotMinGap = time.Second
		gate = func(o alerts.Outbox) alerts.Outbox { return outboxGate{Outbox: o, node: node} }
		outbox, leading = gate(a.store), node.Leading
	}
	a.engine, err = engine.New(ecfg, edeps)
	if err != nil {
		return nil, fmt.Errorf("detection engine: %w", err)
	}
	var consumer ingest.Consumer = a.engine
	if a.cluster != nil {
		a.cluster.node.SetEngine(a.engine)
		consumer = a.cluster.node
	}
	acfg := cfg.alertsConfig()
	var notifier alerts.Notifier
	if acfg.Enabled() {
		if notifier, err = slack.New(acfg, logger); err != nil {
			return nil, fmt.Errorf("slack: %w", err)
		}
	}
	alertMetrics := alerts.NewMetrics(reg)
	a.alerts, err = alerts.New(acfg, alerts.Deps{
		Outbox: outbox, Settler: a.store, Reader: a.store, Notifier: notifier,
		Silences: alerts.CheckSilences(a.store), Metrics: alertMetrics, Logger: logger,
	})
	if err != nil {
		return nil, fmt.Errorf("alerts: %w", err)
	}
	// The targets besides Slack (Alertmanagers, webhooks), each on its own queue.
	a.targets, err = alerts.NewTargets(alerts.TargetDeps{
		Store: a.store, Reader: a.store, Silences: alerts.CheckSilences(a.store), Metrics: alertMetrics,
		Logger: logger, Gate: gate, Leading: leading,
	})
	if err != nil {
		return nil, err
	}
	dests, err := a.targetDestinations(acfg)
	if err != nil {
		return nil, err
	}
	if err := a.targets.Set(acfg, dests); err != nil {
		return nil, err
	}
	// The providers' own status pages, beside our verdict (docs/vendorstatus.md).
	a.vendor = vendorstatus.NewBoard()
	linker, err := leadtime.New(leadtime.Options{Incidents: a.store, Writer: a.store, Registerer: reg, Logger: logger})
	if err != nil {
		return nil, err
	}
	if a.vendorPoller, err = vendorstatus.NewPoller(cfg.ProviderStatus, a.vendor, vendorstatus.PollerOptions{
		Registerer: reg, Logger: logger, OnUpdate: a.linkVendor(linker),
	}); err != nil {
		return nil, fmt.Errorf("provider status: %w", err)
	}
	// Coding agents' log events and GenAI metrics become calls too (docs/normalisation.md); the
	// metrics of a service that sends spans are skipped, so that no call counts twice.
	genai := genaimetrics.New(genaimetrics.Options{})
	popts := ingest.PipelineOptions{
		Hosts: a.hosts, LogCalls: agentlogs.Calls, MetricCalls: genai.Calls,
		SpanCalls: func(calls []detectors.Call) {
			last := ""
			for i := range calls {
				if svc := calls[i].ServiceCaller(); svc != last || i == len(calls)-1 {
					genai.SpanSeen(svc, calls[i].Time)
					last = svc
				}
			}
		},
	}
	if a.pipeline, err = ingest.NewPipeline(cfg.Ingest, consumer, reg, logger, popts); err != nil {
		return nil, fmt.Errorf("ingest pipeline: %w", err)
	}
	icfg := cfg.Ingest
	// The receivers refuse new requests with their retryable status while memory is short.
	icfg.Admission.Shed = a.memory.Shed
	icfg.Security = a.security.ingest()
	if a.ingest, err = ingest.NewServer(icfg, a.pipeline, logger); err != nil {
		return nil, fmt.Errorf("ingest server: %w", err)
	}
	a.healthGRPC = health.NewGRPCServer(a.board)
	a.healthGRPC.Register(a.ingest.GRPC())
	if a.cluster != nil {
		if err := a.registerCluster(); err != nil {
			return nil, err
		}
	}
	if cfg.Health.GRPCAddr != "" {
		var opts []grpc.ServerOption
		if a.security.ingestTLS != nil {
			opts = append(opts, grpc.Creds(credentials.NewTLS(a.security.ingestTLS.TLSConfig())))
		}
		a.healthOwn = grpc.NewServer(opts...)
		a.healthGRPC.Register(a.healthOwn)
	}
	reg.MustRegister(health.NewCollector(a.board), health.NewVersionGauge(a.board))
	a.history = statuspage.NewHistory(a.board, 10*time.Second, time.Hour)
	registerOwnMetrics(reg, a.history)
	a.checks = map[string]readyChecker{"ingest": a.ingest, "store": a.store, "incidents": mgr, "alerts": a.alerts, "alert targets": a.targets, "memory": a.memory}
	a.api = &http.Server{
		Handler:           a.routes(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	return a, nil
}

// applyMemoryLimit finds the memory ceiling (memory.limit, else GOMEMLIMIT, else the cgroup
// under root) and sets the Go soft limit below it. The soft limit is process-wide state, so it
// is set here, at the edge, once per run; restore puts back the one before (tests run the
// daemon several times in one process). It logs what it found once.
func applyMemoryLimit(cfg memlimit.Config, getenv func(string) string, root fs.FS, logger *slog.Logger) (lim memlimit.Limits, restore func(), err error) {
	lim, err = memlimit.Discover(cfg, getenv, root)
	if err != nil {
		return memlimit.Limits{}, nil, fmt.Errorf("memory: %w", err)
	}
	restore = func() {}
	if lim.SoftLimit > 0 {
		prev := debug.SetMemoryLimit(lim.SoftLimit)
		restore = func() { debug.SetMemoryLimit(prev) }
	}
	attrs := []any{"source", lim.Source, "ceiling_bytes", lim.Ceiling}
	if lim.Ceiling > 0 {
		soft := debug.SetMemoryLimit(-1) // reads it
		if soft == math.MaxInt64 {
			soft = 0 // GOMEMLIMIT=off
		}
		attrs = append(attrs, "soft_limit_bytes", soft,
			"shed_above_bytes", int64(float64(lim.Ceiling)*cfg.ShedAbove), "shed_below_bytes", int64(float64(lim.Ceiling)*cfg.ShedBelow))
	}
	if lim.GOMEMLIMIT != "" {
		// Say that the user's setting was seen and what became of it: kept as the soft limit
		// (the runtime applied it before main), or lower than what memory.limit would set.
		attrs = append(attrs, "gomemlimit", lim.GOMEMLIMIT, "gomemlimit_kept", lim.SoftLimit == 0)
	}
	logger.Info("memory ceiling", attrs...)
	return lim, restore, nil
}

func (a *app) apiAddr() string {
	if a.apiLn == nil {
		return ""
	}
	return a.apiLn.Addr().String()
}
