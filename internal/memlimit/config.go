package memlimit

import (
	"errors"
	"fmt"
)

// Config chooses the memory ceiling and the thresholds below it. The fractions are of the
// ceiling; the defaults fit a 512 MiB container (soft limit 460.8 MiB, shedding from 435.2 MiB
// until 384 MiB).
type Config struct {
	// Limit is the ceiling (memory.limit, OUTAGEWATCH_MEMORY_LIMIT): Auto finds it from
	// GOMEMLIMIT, else the cgroup; None runs without one.
	Limit Limit `yaml:"limit"`
	// SoftLimit is the fraction of the ceiling given to the Go runtime as its soft limit
	// (debug.SetMemoryLimit): above it the collector works harder to stay below the ceiling.
	SoftLimit float64 `yaml:"soft_limit"`
	// ShedAbove is the fraction of the ceiling above which new work is refused with a retryable
	// status. It sits below SoftLimit so that the daemon refuses work before the collector has
	// to fight for every byte.
	ShedAbove float64 `yaml:"shed_above"`
	// ShedBelow is the fraction under which shedding stops again; the gap to ShedAbove keeps the
	// decision from flapping around one figure.
	ShedBelow float64 `yaml:"shed_below"`
}

// MinLimit is the smallest ceiling accepted: below it the daemon would shed from its start.
const MinLimit Limit = 64 << 20

// DefaultConfig returns the documented defaults: the ceiling found from the environment, the
// soft limit at 90% of it, shedding above 85% until under 75%.
func DefaultConfig() Config {
	return Config{Limit: Auto, SoftLimit: 0.9, ShedAbove: 0.85, ShedBelow: 0.75}
}

// Validate reports every invalid field, named by its path under memory.
func (c Config) Validate() error {
	var errs []error
	if c.Limit > 0 && c.Limit < MinLimit {
		errs = append(errs, fmt.Errorf("memory.limit: must be at least %s, or none, not %s", MinLimit, c.Limit))
	}
	if c.Limit < 0 && c.Limit != None {
		errs = append(errs, errors.New("memory.limit: must not be negative"))
	}
	if !(c.SoftLimit > 0 && c.SoftLimit <= 1) {
		errs = append(errs, fmt.Errorf("memory.soft_limit: must be in (0, 1], not %v", c.SoftLimit))
	}
	if !(c.ShedAbove > 0 && c.ShedAbove <= 1) {
		errs = append(errs, fmt.Errorf("memory.shed_above: must be in (0, 1], not %v", c.ShedAbove))
	}
	if !(c.ShedBelow > 0 && c.ShedBelow < c.ShedAbove) {
		errs = append(errs, errors.New("memory.shed_below: must be > 0 and below memory.shed_above"))
	}
	return errors.Join(errs...)
}
