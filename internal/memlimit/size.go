package memlimit

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Limit is a configured memory ceiling: Auto (the zero value: find it from GOMEMLIMIT or the
// cgroup), None (no ceiling: no soft limit is set and nothing is shed) or a number of bytes.
// Its text form is "" or "0" or "auto", "none", or bytes with an optional unit: "536870912",
// "512MiB", "1GiB", "800MB" (B, KiB, MiB, GiB, TiB; kB, MB, GB, TB).
type Limit int64

// The two limits that are not a number of bytes.
const (
	Auto Limit = 0
	None Limit = -1
)

// units are the accepted suffixes, longest first so that "MiB" is not read as "B".
var units = []struct {
	suffix string
	factor int64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
	{"kB", 1e3}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12},
	{"B", 1},
}

// ParseLimit parses the text form of a Limit.
func ParseLimit(s string) (Limit, error) {
	s = strings.TrimSpace(s)
	switch strings.ToLower(s) {
	case "", "0", "auto":
		return Auto, nil
	case "none":
		return None, nil
	}
	n, err := ParseBytes(s)
	if err != nil {
		return 0, err
	}
	return Limit(n), nil
}

// ParseBytes parses a number of bytes with an optional unit (the units of Limit). It accepts
// GOMEMLIMIT's syntax (a whole number with B, KiB, MiB, GiB or TiB).
func ParseBytes(s string) (int64, error) {
	num, factor := strings.TrimSpace(s), int64(1)
	for _, u := range units {
		if rest, ok := strings.CutSuffix(num, u.suffix); ok {
			num, factor = strings.TrimSpace(rest), u.factor
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil {
		var numErr *strconv.NumError
		if errors.As(err, &numErr) && errors.Is(numErr.Err, strconv.ErrRange) {
			return 0, fmt.Errorf("%q is too large", s)
		}
		return 0, fmt.Errorf("%q is not a size: want bytes or a number with B, KiB, MiB, GiB, TiB, kB, MB, GB or TB, \"none\" or \"auto\"", s)
	}
	if n < 0 {
		return 0, fmt.Errorf("%q is negative", s)
	}
	if n > (1<<63-1)/factor {
		return 0, fmt.Errorf("%q is too large", s)
	}
	return n * factor, nil
}

// UnmarshalText parses the text form (YAML and OUTAGEWATCH_MEMORY_LIMIT).
func (l *Limit) UnmarshalText(text []byte) error {
	v, err := ParseLimit(string(text))
	if err != nil {
		return err
	}
	*l = v
	return nil
}

// MarshalText returns the text form, in the largest binary unit that divides it.
func (l Limit) MarshalText() ([]byte, error) { return []byte(l.String()), nil }

// String returns "auto", "none" or the size, e.g. "512MiB".
func (l Limit) String() string {
	switch {
	case l == Auto:
		return "auto"
	case l < 0:
		return "none"
	}
	return FormatBytes(int64(l))
}

// FormatBytes writes n in the largest binary unit that divides it ("512MiB", "1000B").
func FormatBytes(n int64) string {
	for _, u := range []struct {
		suffix string
		factor int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n != 0 && n%u.factor == 0 {
			return strconv.FormatInt(n/u.factor, 10) + u.suffix
		}
	}
	return strconv.FormatInt(n, 10) + "B"
}
