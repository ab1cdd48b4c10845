package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/outagewatch/outagewatch/internal/sdnotify"
)

// configError is an invalid configuration or command line (exit code 2).
type configError struct{ error }

func (e configError) Unwrap() error { return e.error }

// loggedError is a failure the daemon's log already holds, once; main prints nothing more.
type loggedError struct{ error }

func (e loggedError) Unwrap() error { return e.error }

// run is the whole daemon: it loads and validates the configuration, builds every component,
// starts them, and returns when ctx ends (after the ordered shutdown) or a part fails. started,
// when not nil, is called once everything listens (tests use it to learn the bound addresses).
//
// Each value on reload (SIGHUP in main; nil in tests that send none) reloads the configuration
// (reload.go). systemd hears of the start, reloads and the shutdown (sd_notify).
func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer, started func(*app), reload <-chan os.Signal) error {
	cfg, opts, err := loadConfig(args, getenv)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(stdout, err)
		return err
	}
	if err != nil {
		return configError{err}
	}
	if opts.configCheck {
		fmt.Fprintln(stdout, "configuration is valid")
		return nil
	}
	logger, level := newLevelledLogger(cfg.Log, stdout)
	mem, restoreMemoryLimit, err := applyMemoryLimit(cfg.Memory, getenv, os.DirFS("/"), logger)
	if err != nil {
		return configError{err}
	}
	defer restoreMemoryLimit()
	a, err := newApp(cfg, mem.Ceiling, logger)
	if err != nil {
		return configError{err}
	}
	notify := sdnotify.New(getenv)
	a.reloader = newReloader(a, func() (Config, error) {
		cfg, _, err := loadConfig(args, getenv)
		return cfg, err
	}, level, notify)
	if err := a.start(ctx); err != nil {
		logger.Error("watcher failed to start", "err", err)
		return loggedError{err}
	}
	logger.Info("watcher started", "api_addr", a.apiAddr(), "otlp_grpc_addr", a.ingest.GRPCAddr(), "otlp_http_addr", a.ingest.HTTPAddr())
	if err := notify.Ready("serving"); err != nil {
		logger.Warn("could not tell systemd the daemon is ready", "err", err)
	}
	if started != nil {
		started(a)
	}
	rctx, stopReloads := context.WithCancel(ctx)
	defer stopReloads()
	go func() {
		for {
			select {
			case <-rctx.Done():
				return
			case <-reload:
				_, _ = a.reloader.Reload(rctx) // logged and counted there
			}
		}
	}()
	err = a.sup.Run(ctx)
	_ = notify.Stopping()
	if err != nil {
		// The supervisor has logged the part's failure and each failed step, once each.
		logger.Error("watcher stopped after a failure")
		return loggedError{err}
	}
	logger.Info("watcher stopped")
	return nil
}

func newLogger(cfg LogConfig, w io.Writer) *slog.Logger {
	l, _ := newLevelledLogger(cfg, w)
	return l
}

// newLevelledLogger returns the daemon's logger and its level, which a reload changes.
func newLevelledLogger(cfg LogConfig, w io.Writer) (*slog.Logger, *slog.LevelVar) {
	level := new(slog.LevelVar)
	level.Set(cfg.SlogLevel())
	opts := &slog.HandlerOptions{Level: level}
	if cfg.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts)), level
	}
	return slog.New(slog.NewTextHandler(w, opts)), level
}
