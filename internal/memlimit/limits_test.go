package memlimit

import (
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/require"
)

func TestDiscoverPrecedence(t *testing.T) {
	t.Parallel()
	cgroup512 := fstest.MapFS{"sys/fs/cgroup/memory.max": file("536870912\n")}
	garbage := fstest.MapFS{"sys/fs/cgroup/memory.max": file("lots\n")}
	const mib = 1 << 20
	tests := []struct {
		name      string
		limit     Limit
		gomem     string
		fs        fstest.MapFS
		want      Limits
		errSubstr string
	}{
		{"cgroup", Auto, "", cgroup512, Limits{Ceiling: 512 * mib, Source: "cgroup v2", SoftLimit: 512 * mib * 9 / 10}, ""},
		{"nothing", Auto, "", fstest.MapFS{}, Limits{Source: SourceNone}, ""},
		{"config over cgroup", 1024 * mib, "", cgroup512, Limits{Ceiling: 1024 * mib, Source: SourceConfig, SoftLimit: 1024 * mib * 9 / 10}, ""},
		{"config skips a garbled cgroup", 1024 * mib, "", garbage, Limits{Ceiling: 1024 * mib, Source: SourceConfig, SoftLimit: 1024 * mib * 9 / 10}, ""},
		{"GOMEMLIMIT over cgroup, kept as the soft limit", Auto, "400MiB", cgroup512,
			Limits{Ceiling: 400 * mib, Source: SourceGOMEMLIMIT, GOMEMLIMIT: "400MiB"}, ""},
		{"GOMEMLIMIT in bytes", Auto, "419430400", garbage,
			Limits{Ceiling: 400 * mib, Source: SourceGOMEMLIMIT, GOMEMLIMIT: "419430400"}, ""},
		{"config over GOMEMLIMIT, whose lower soft limit stays", 1024 * mib, "400MiB", cgroup512,
			Limits{Ceiling: 1024 * mib, Source: SourceConfig, GOMEMLIMIT: "400MiB"}, ""},
		{"config over a higher GOMEMLIMIT", 1024 * mib, "2GiB", cgroup512,
			Limits{Ceiling: 1024 * mib, Source: SourceConfig, SoftLimit: 1024 * mib * 9 / 10, GOMEMLIMIT: "2GiB"}, ""},
		{"GOMEMLIMIT off: cgroup ceiling, no soft limit", Auto, "off", cgroup512,
			Limits{Ceiling: 512 * mib, Source: "cgroup v2", GOMEMLIMIT: "off"}, ""},
		{"none over everything", None, "400MiB", cgroup512, Limits{Source: SourceNone, GOMEMLIMIT: "400MiB"}, ""},
		{"none skips a garbled cgroup", None, "", garbage, Limits{Source: SourceNone}, ""},
		{"garbled cgroup", Auto, "", garbage, Limits{}, "memory limit from the cgroup (set memory.limit to skip it): read sys/fs/cgroup/memory.max"},
		{"garbled GOMEMLIMIT", Auto, "lots", cgroup512, Limits{}, `GOMEMLIMIT: "lots" is not a size`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := DefaultConfig()
			cfg.Limit = tt.limit
			env := map[string]string{"GOMEMLIMIT": tt.gomem}
			got, err := Discover(cfg, func(k string) string { return env[k] }, tt.fs)
			if tt.errSubstr != "" {
				require.ErrorContains(t, err, tt.errSubstr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestDiscoverSoftLimitFraction(t *testing.T) {
	t.Parallel()
	cfg := DefaultConfig()
	cfg.Limit, cfg.SoftLimit = 1000<<20, 0.5
	got, err := Discover(cfg, func(string) string { return "" }, fstest.MapFS{})
	require.NoError(t, err)
	require.Equal(t, int64(500<<20), got.SoftLimit)
}
