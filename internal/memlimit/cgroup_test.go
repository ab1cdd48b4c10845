package memlimit

import (
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/require"
)

// file returns a fake file holding s.
func file(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }

func TestCgroupLimit(t *testing.T) {
	t.Parallel()
	const v1Huge = "9223372036854771712\n"
	tests := []struct {
		name    string
		fs      fstest.MapFS
		want    int64
		version string
		err     string
	}{
		{"nothing", fstest.MapFS{}, 0, "", ""},
		{"v2 number", fstest.MapFS{"sys/fs/cgroup/memory.max": file("536870912\n")}, 512 << 20, "cgroup v2", ""},
		{"v2 max", fstest.MapFS{"sys/fs/cgroup/memory.max": file("max\n")}, 0, "", ""},
		{"v2 max hides v1", fstest.MapFS{
			"sys/fs/cgroup/memory.max":                   file("max\n"),
			"sys/fs/cgroup/memory/memory.limit_in_bytes": file("268435456\n"),
		}, 0, "", ""},
		{"v2 preferred", fstest.MapFS{
			"sys/fs/cgroup/memory.max":                   file("536870912"),
			"sys/fs/cgroup/memory/memory.limit_in_bytes": file("268435456"),
		}, 512 << 20, "cgroup v2", ""},
		{"v2 own cgroup and a lower parent", fstest.MapFS{
			"proc/self/cgroup": file("0::/system.slice/watcher.service\n"),
			"sys/fs/cgroup/system.slice/watcher.service/memory.max": file("1073741824\n"),
			"sys/fs/cgroup/system.slice/memory.max":                 file("805306368\n"),
			"sys/fs/cgroup/memory.max":                              file("max\n"),
		}, 768 << 20, "cgroup v2", ""},
		{"v2 own cgroup lower than its parent", fstest.MapFS{
			"proc/self/cgroup": file("0::/system.slice/watcher.service\n"),
			"sys/fs/cgroup/system.slice/watcher.service/memory.max": file("268435456\n"),
			"sys/fs/cgroup/system.slice/memory.max":                 file("max\n"),
		}, 256 << 20, "cgroup v2", ""},
		{"v2 host path absent in a container's mount", fstest.MapFS{
			"proc/self/cgroup":         file("0::/kubepods/pod1/abc\n"),
			"sys/fs/cgroup/memory.max": file("536870912\n"),
		}, 512 << 20, "cgroup v2", ""},
		{"v1 number", fstest.MapFS{"sys/fs/cgroup/memory/memory.limit_in_bytes": file("536870912\n")}, 512 << 20, "cgroup v1", ""},
		{"v1 huge is none", fstest.MapFS{"sys/fs/cgroup/memory/memory.limit_in_bytes": file(v1Huge)}, 0, "", ""},
		{"v1 own cgroup from proc", fstest.MapFS{
			"proc/self/cgroup":                                           file("12:pids:/x\n4:memory:/process_api/abc\n1:cpu,cpuacct:/\n0::/\n"),
			"sys/fs/cgroup/memory/memory.limit_in_bytes":                 file(v1Huge),
			"sys/fs/cgroup/memory/process_api/abc/memory.limit_in_bytes": file("2147483648\n"),
		}, 2 << 30, "cgroup v1", ""},
		{"v1 shared controller line", fstest.MapFS{
			"proc/self/cgroup": file("4:cpu,memory:/a\n"),
			"sys/fs/cgroup/memory/a/memory.limit_in_bytes": file("1073741824\n"),
		}, 1 << 30, "cgroup v1", ""},
		{"zero is none", fstest.MapFS{"sys/fs/cgroup/memory.max": file("0\n")}, 0, "", ""},
		{"proc garbage is ignored", fstest.MapFS{
			"proc/self/cgroup":         file("garbage\n::\nx:y\n"),
			"sys/fs/cgroup/memory.max": file("536870912\n"),
		}, 512 << 20, "cgroup v2", ""},
		{"v2 garbage", fstest.MapFS{"sys/fs/cgroup/memory.max": file("lots\n")}, 0, "", `sys/fs/cgroup/memory.max: "lots" is not a number of bytes or "max"`},
		{"v2 negative", fstest.MapFS{"sys/fs/cgroup/memory.max": file("-1\n")}, 0, "", `"-1" is not a number`},
		{"v1 garbage", fstest.MapFS{"sys/fs/cgroup/memory/memory.limit_in_bytes": file("1.5e9")}, 0, "", `memory.limit_in_bytes: "1.5e9"`},
		{"v2 empty", fstest.MapFS{"sys/fs/cgroup/memory.max": file("")}, 0, "", `"" is not a number`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, version, err := CgroupLimit(tt.fs)
			if tt.err != "" {
				require.ErrorContains(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
			require.Equal(t, tt.version, version)
		})
	}
}

func TestCgroupLimitUnreadable(t *testing.T) {
	t.Parallel()
	// A directory where the file should be: reading it fails with something other than "not
	// there", which is reported rather than read as no limit.
	fsys := fstest.MapFS{"sys/fs/cgroup/memory.max/x": file("1")}
	_, _, err := CgroupLimit(fsys)
	require.ErrorContains(t, err, "read sys/fs/cgroup/memory.max")
}
