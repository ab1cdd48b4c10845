package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/outagewatch/outagewatch/alerts"
	"github.com/outagewatch/outagewatch/alerts/slack"
	"github.com/outagewatch/outagewatch/incidents"
	"github.com/outagewatch/outagewatch/internal/sdnotify"
)

// reloader applies the configuration file again to the running daemon, on SIGHUP and on
// POST /-/reload (the Prometheus convention). The new configuration is loaded and validated
// whole first (the same file, environment and flags as at start, so a secret's _FILE is read
// again); an invalid one changes nothing. What can change live does (docs/operations.md,
// "Reloading"): the log level, the detector settings, the provider hosts, the alerts, the TLS
// certificates and the bearer tokens. Everything else needs a restart: a reload that changes
// it says so in the log and in its answer, and keeps the running value.
type reloader struct {
	a      *app
	load   func() (Config, error)
	level  *slog.LevelVar
	notify *sdnotify.Notifier
	now    func() time.Time
	// monotonic is the time since the process started, for systemd's RELOADING=1.
	monotonic func() time.Duration

	// mu serialises reloads; current is the configuration in force.
	mu      sync.Mutex
	current Config

	success     prometheus.Gauge
	successTime prometheus.Gauge
	reloads     *prometheus.CounterVec
}

// reloadResult is what a reload did: the settings applied and those kept until a restart.
type reloadResult struct {
	Applied     []string `json:"applied"`
	NeedRestart []string `json:"need_restart,omitempty"`
}

func newReloader(a *app, load func() (Config, error), level *slog.LevelVar, notify *sdnotify.Notifier) *reloader {
	f := promauto.With(a.reg)
	start := time.Now()
	r := &reloader{
		a: a, load: load, level: level, notify: notify, now: time.Now, current: a.cfg,
		monotonic: func() time.Duration { return time.Since(start) },
		success: f.NewGauge(prometheus.GaugeOpts{
			Name: "outagewatch_config_last_reload_successful",
			Help: "Whether the last configuration reload succeeded (1) or was refused and the running configuration kept (0).",
		}),
		successTime: f.NewGauge(prometheus.GaugeOpts{
			Name: "outagewatch_config_last_reload_success_timestamp_seconds",
			Help: "When the configuration was last loaded successfully, at start or by a reload.",
		}),
		reloads: f.NewCounterVec(prometheus.CounterOpts{
			Name: "outagewatch_config_reloads_total",
			Help: "Configuration reloads, by result (success, failure).",
		}, []string{"result"}),
	}
	r.success.Set(1)
	r.successTime.Set(float64(r.now().UnixMilli()) / 1e3)
	r.reloads.WithLabelValues("success")
	r.reloads.WithLabelValues("failure")
	return r
}

// Reload loads the configuration again and applies what can change live. ctx is the caller's;
// a reload is short (a file read, the engine's snapshot and restore) and is not cut by it.
func (r *reloader) Reload(context.Context) (reloadResult, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	_ = r.notify.Reloading(r.monotonic())
	defer func() { _ = r.notify.Ready("serving") }()
	res, err := r.reload()
	if err != nil {
		r.success.Set(0)
		r.reloads.WithLabelValues("failure").Inc()
		r.a.logger.Error("configuration reload failed: the running configuration is kept", "err", err)
		return res, err
	}
	r.success.Set(1)
	r.successTime.Set(float64(r.now().UnixMilli()) / 1e3)
	r.reloads.WithLabelValues("success").Inc()
	r.a.logger.Info("configuration reloaded", "applied", res.Applied, "need_restart", res.NeedRestart)
	for _, name := range res.NeedRestart {
		r.a.logger.Warn("configuration change needs a restart: the running value is kept", "setting", name)
	}
	return res, nil
}

func (r *reloader) reload() (reloadResult, error) {
	next, err := r.load()
	if err != nil {
		return reloadResult{}, err
	}
	// live is the running configuration with the settings that change live taken from next.
	live := r.current
	var apply []func() error
	var res reloadResult
	take := func(name string, changed bool, set func(), do func() error) {
		if changed {
			set()
			res.Applied = append(res.Applied, name)
			if do != nil {
				apply = append(apply, do)
			}
		}
	}
	take("log.level", next.Log.Level != live.Log.Level, func() { live.Log.Level = next.Log.Level }, func() error {
		r.level.Set(next.Log.SlogLevel())
		return nil
	})
	take("detectors", !reflect.DeepEqual(next.Detectors, live.Detectors), func() { live.Detectors = next.Detectors }, func() error {
		return r.a.engine.Reconfigure(next.Detectors)
	})
	take("ingest.provider_hosts", !reflect.DeepEqual(next.Ingest.ProviderHosts, live.Ingest.ProviderHosts), func() { live.Ingest.ProviderHosts = next.Ingest.ProviderHosts }, func() error {
		return r.a.pipeline.SetProviderHosts(next.Ingest.ProviderHosts)
	})
	nextAlerts, liveAlerts := next.alertsConfig(), live.alertsConfig()
	// The targets' secret and token files are read again on every reload, like TLS files: a bad
	// one refuses the reload before anything is applied.
	dests, err := r.a.targetDestinations(nextAlerts)
	if err != nil {
		return reloadResult{}, err
	}
	take("alerts.targets", len(nextAlerts.Targets)+len(liveAlerts.Targets) > 0, func() { live.Alerts.Targets = next.Alerts.Targets }, func() error {
		return r.a.targets.Set(nextAlerts, dests)
	})
	take("alerts", !reflect.DeepEqual(nextAlerts, liveAlerts), func() { live.Alerts, live.Links = next.Alerts, next.Links }, func() error {
		var n alerts.Notifier
		if nextAlerts.Enabled() {
			s, err := slack.New(nextAlerts, r.a.logger)
			if err != nil {
				return fmt.Errorf("slack: %w", err)
			}
			n = s
		}
		return r.a.alerts.Reconfigure(nextAlerts, n)
	})
	// The files behind TLS certificates and bearer tokens are read again on every reload, even
	// when their paths did not change: that is how a rotated certificate or token is taken.
	files, err := r.a.security.reload(next, live)
	if err != nil {
		return reloadResult{}, err
	}
	res.Applied = append(res.Applied, files.applied...)
	files.keep(&live)
	res.NeedRestart = diffPaths(reflect.ValueOf(live), reflect.ValueOf(next), "")
	for _, do := range apply {
		if err := do(); err != nil {
			return res, err
		}
	}
	files.commit()
	r.current = live
	if res.Applied == nil {
		res.Applied = []string{}
	}
	return res, nil
}

// diffPaths names the settings whose values differ between a and b (two Configs, or parts of
// them), by their YAML paths ("api.addr"); a setting set only from the environment is named by
// its field ("store.PostgresDSN").
func diffPaths(a, b reflect.Value, prefix string) []string {
	if a.Kind() != reflect.Struct {
		if reflect.DeepEqual(a.Interface(), b.Interface()) {
			return nil
		}
		return []string{prefix}
	}
	var out []string
	t := a.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() || f.Type.Kind() == reflect.Func {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "" || name == "-" {
			name = f.Name
		}
		if prefix != "" {
			name = prefix + "." + name
		}
		out = append(out, diffPaths(a.Field(i), b.Field(i), name)...)
	}
	slices.Sort(out)
	return out
}

// reloadHandler serves POST /-/reload, a mutation (one of the API's bearer tokens): 200 with
// what was applied and what needs a restart, or 500 with why the configuration was refused (the
// running one is kept).
func (r *reloader) reloadHandler(w http.ResponseWriter, req *http.Request) {
	if _, ok := incidents.Authorize(w, req, r.a.security.mutationTokens()); !ok {
		return
	}
	res, err := r.Reload(req.Context())
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "configuration refused, the running one is kept: " + err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// writeJSON answers code with v as JSON.
func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
