package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/outagewatch/outagewatch/internal/await"
)

// TestPodman builds the build machine's platform's image as a tarball, loads it into podman and
// runs it with its ports published on loopback and an anonymous volume for its data; it waits for
// /readyz to answer 200, checks that the daemon runs as 65532:65532 and wrote its SQLite database
// into the volume, then stops it (SIGTERM) and expects exit code 0. It fails without podman:
// scripts/podman.sh installs it.
func TestPodman(t *testing.T) {
	if _, err := exec.LookPath("podman"); err != nil {
		t.Fatalf("podman is needed (scripts/podman.sh installs it): %v", err)
	}
	imagebuild := imagebuildBinary(t)
	id := strconv.FormatInt(time.Now().UnixNano(), 36)
	tag, name := "localhost/outagewatch-test:"+id, "outagewatch-test-"+id
	tarPath := filepath.Join(t.TempDir(), "image.tar")
	buildForTest(t, imagebuild, "-platforms", "linux/"+runtime.GOARCH, "-tar", tarPath, "-tag", tag)

	podman(t, "load", "-i", tarPath)
	t.Cleanup(func() { podmanQuiet("rmi", "-f", tag) })
	args := []string{"run", "--detach", "--name", name,
		"--publish", "127.0.0.1::9317", "--publish", "127.0.0.1::4317", "--publish", "127.0.0.1::4318",
		"--volume", dataDir}
	args = append(args, sandboxArgs(t)...)
	t.Cleanup(func() { podmanQuiet("rm", "--force", "--volumes", name) })
	podman(t, append(args, tag)...)

	api := podman(t, "port", name, "9317/tcp")
	waitReady(t, name, "http://"+api+"/readyz")
	if code := get(t, "http://"+api+"/healthz"); code != http.StatusOK {
		t.Errorf("/healthz: %d", code)
	}

	pid := podman(t, "inspect", "--format", "{{.State.Pid}}", name)
	status, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if (strings.HasPrefix(line, "Uid:") || strings.HasPrefix(line, "Gid:")) && len(strings.Fields(line)) > 1 && strings.Fields(line)[1] != "65532" {
			t.Errorf("the daemon runs with %s, want 65532", line)
		}
	}
	mount := podman(t, "inspect", "--format",
		`{{range .Mounts}}{{if eq .Destination "`+dataDir+`"}}{{.Type}} {{.Source}}{{end}}{{end}}`, name)
	typ, src, _ := strings.Cut(mount, " ")
	if typ != "volume" {
		t.Errorf("%s is mounted as %q, want an anonymous volume", dataDir, mount)
	}
	fi, err := os.Stat(filepath.Join(src, "outagewatch.db"))
	if err != nil {
		t.Errorf("no database in the volume: %v", err)
	} else if st, ok := fi.Sys().(*syscall.Stat_t); !ok || st.Uid != 65532 {
		t.Errorf("outagewatch.db owned by %v, want 65532", fi.Sys())
	}

	podman(t, "stop", "--time", "30", name)
	if code := podman(t, "inspect", "--format", "{{.State.ExitCode}}", name); code != "0" {
		t.Errorf("exit code %s after SIGTERM, want 0; logs:\n%s", code, podmanQuiet("logs", name))
	}
}

// sandboxArgs are the podman run flags that let a rootful container start where the test runs.
// runc instead of Debian 12's crun, which refuses cgroup v1 and hybrid hierarchies ("cgroups in
// hybrid mode not supported"); runc runs on v1, hybrid and v2. Explicit nofile and nproc limits
// within ours, because podman asks a root container for 1048576 of each, which the runtime cannot
// set without CAP_SYS_RESOURCE (sandboxes and CI often drop it): "setrlimit RLIMIT_NOFILE:
// Operation not permitted".
func sandboxArgs(t *testing.T) []string {
	var args []string
	runc, err := exec.LookPath("runc")
	if err != nil {
		runc, err = exec.LookPath("/usr/sbin/runc") // Debian's place, outside some PATHs
	}
	if err == nil {
		args = append(args, "--runtime", runc)
	}
	limit := func(resource int, max uint64) uint64 {
		var r unix.Rlimit
		if err := unix.Getrlimit(resource, &r); err != nil {
			t.Fatal(err)
		}
		return min(r.Cur, max)
	}
	nofile, nproc := limit(unix.RLIMIT_NOFILE, 65536), limit(unix.RLIMIT_NPROC, 4096)
	return append(args,
		"--ulimit", fmt.Sprintf("nofile=%d:%d", nofile, nofile),
		"--ulimit", fmt.Sprintf("nproc=%d:%d", nproc, nproc))
}

// waitReady polls url until it answers 200, failing with the container's logs when the container
// stops or await.HangGuard passes first.
func waitReady(t *testing.T, name, url string) {
	t.Helper()
	deadline := time.Now().Add(await.HangGuard)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for range tick.C {
		if get(t, url) == http.StatusOK {
			return
		}
		if state := podmanQuiet("inspect", "--format", "{{.State.Status}}", name); state != "running" {
			t.Fatalf("container %s is %q before /readyz answered 200; logs:\n%s", name, state, podmanQuiet("logs", name))
		}
		if time.Now().After(deadline) {
			t.Fatalf("no 200 from %s within %s; logs:\n%s", url, await.HangGuard, podmanQuiet("logs", name))
		}
	}
}

// get returns url's status code, or 0 when there is no answer.
func get(t *testing.T, url string) int {
	client := &http.Client{Timeout: 2 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		t.Logf("%s: %v", url, err)
	}
	return resp.StatusCode
}

// podman runs podman with args, failing the test on an error, and returns its trimmed stdout.
func podman(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "podman", args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("podman %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(string(out))
}

// podmanQuiet runs podman with args and returns its trimmed output (stdout and stderr), whatever
// happens: for cleanups and diagnostics.
func podmanQuiet(args ...string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, _ := exec.CommandContext(ctx, "podman", args...).CombinedOutput()
	return strings.TrimSpace(string(out))
}
