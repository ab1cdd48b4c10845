package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/pprof"
	"runtime"
	"runtime/debug"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/outagewatch/outagewatch/alerts"
	"github.com/outagewatch/outagewatch/health"
	"github.com/outagewatch/outagewatch/incidents"
	"github.com/outagewatch/outagewatch/ingest"
	"github.com/outagewatch/outagewatch/ingest/hosts"
	"github.com/outagewatch/outagewatch/statuspage"
	"github.com/outagewatch/outagewatch/vendorstatus"
)

// readyChecker is a component whose readiness /readyz aggregates.
type readyChecker interface {
	Check(ctx context.Context) error
}

func (a *app) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("GET /readyz", a.readyz)
	fresh := ingestFreshness(a.pipeline)
	health.NewAPI(a.board, health.HTTPOptions{Heartbeat: a.cfg.Health.SSEHeartbeat, Freshness: fresh, VendorStatus: vendorSource(a.vendor)}).Register(mux)
	incidents.NewAPI(a.store, a.incidents, a.security.mutationTokens()).Register(mux)
	alerts.NewSilenceAPI(a.store, a.security.mutationTokens()).Register(mux)
	mux.HandleFunc("POST /-/reload", func(w http.ResponseWriter, r *http.Request) { a.reloader.reloadHandler(w, r) })
	// The provider hosts in force: a reload may change them.
	mux.HandleFunc("GET /v1/hosts", func(w http.ResponseWriter, r *http.Request) {
		a.hosts.Handler(a.pipeline.ProviderHosts()).ServeHTTP(w, r)
	})
	popts := statuspage.Options{
		GrafanaURL: a.cfg.Links.GrafanaURL, Freshness: fresh, SilenceAfter: a.cfg.Detectors.SilenceMin,
		VendorStatus: vendorSource(a.vendor),
		Endpoints:    endpoints(a.hosts, a.pipeline.ProviderHosts),
	}
	if a.cluster != nil {
		mux.Handle("GET /v1/cluster", a.cluster.node.Handler())
		popts.Cluster = a.cluster.node.Line
	} else {
		mux.HandleFunc("GET /v1/cluster", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"role":"single","members":[]}`+"\n")
		})
	}
	statuspage.New(a.board, a.history, a.store, a.store, popts).Register(mux)
	mux.Handle("GET /metrics", a.pipeline.MetricsHandler(a.reg, health.StateFamilies(a.board, a.reg)))
	if a.cfg.API.Pprof {
		mux.HandleFunc("GET /debug/pprof/", pprof.Index)
		mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	}
	var h http.Handler = logMutations(mux, a.security.apiTokens, a.logger)
	if a.cfg.API.Auth.ProtectReads {
		h = a.security.protectReads(h)
	}
	return h
}

// vendorSource adapts the providers' status pages' board to health's port.
func vendorSource(b *vendorstatus.Board) health.VendorStatusSourceFunc { return b.Get }

// ingestFreshness adapts the pipeline's freshness to health's: health must not import ingest.
func ingestFreshness(p *ingest.Pipeline) health.FreshnessSourceFunc {
	return func(now time.Time) health.Freshness {
		f := p.Freshness(now)
		out := health.Freshness{Start: f.Start, LastSpan: f.LastSpan, CallsPerSecond: f.CallsPerSecond,
			Providers: make([]health.ProviderFreshness, len(f.Providers))}
		for i, pf := range f.Providers {
			out.Providers[i] = health.ProviderFreshness(pf)
		}
		return out
	}
}

// endpoints adapts the hosts listing to the status page's: statuspage must not import ingest.
func endpoints(m *hosts.Map, configured func() map[string]string) func() []statuspage.Endpoint {
	return func() []statuspage.Endpoint {
		list := m.Listing(configured())
		out := make([]statuspage.Endpoint, len(list))
		for i, e := range list {
			out[i] = statuspage.Endpoint{Host: e.Host, Route: e.Route, Provider: e.Provider, Source: e.Source, Attributed: e.Attributed}
			if e.LastSeen != nil {
				out[i].LastSeen = *e.LastSeen
			}
		}
		return out
	}
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
