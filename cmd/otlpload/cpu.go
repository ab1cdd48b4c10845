package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat. The
// kernel fixes it at 100 for user space on every architecture Go supports
// on Linux, which spares a cgo call to sysconf(_SC_CLK_TCK).
const clockTicks = 100

// cpuMeter measures the CPU time a process uses between start and stop.
type cpuMeter struct {
	pid    int
	before time.Duration
}

// startCPUMeter reads pid's CPU time now; it fails if the process cannot be
// read, so a wrong -pid is reported before the run.
func startCPUMeter(pid int) (cpuMeter, error) {
	t, err := processCPU(pid)
	if err != nil {
		return cpuMeter{}, err
	}
	return cpuMeter{pid: pid, before: t}, nil
}

// stop returns the CPU time used since start.
func (m cpuMeter) stop() (time.Duration, error) {
	t, err := processCPU(m.pid)
	if err != nil {
		return 0, err
	}
	return t - m.before, nil
}

// processCPU returns utime+stime of pid.
func processCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("read cpu time of pid %d: %w", pid, err)
	}
	ticks, err := parseStatCPU(b)
	if err != nil {
		return 0, fmt.Errorf("parse /proc/%d/stat: %w", pid, err)
	}
	return time.Duration(ticks) * time.Second / clockTicks, nil
}

// parseStatCPU returns utime+stime, in clock ticks, from the contents of
// /proc/PID/stat. The command name (field 2) is in parentheses and may hold
// spaces and ')', so fields are counted from the last ')'.
func parseStatCPU(stat []byte) (int64, error) {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, errors.New("no command name")
	}
	// After ")" come fields 3 (state) onwards; utime is field 14, stime 15.
	fields := bytes.Fields(stat[i+1:])
	const utime, stime = 14 - 3, 15 - 3
	if len(fields) <= stime {
		return 0, fmt.Errorf("only %d fields after the command name", len(fields))
	}
	u, err := strconv.ParseInt(string(fields[utime]), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("utime: %w", err)
	}
	s, err := strconv.ParseInt(string(fields[stime]), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("stime: %w", err)
	}
	return u + s, nil
}
