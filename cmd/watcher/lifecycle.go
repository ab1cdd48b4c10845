package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/outagewatch/outagewatch/internal/supervisor"
	"github.com/outagewatch/outagewatch/store"
)

// start binds every listener, opens the store, restores the engine's snapshot and the active
// incidents (so that a restarted daemon answers as before it stopped, before any traffic), and
// hands every long-lived part and the shutdown steps to the supervisor. The API and OTLP
// listeners are bound first, so that a port in use fails before anything else is touched; on
// error start releases what it took.
func (a *app) start(ctx context.Context) (err error) {
	var undo []func()
	defer func() {
		if err != nil {
			for i := len(undo) - 1; i >= 0; i-- {
				undo[i]()
			}
		}
	}()
	if a.apiLn, err = net.Listen("tcp", a.cfg.API.Addr); err != nil {
		return fmt.Errorf("listen api %s: %w", a.cfg.API.Addr, err)
	}
	undo = append(undo, func() { _ = a.apiLn.Close() })
	a.logger.Info("api listening", "addr", a.apiLn.Addr().String(), "tls", a.security.apiTLS != nil)
	if a.security.apiTLS != nil {
		a.apiLn = tls.NewListener(a.apiLn, a.security.apiTLS.TLSConfig())
	}
	if a.healthOwn != nil {
		if a.healthLn, err = net.Listen("tcp", a.cfg.Health.GRPCAddr); err != nil {
			return fmt.Errorf("listen health grpc %s: %w", a.cfg.Health.GRPCAddr, err)
		}
		undo = append(undo, func() { _ = a.healthLn.Close() })
		a.logger.Info("health grpc listening", "addr", a.healthLn.Addr().String())
	}
	background, err := a.openStore(ctx)
	if err != nil {
		return err
	}
	undo = append(undo, func() { _ = a.store.Close() })
	if err := a.ingest.Start(); err != nil {
		return err
	}
	if a.cluster != nil {
		if err := a.startCluster(ctx); err != nil {
			return err
		}
	}
	a.supervise(background)
	return nil
}

// openStore opens the store: a failure of the embedded SQLite file is fatal (a configuration
// error); a Postgres that cannot be reached is retried in the background (the part it returns)
// while detection and the health signal run.
func (a *app) openStore(ctx context.Context) (func(context.Context) error, error) {
	opts := store.Options{PostgresDSN: string(a.cfg.Store.PostgresDSN), DataDir: a.cfg.Store.DataDir}
	if a.cluster != nil {
		opts.Fence = a.cluster.node.WriteTerm
	}
	octx, cancel := context.WithTimeout(ctx, 10*time.Second)
	b, what, err := store.Open(octx, opts, a.logger)
	cancel()
	if err == nil {
		a.store.Set(b)
		a.logger.Info("store open", "store", what)
		a.storeOpened(ctx)
		return nil, nil
	}
	if opts.Embedded() {
		return nil, err
	}
	a.logger.Warn("store unreachable at start, detection and health carry on; retrying", "err", err)
	return func(ctx context.Context) error {
		store.OpenInBackground(ctx, opts, a.store, a.logger, a.storeOpened)
		return nil
	}, nil
}

// storeOpened resumes the active incidents and restores the engine's snapshot (states and
// baselines, published to the board at once), so that a restart neither duplicates incidents
// nor starts cold. A snapshot is restored only while the engine has seen no call.
func (a *app) storeOpened(ctx context.Context) {
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := a.incidents.Resume(rctx); err != nil {
		a.logger.Warn("resume incidents", "err", err)
	}
	if _, err := a.engine.Restore(rctx); err != nil {
		a.logger.Warn("restore snapshot", "err", err)
	}
}

// Shutdown budgets, as shares of api.shutdown_timeout (15 s by default); they add up to it.
// Each step gets its own, so that a slow listener never costs the snapshot its turn.
var shutdownShares = map[string]float64{
	stepReadiness: 0.01, stepPush: 0.05, stepReceivers: 0.2, stepQueue: 0.15, stepEngine: 0.05,
	stepSnapshot: 0.15, stepAPI: 0.05, stepIncidents: 0.14, stepAlerts: 0.1, stepOpener: 0.02, stepStore: 0.08,
}

// The shutdown steps, in the order they run.
const (
	stepReadiness = "readiness"
	stepPush      = "health push clients"
	stepReceivers = "otlp receivers"
	stepQueue     = "ingest queue"
	stepEngine    = "detection engine"
	stepSnapshot  = "snapshot"
	stepAPI       = "api"
	stepIncidents = "incidents"
	stepAlerts    = "alerts"
	stepOpener    = "store opener"
	stepStore     = "store"
)

func (a *app) budget(step string) time.Duration {
	return time.Duration(shutdownShares[step] * float64(a.cfg.API.ShutdownTimeout))
}

// supervise registers the long-lived parts and the shutdown steps: readiness off; push clients
// released (gRPC Watch ends UNAVAILABLE, SSE gets event: shutdown, long-polls return); OTLP
// receivers stop; queued spans drain into the engine; the engine delivers its last changes;
// the snapshot is saved; the API stops; the incident writer flushes (or leaves rows pending
// for the next process) and the alert worker records its send in flight; the store closes.
func (a *app) supervise(background func(context.Context) error) {
	s := a.sup
	eng := s.Go("detection engine", a.engine.Run)
	pipe := s.Go("ingest pipeline", a.pipeline.Run)
	inc := s.Go("incidents", a.incidents.Run)
	alr := s.Go("alerts", a.alerts.Run)
	tgt := s.Go("alert targets", a.targets.Run)
	s.Go("status page history", a.history.Run)
	s.Go("provider status pages", a.vendorPoller.Run)
	s.Go("otlp receivers", a.ingest.Wait)
	s.Go("api", func(context.Context) error { return serveHTTP(a.api, a.apiLn) })
	if a.healthOwn != nil {
		s.Go("health grpc", func(context.Context) error { return a.healthOwn.Serve(a.healthLn) })
	}
	var opener *supervisor.Part
	if background != nil {
		opener = s.Go("store opener", background)
	}
	if a.cluster != nil {
		a.superviseCluster()
	}

	s.OnStop(stepReadiness, a.budget(stepReadiness), func(context.Context) error {
		a.stopping.Store(true)
		return nil
	})
	s.OnStop(stepPush, a.budget(stepPush), func(context.Context) error {
		a.board.Close()
		return nil
	})
	s.OnStop(stepReceivers, a.budget(stepReceivers), a.stopReceivers)
	s.OnStop(stepQueue, a.budget(stepQueue), pipe.Stop)
	s.OnStop(stepEngine, a.budget(stepEngine), eng.Stop)
	s.OnStop(stepSnapshot, a.budget(stepSnapshot), func(ctx context.Context) error {
		if _, err := a.store.Backend(); err != nil {
			a.logger.Warn("snapshot not saved: the store never opened", "err", err)
			return nil
		}
		return a.engine.Save(ctx)
	})
	s.OnStop(stepAPI, a.budget(stepAPI), a.api.Shutdown)
	s.OnStop(stepIncidents, a.budget(stepIncidents), func(ctx context.Context) error {
		return errors.Join(inc.Stop(ctx), a.incidents.Drain(ctx))
	})
	// Run returns once its send in flight is recorded, each target's too; they stop together.
	s.OnStop(stepAlerts, a.budget(stepAlerts), func(ctx context.Context) error {
		slack := make(chan error, 1)
		go func() { slack <- alr.Stop(ctx) }()
		return errors.Join(tgt.Stop(ctx), <-slack)
	})
	if opener != nil {
		s.OnStop(stepOpener, a.budget(stepOpener), opener.Stop)
	}
	s.OnStop(stepStore, a.budget(stepStore), func(ctx context.Context) error {
		return errors.Join(a.stopCluster(ctx), a.store.Close())
	})
}

// stopReceivers stops the OTLP listeners and the health gRPC server of its own: in-flight
// exports finish within the budget, then what remains is cut.
func (a *app) stopReceivers(ctx context.Context) error {
	err := a.ingest.Shutdown(ctx)
	if a.healthOwn != nil {
		stopped := make(chan struct{})
		go func() {
			a.healthOwn.GracefulStop()
			close(stopped)
		}()
		select {
		case <-stopped:
		case <-ctx.Done():
			a.healthOwn.Stop()
		}
	}
	return err
}

// serveHTTP serves srv on ln until Shutdown; it returns nil then, and any other error.
func serveHTTP(srv *http.Server, ln net.Listener) error {
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
