package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/outagewatch/outagewatch/detectors"
)

// snapshotName is the key of the engine's snapshot in the store.
const snapshotName = "engine"

// errNoSnapshots is returned by Save and Restore without a snapshot store.
var errNoSnapshots = errors.New("engine: no snapshot store")

// Snapshot encodes the engine's state and baselines.
func (r *Runner) Snapshot() ([]byte, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.engine.Snapshot()
}

// Save writes a snapshot to the store.
func (r *Runner) Save(ctx context.Context) error {
	if r.deps.Snapshots == nil {
		return errNoSnapshots
	}
	start := r.now()
	data, err := r.Snapshot()
	if err != nil {
		return err
	}
	if err := r.deps.Snapshots.SaveBaselines(ctx, snapshotName, data, start); err != nil {
		r.m.snapshotErrors.Inc()
		return fmt.Errorf("save snapshot: %w", err)
	}
	total := len(data)
	for _, c := range r.deps.Companions {
		cdata, err := c.Snapshot()
		if err == nil {
			err = r.deps.Snapshots.SaveBaselines(ctx, c.SnapshotName(), cdata, start)
		}
		if err != nil {
			r.m.snapshotErrors.Inc()
			return fmt.Errorf("save snapshot %s: %w", c.SnapshotName(), err)
		}
		total += len(cdata)
	}
	r.m.snapshotBytes.Set(float64(total))
	r.m.snapshotSaved.SetToCurrentTime()
	return nil
}

// Restore loads the snapshot an earlier process saved and publishes the restored statuses at
// once, so that the board answers with the states of before the restart before any traffic
// comes. It restores nothing, and says so, when the engine has already seen calls or nothing
// was saved; it reports whether it restored.
func (r *Runner) Restore(ctx context.Context) (bool, error) {
	if r.deps.Snapshots == nil {
		return false, errNoSnapshots
	}
	data, err := r.deps.Snapshots.LoadBaselines(ctx, snapshotName)
	if err != nil {
		return false, fmt.Errorf("load snapshot: %w", err)
	}
	if data == nil {
		r.logger.Info("no saved snapshot: cold start")
		return false, nil
	}
	restored, series, err := r.restore(data)
	if err != nil || !restored {
		return false, err
	}
	for _, c := range r.deps.Companions {
		cdata, err := r.deps.Snapshots.LoadBaselines(ctx, c.SnapshotName())
		if err == nil && cdata != nil {
			err = c.Restore(cdata)
		}
		if err != nil {
			// The baselines are restored; a companion's state is relearned from traffic.
			r.logger.Warn("snapshot part not restored", "part", c.SnapshotName(), "err", err)
		}
	}
	r.Flush()
	r.logger.Info("snapshot restored", "bytes", len(data), "series", series)
	return true, nil
}

// restore loads data into the engine, unless it has seen calls, and publishes the statuses.
func (r *Runner) restore(data []byte) (bool, int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.seen {
		r.logger.Info("snapshot not restored: calls came first")
		return false, 0, nil
	}
	if err := r.engine.Restore(data); err != nil {
		return false, 0, fmt.Errorf("restore snapshot: %w", err)
	}
	r.trans = r.trans[:0]
	r.publish(r.now())
	return true, len(r.statuses), nil
}

// saveLoop saves a snapshot every SnapshotInterval and, at most every SnapshotMinGap, after
// state changes, until ctx ends. Failures are retried at the next occasion.
func (r *Runner) saveLoop(ctx context.Context) {
	t := time.NewTicker(r.cfg.SnapshotInterval)
	defer t.Stop()
	var last time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-r.dirty:
			if wait := r.cfg.SnapshotMinGap - r.now().Sub(last); wait > 0 {
				select {
				case <-ctx.Done():
					return
				case <-time.After(wait):
				}
			}
		}
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		if err := r.Save(sctx); err != nil {
			r.logger.Warn("save snapshot, will retry", "err", err)
		}
		cancel()
		last = r.now()
	}
}

// Reload replaces the engine's state with the snapshot in the store, whatever the engine has
// seen, and publishes the restored statuses: for a replica that takes over the leadership of
// its cluster (docs/cluster.md), whose own engine saw only its own traffic, so that it
// continues from the old leader's last saved states and baselines (a model that was down stays
// down). Nothing saved: the engine is kept as it is. It reports whether it reloaded.
func (r *Runner) Reload(ctx context.Context) (bool, error) {
	if r.deps.Snapshots == nil {
		return false, errNoSnapshots
	}
	data, err := r.deps.Snapshots.LoadBaselines(ctx, snapshotName)
	if err != nil || data == nil {
		return false, err
	}
	// Under mu: Reconfigure may change the detector settings at the same time (a reload of the
	// configuration during a takeover), and the engine built here must have the new ones.
	r.mu.Lock()
	e, err := detectors.NewEngine(r.cfg.Detectors)
	if err == nil {
		if err = e.Restore(data); err != nil {
			err = fmt.Errorf("reload snapshot: %w", err)
		}
	}
	if err != nil {
		r.mu.Unlock()
		return false, err
	}
	r.engine = e
	r.trans = r.trans[:0]
	r.publish(r.now())
	r.mu.Unlock()
	for _, c := range r.deps.Companions {
		if cdata, err := r.deps.Snapshots.LoadBaselines(ctx, c.SnapshotName()); err == nil && cdata != nil {
			if err := c.Restore(cdata); err != nil {
				r.logger.Warn("snapshot part not reloaded", "part", c.SnapshotName(), "err", err)
			}
		}
	}
	r.Flush()
	r.logger.Info("snapshot reloaded", "bytes", len(data))
	return true, nil
}
