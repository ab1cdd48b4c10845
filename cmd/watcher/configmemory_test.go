package main

import (
	"bytes"
	"runtime/debug"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/require"

	"github.com/outagewatch/outagewatch/internal/memlimit"
)

func TestLoadConfigMemoryLimit(t *testing.T) {
	t.Parallel()
	yamlFile := writeConfig(t, "memory: {limit: 1GiB, shed_above: 0.8, shed_below: 0.6}\n")
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want memlimit.Limit
		err  string
	}{
		{"default is auto", nil, nil, memlimit.Auto, ""},
		{"yaml", []string{"-config", yamlFile}, nil, 1 << 30, ""},
		{"yaml bytes", []string{"-config", writeConfig(t, "memory: {limit: 536870912}\n")}, nil, 512 << 20, ""},
		{"yaml none", []string{"-config", writeConfig(t, "memory: {limit: none}\n")}, nil, memlimit.None, ""},
		{"env over yaml", []string{"-config", yamlFile}, map[string]string{"OUTAGEWATCH_MEMORY_LIMIT": "768MiB"}, 768 << 20, ""},
		{"env none", nil, map[string]string{"OUTAGEWATCH_MEMORY_LIMIT": "none"}, memlimit.None, ""},
		{"env auto over yaml", []string{"-config", yamlFile}, map[string]string{"OUTAGEWATCH_MEMORY_LIMIT": "auto"}, memlimit.Auto, ""},
		{"env garbage", nil, map[string]string{"OUTAGEWATCH_MEMORY_LIMIT": "lots"}, 0, `OUTAGEWATCH_MEMORY_LIMIT: "lots" is not a size`},
		{"env too small", nil, map[string]string{"OUTAGEWATCH_MEMORY_LIMIT": "1MiB"}, 0, "memory.limit: must be at least 64MiB, or none, not 1MiB"},
		{"yaml garbage", []string{"-config", writeConfig(t, "memory: {limit: [1]}\n")}, nil, 0, "memory.limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg, _, err := loadConfig(tt.args, envMap(tt.env))
			if tt.err != "" {
				require.ErrorContains(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, cfg.Memory.Limit)
		})
	}
}

func TestLoadConfigMemoryThresholds(t *testing.T) {
	t.Parallel()
	cfg, _, err := loadConfig([]string{"-config", "testdata/config/good/memory.yaml"}, envMap(nil))
	require.NoError(t, err)
	require.Equal(t, memlimit.Config{Limit: 512 << 20, SoftLimit: 0.9, ShedAbove: 0.85, ShedBelow: 0.75}, cfg.Memory)
	require.Equal(t, memlimit.DefaultConfig().SoftLimit, cfg.Memory.SoftLimit, "the fixture spells out the defaults")
}

func TestConfigValidateMemory(t *testing.T) {
	t.Parallel()
	cfg := DefaultConfig()
	cfg.Memory.Limit, cfg.Memory.ShedBelow = 1<<20, 0.9
	err := cfg.Validate()
	require.ErrorContains(t, err, "memory.limit: must be at least 64MiB")
	require.ErrorContains(t, err, "memory.shed_below: must be > 0 and below memory.shed_above")
}

// TestConfigMemoryApply checks the wiring's precedence end to end (memory.limit over GOMEMLIMIT
// over the cgroup) and that the soft limit it sets is put back. It changes the process's soft
// limit, so it does not run in parallel.
func TestConfigMemoryApply(t *testing.T) {
	cgroup := fstest.MapFS{"sys/fs/cgroup/memory.max": &fstest.MapFile{Data: []byte("536870912\n")}}
	before := debug.SetMemoryLimit(-1)
	tests := []struct {
		name     string
		limit    memlimit.Limit
		gomem    string
		ceiling  int64
		source   string
		soft     int64 // the soft limit while applied; 0: left as it was
		logWants string
	}{
		{"cgroup", memlimit.Auto, "", 512 << 20, "cgroup v2", 483183820, "source=\"cgroup v2\""},
		{"GOMEMLIMIT over cgroup", memlimit.Auto, "400MiB", 400 << 20, "GOMEMLIMIT", 0, "gomemlimit=400MiB gomemlimit_kept=true"},
		{"config over both", 1 << 30, "2GiB", 1 << 30, "memory.limit", 966367641, "gomemlimit_kept=false"},
		{"none", memlimit.None, "", 0, "none", 0, "source=none ceiling_bytes=0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := memlimit.DefaultConfig()
			cfg.Limit = tt.limit
			var log bytes.Buffer
			lim, restore, err := applyMemoryLimit(cfg, envMap(map[string]string{"GOMEMLIMIT": tt.gomem}), cgroup, newLogger(LogConfig{Level: "info", Format: "text"}, &log))
			require.NoError(t, err)
			require.Equal(t, tt.ceiling, lim.Ceiling)
			require.Equal(t, tt.source, lim.Source)
			want := before
			if tt.soft > 0 {
				want = tt.soft
			}
			require.Equal(t, want, debug.SetMemoryLimit(-1))
			require.Contains(t, log.String(), "msg=\"memory ceiling\"")
			require.Contains(t, log.String(), tt.logWants)
			restore()
			require.Equal(t, before, debug.SetMemoryLimit(-1))
		})
	}
}

func TestConfigMemoryApplyGarbledCgroup(t *testing.T) {
	t.Parallel()
	garbage := fstest.MapFS{"sys/fs/cgroup/memory.max": &fstest.MapFile{Data: []byte("lots")}}
	_, _, err := applyMemoryLimit(memlimit.DefaultConfig(), envMap(nil), garbage, newLogger(LogConfig{Level: "info", Format: "text"}, &bytes.Buffer{}))
	require.ErrorContains(t, err, "memory: memory limit from the cgroup (set memory.limit to skip it)")
}

func TestConfigMemoryWiredIntoApp(t *testing.T) {
	t.Parallel()
	a, err := newApp(DefaultConfig(), 512<<20, newLogger(LogConfig{Level: "error", Format: "text"}, &bytes.Buffer{}))
	require.NoError(t, err)
	require.Equal(t, int64(512<<20), a.memory.Ceiling())
	require.False(t, a.memory.Shed(), "the test process is far below 435 MiB")
	families, err := a.reg.Gather()
	require.NoError(t, err)
	got := map[string]float64{}
	for _, f := range families {
		if m := f.GetMetric(); len(m) == 1 && m[0].GetGauge() != nil {
			got[f.GetName()] = m[0].GetGauge().GetValue()
		}
	}
	require.Equal(t, float64(512<<20), got["outagewatch_memory_limit_bytes"])
	require.Contains(t, got, "outagewatch_memory_in_use_bytes")
	require.Contains(t, got, "outagewatch_memory_shedding")
	require.Contains(t, got, "process_resident_memory_bytes")
}
