package memlimit

import (
	"fmt"
	"io/fs"
	"strings"
)

// Sources of the ceiling, as Limits.Source reports them.
const (
	SourceConfig     = "memory.limit"
	SourceGOMEMLIMIT = "GOMEMLIMIT"
	SourceNone       = "none"
)

// Limits is what Discover found: the ceiling, where it came from, and the soft limit to set.
type Limits struct {
	// Ceiling is the memory the process must stay under, in bytes; 0 for none.
	Ceiling int64
	// Source says where Ceiling came from: SourceConfig, SourceGOMEMLIMIT, "cgroup v2",
	// "cgroup v1" or SourceNone.
	Source string
	// SoftLimit is the Go soft limit to set with debug.SetMemoryLimit, in bytes; 0 leaves the
	// runtime's as it is (none, or the GOMEMLIMIT the user set).
	SoftLimit int64
	// GOMEMLIMIT is the user's GOMEMLIMIT as set ("" when unset), for the log line.
	GOMEMLIMIT string
}

// Discover finds the ceiling, in falling precedence: cfg.Limit (None: no ceiling), the
// GOMEMLIMIT environment variable, the cgroup limit read from fsys (the file system root). The
// soft limit is cfg.SoftLimit of the ceiling, except that a GOMEMLIMIT the user set is never
// raised: with GOMEMLIMIT as the ceiling it stays the soft limit as the runtime already has it,
// and with memory.limit above it the lower of the two wins. GOMEMLIMIT=off keeps the runtime
// without a soft limit while the cgroup still sets the ceiling that shedding guards.
func Discover(cfg Config, getenv func(string) string, fsys fs.FS) (Limits, error) {
	l := Limits{GOMEMLIMIT: strings.TrimSpace(getenv("GOMEMLIMIT"))}
	var userSoft int64 // the user's GOMEMLIMIT in bytes; 0 when unset or off
	userOff := strings.EqualFold(l.GOMEMLIMIT, "off")
	if l.GOMEMLIMIT != "" && !userOff {
		n, err := ParseBytes(l.GOMEMLIMIT)
		if err != nil {
			return Limits{}, fmt.Errorf("GOMEMLIMIT: %w", err)
		}
		userSoft = n
	}
	switch {
	case cfg.Limit == None:
		return Limits{Source: SourceNone, GOMEMLIMIT: l.GOMEMLIMIT}, nil
	case cfg.Limit > 0:
		l.Ceiling, l.Source = int64(cfg.Limit), SourceConfig
	case userSoft > 0:
		l.Ceiling, l.Source = userSoft, SourceGOMEMLIMIT
		return l, nil // the runtime applied it already
	default:
		n, version, err := CgroupLimit(fsys)
		if err != nil {
			return Limits{}, fmt.Errorf("memory limit from the cgroup (set memory.limit to skip it): %w", err)
		}
		if n == 0 {
			l.Source = SourceNone
			return l, nil
		}
		l.Ceiling, l.Source = n, version
	}
	if userOff {
		return l, nil
	}
	l.SoftLimit = int64(float64(l.Ceiling) * cfg.SoftLimit)
	if userSoft > 0 && userSoft < l.SoftLimit {
		l.SoftLimit = 0 // the user's lower GOMEMLIMIT stays
	}
	return l, nil
}
