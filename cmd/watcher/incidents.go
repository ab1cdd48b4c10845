package main

import (
	"context"
	"fmt"
	"time"

	"github.com/outagewatch/outagewatch/detectors"
)

// baselinesName is the key of the engine's baselines in the store.
const baselinesName = "engine"

// openStore opens the store at start: a failure of the embedded SQLite file is fatal (a
// configuration error), a failure of Postgres is retried in the background while everything
// else runs.
func (a *app) openStore(ctx context.Context) error {
	octx, cancel := context.WithTimeout(ctx, 10*time.Second)
	b, what, err := openBackend(octx, a.cfg.Store, a.logger)
	cancel()
	if err == nil {
		a.store.set(b)
		a.logger.Info("store open", "store", what)
		a.storeOpened(ctx)
		return nil
	}
	if a.cfg.Store.PostgresDSN == "" {
		return err
	}
	a.logger.Warn("store unreachable at start, detection and health carry on; retrying", "err", err)
	a.bg.Go(func() {
		openInBackground(a.bgCtx, a.cfg.Store, a.store, a.logger, a.storeOpened)
	})
	return nil
}

// storeOpened resumes the active incidents and, when no call has been seen yet, restores the
// detectors' baselines, so that a restart neither duplicates incidents nor starts cold.
func (a *app) storeOpened(ctx context.Context) {
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := a.incidents.Resume(rctx); err != nil {
		a.logger.Warn("resume incidents", "err", err)
	}
	b, err := a.store.get()
	if err != nil {
		return
	}
	data, err := b.LoadBaselines(rctx, baselinesName)
	switch {
	case err != nil:
		a.logger.Warn("load baselines", "err", err)
	case data == nil:
		a.logger.Info("no saved baselines: cold start")
	default:
		lim := detectors.Limits{MaxProviders: a.cfg.Ingest.MaxProviders, MaxModelsPerProvider: a.cfg.Ingest.MaxModelsPerProvider}
		if err := a.engine.restore(data, lim); err != nil {
			a.logger.Warn("restore baselines", "err", err)
			return
		}
		a.logger.Info("baselines restored", "bytes", len(data))
	}
}

// saveBaselines writes the detectors' baselines to the store.
func (a *app) saveBaselines(ctx context.Context) error {
	b, err := a.store.get()
	if err != nil {
		return err
	}
	data, err := a.engine.snapshot()
	if err != nil {
		return err
	}
	if err := b.SaveBaselines(ctx, baselinesName, data, time.Now()); err != nil {
		return fmt.Errorf("save baselines: %w", err)
	}
	return nil
}

// saveBaselinesEvery saves the baselines every interval until ctx ends.
func (a *app) saveBaselinesEvery(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			if err := a.saveBaselines(sctx); err != nil {
				a.logger.Warn("save baselines, will retry", "err", err)
			}
			cancel()
		}
	}
}
