package watcherproc

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
)

// errNoField is returned by statusField for a field /proc/PID/status does not have.
var errNoField = errors.New("no such field in /proc/PID/status")

// PeakRSS returns the watcher's peak resident set size in bytes (VmHWM), or an error when the
// watcher has exited. Read it before Stop: the figure goes with the process.
func (p *Process) PeakRSS() (int64, error) {
	if err := p.Exited(); err != nil {
		return 0, err
	}
	hwm, err := readStatus(p.PID(), "VmHWM")
	if err != nil {
		return 0, fmt.Errorf("read peak rss: %w", err)
	}
	return hwm, nil
}

// RSS returns the watcher's current resident set size in bytes (VmRSS), or an error when the
// watcher has exited.
func (p *Process) RSS() (int64, error) {
	if err := p.Exited(); err != nil {
		return 0, err
	}
	rss, err := readStatus(p.PID(), "VmRSS")
	if err != nil {
		return 0, fmt.Errorf("read rss: %w", err)
	}
	return rss, nil
}

// readStatus returns a field of /proc/PID/status given in kB, in bytes.
func readStatus(pid int, field string) (int64, error) {
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	return statusField(status, field)
}

// statusField returns field (VmRSS, VmHWM) of the contents of /proc/PID/status, in bytes.
func statusField(status []byte, field string) (int64, error) {
	for line := range bytes.Lines(status) {
		rest, ok := bytes.CutPrefix(line, []byte(field+":"))
		if !ok {
			continue
		}
		f := bytes.Fields(rest)
		if len(f) != 2 || string(f[1]) != "kB" {
			return 0, fmt.Errorf("%s: unexpected value %q", field, bytes.TrimSpace(rest))
		}
		kB, err := strconv.ParseInt(string(f[0]), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", field, err)
		}
		return kB << 10, nil
	}
	return 0, fmt.Errorf("%s: %w", field, errNoField)
}
