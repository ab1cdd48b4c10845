package engine

import (
	"fmt"

	"github.com/outagewatch/outagewatch/detectors"
)

// Reconfigure applies new detector settings to the running engine (a configuration reload),
// from any goroutine. The engine keeps its Limits (they are ingest's caps, set when the daemon
// started): d.Limits is ignored. An invalid d is refused with every invalid field and changes
// nothing; a d equal to the settings in force changes nothing either.
//
// Otherwise the engine is rebuilt with d from a snapshot of the running one, under the lock
// that serialises calls and ticks, so that no call is lost or seen twice: every series keeps
// its state, baselines, latched alarms and local verdicts, and the statuses are published at
// once, with no transition. The new settings judge the next call or tick (an alarm already
// latched keeps the hold-down it was given). What the snapshot does not hold starts again: the
// retried requests remembered for max_retry_errors, and the calibration cache.
func (r *Runner) Reconfigure(d detectors.Config) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	d.Limits = r.cfg.Detectors.Limits
	if err := d.Validate(); err != nil {
		return err
	}
	if d == r.cfg.Detectors {
		return nil
	}
	data, err := r.engine.Snapshot()
	if err != nil {
		return fmt.Errorf("reconfigure detectors: %w", err)
	}
	e, err := detectors.NewEngine(d)
	if err != nil {
		return err
	}
	if err := e.Restore(data); err != nil {
		return fmt.Errorf("reconfigure detectors: %w", err)
	}
	r.engine = e
	r.cfg.Detectors = d
	r.trans = r.trans[:0]
	r.publish(r.now())
	r.logger.Info("detector settings reloaded")
	return nil
}

// DetectorConfig returns the detector settings in force (the engine's own).
func (r *Runner) DetectorConfig() detectors.Config {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.engine.Config()
}
