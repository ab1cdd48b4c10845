package memlimit

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"
)

// The cgroup files, relative to the root of the file system given to CgroupLimit.
const (
	procSelfCgroup = "proc/self/cgroup"
	cgroupV2Root   = "sys/fs/cgroup"
	cgroupV2File   = "memory.max"
	cgroupV1Root   = "sys/fs/cgroup/memory"
	cgroupV1File   = "memory.limit_in_bytes"
)

// v1Unlimited is the smallest cgroup v1 limit read as none: v1 writes "no limit" as the largest
// page-aligned int64 (9223372036854771712), and no machine has 4 EiB.
const v1Unlimited = 1 << 62

// CgroupLimit returns the memory limit of this process's cgroup, read from fsys (the file
// system root, os.DirFS("/") in the daemon), and which version said so ("cgroup v2",
// "cgroup v1"); 0 and "" when there is none. cgroup v2 (memory.max, "max" = none) is preferred
// to v1 (memory.limit_in_bytes, a huge value = none).
//
// The limit may be set on the process's own cgroup (a container, a systemd unit's MemoryMax) or
// on one of its parents (a slice), so each version reads its file in the process's cgroup as
// /proc/self/cgroup names it and in every parent up to the mount's root, and keeps the lowest.
// Directories that are not there are skipped: a container's mount root is its own cgroup even
// when /proc/self/cgroup names the host's path. Unreadable or garbled files are errors.
func CgroupLimit(fsys fs.FS) (int64, string, error) {
	v2dir, v1dir, err := selfCgroups(fsys)
	if err != nil {
		return 0, "", err
	}
	limit, found, err := walkLimit(fsys, cgroupV2Root, v2dir, cgroupV2File)
	if err != nil || found {
		return limit, versionIf(limit, "cgroup v2"), err
	}
	limit, _, err = walkLimit(fsys, cgroupV1Root, v1dir, cgroupV1File)
	return limit, versionIf(limit, "cgroup v1"), err
}

func versionIf(limit int64, version string) string {
	if limit == 0 {
		return ""
	}
	return version
}

// selfCgroups returns this process's cgroup v2 path and its v1 memory controller's path from
// /proc/self/cgroup; "/" for what it does not name, or when the file is missing.
func selfCgroups(fsys fs.FS) (v2, v1 string, err error) {
	v2, v1 = "/", "/"
	data, err := fs.ReadFile(fsys, procSelfCgroup)
	if errors.Is(err, fs.ErrNotExist) {
		return v2, v1, nil
	}
	if err != nil {
		return "", "", fmt.Errorf("read %s: %w", procSelfCgroup, err)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		// hierarchy-ID:controller-list:cgroup-path
		id, rest, ok1 := strings.Cut(sc.Text(), ":")
		controllers, p, ok2 := strings.Cut(rest, ":")
		if !ok1 || !ok2 || !strings.HasPrefix(p, "/") {
			continue
		}
		switch {
		case id == "0" && controllers == "":
			v2 = p
		case strings.Contains(","+controllers+",", ",memory,"):
			v1 = p
		}
	}
	return v2, v1, nil
}

// walkLimit reads file in root/dir and each parent of dir up to root, and returns the lowest
// limit found (0 when every file said none) and whether any file was there.
func walkLimit(fsys fs.FS, root, dir, file string) (int64, bool, error) {
	var limit int64
	found := false
	for d := path.Clean(dir); ; d = path.Dir(d) {
		name := path.Join(root, d, file)
		n, ok, err := readLimitFile(fsys, name)
		if err != nil {
			return 0, false, err
		}
		if ok {
			found = true
			if n > 0 && (limit == 0 || n < limit) {
				limit = n
			}
		}
		if d == "/" || d == "." {
			return limit, found, nil
		}
	}
}

// readLimitFile reads one limit file: (bytes, true) for a limit, (0, true) for none ("max", or
// v1's huge value), (0, false) when the file is not there.
func readLimitFile(fsys fs.FS, name string) (int64, bool, error) {
	data, err := fs.ReadFile(fsys, name)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return 0, false, nil
	case err != nil:
		return 0, false, fmt.Errorf("read %s: %w", name, err)
	}
	s := strings.TrimSpace(string(data))
	if s == "max" {
		return 0, true, nil
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, false, fmt.Errorf("read %s: %q is not a number of bytes or \"max\"", name, s)
	}
	if n >= v1Unlimited || n == 0 {
		// 0 is not a limit any cgroup could run in; read it as none rather than shed for ever.
		return 0, true, nil
	}
	return int64(n), true, nil
}
