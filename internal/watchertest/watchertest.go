// Package watchertest builds and runs the project's binaries for end-to-end tests: the watcher
// on free loopback ports, with its bound addresses read from its log, and any other command.
package watchertest

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	buildMu sync.Mutex
	built   = map[string]string{}
	binDir  string
)

// Build builds the command pkg of this module ("cmd/watcher") once per test binary and returns
// the path of the binary. It fails the test if the build fails.
func Build(tb testing.TB, pkg string) string {
	tb.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	if path, ok := built[pkg]; ok {
		return path
	}
	if binDir == "" {
		dir, err := os.MkdirTemp("", "watchertest-bin")
		if err != nil {
			tb.Fatalf("temp dir for binaries: %v", err)
		}
		binDir = dir
	}
	path := filepath.Join(binDir, filepath.Base(pkg))
	out, err := exec.Command("go", "build", "-o", path, "github.com/outagewatch/outagewatch/"+pkg).CombinedOutput()
	if err != nil {
		tb.Fatalf("go build %s: %v\n%s", pkg, err, out)
	}
	built[pkg] = path
	return path
}

// Cleanup removes the binaries Build made; call it from TestMain after m.Run.
func Cleanup() {
	buildMu.Lock()
	defer buildMu.Unlock()
	if binDir != "" {
		_ = os.RemoveAll(binDir)
		binDir, built = "", map[string]string{}
	}
}

// Process is a running binary whose output (stdout and stderr) is kept.
type Process struct {
	cmd  *exec.Cmd
	mu   sync.Mutex
	out  strings.Builder
	done chan struct{}
}

// Start runs bin with args; env is added to this process's environment, from which the
// OUTAGEWATCH_* variables are removed (a developer's DSN or token must not leak into a test).
// The process gets SIGTERM when the test ends.
func Start(tb testing.TB, bin string, env []string, args ...string) *Process {
	tb.Helper()
	p := &Process{cmd: exec.Command(bin, args...), done: make(chan struct{})}
	p.cmd.Env = append(cleanEnv(), env...)
	r, w := io.Pipe()
	p.cmd.Stdout, p.cmd.Stderr = w, w
	if err := p.cmd.Start(); err != nil {
		tb.Fatalf("start %s: %v", bin, err)
	}
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			p.mu.Lock()
			p.out.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
		}
	}()
	go func() {
		_ = p.cmd.Wait()
		_ = w.Close()
		<-scanned
		close(p.done)
	}()
	tb.Cleanup(func() { p.Stop(tb) })
	return p
}

func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "OUTAGEWATCH_") {
			env = append(env, kv)
		}
	}
	return env
}

// Output returns what the process has printed so far.
func (p *Process) Output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// Done is closed when the process has exited and its output is read.
func (p *Process) Done() <-chan struct{} { return p.done }

// ExitCode returns the exit code of a process that has exited (Done is closed), or -1 when it
// was ended by a signal.
func (p *Process) ExitCode() int {
	<-p.done
	return p.cmd.ProcessState.ExitCode()
}

// Signal sends sig to the process.
func (p *Process) Signal(sig os.Signal) error { return p.cmd.Process.Signal(sig) }

// Stop sends SIGTERM and waits up to 30 s for the process to exit, then kills it and fails the
// test. It is safe to call more than once.
func (p *Process) Stop(tb testing.TB) {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
		tb.Errorf("%s did not stop on SIGTERM", p.cmd.Path)
	}
}

// Watcher is a running watcher daemon with its bound addresses.
type Watcher struct {
	*Process
	API, OTLPHTTP, OTLPGRPC string
	// Config is the configuration file's path: a test rewrites it to reload.
	Config string
}

var listening = regexp.MustCompile(`msg="(api|otlp http|otlp grpc) listening".* addr=(\S+)`)

// StartWatcher builds and runs the watcher on 127.0.0.1:0 ports with config (YAML; "" for the
// defaults) and env, its embedded store in a temporary directory unless env says otherwise, and
// waits until it has logged its bound addresses.
func StartWatcher(tb testing.TB, config string, env ...string) *Watcher {
	tb.Helper()
	bin := Build(tb, "cmd/watcher")
	dir := tb.TempDir()
	cfg := filepath.Join(dir, "watcher.yaml")
	if err := os.WriteFile(cfg, []byte(config), 0o600); err != nil {
		tb.Fatal(err)
	}
	env = append([]string{"OUTAGEWATCH_DATA_DIR=" + filepath.Join(dir, "data")}, env...)
	w := &Watcher{Process: Start(tb, bin, env, "-config", cfg,
		"-api.addr", "127.0.0.1:0", "-otlp.grpc.addr", "127.0.0.1:0", "-otlp.http.addr", "127.0.0.1:0"), Config: cfg}
	deadline := time.Now().Add(30 * time.Second)
	for {
		for _, m := range listening.FindAllStringSubmatch(w.Output(), -1) {
			switch m[1] {
			case "api":
				w.API = m[2]
			case "otlp http":
				w.OTLPHTTP = m[2]
			case "otlp grpc":
				w.OTLPGRPC = m[2]
			}
		}
		if w.API != "" && w.OTLPHTTP != "" && w.OTLPGRPC != "" {
			return w
		}
		select {
		case <-w.Done():
			tb.Fatalf("watcher exited before listening:\n%s", w.Output())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			tb.Fatalf("watcher did not report its addresses:\n%s", w.Output())
		}
	}
}

// String names the watcher by its API address, for messages.
func (w *Watcher) String() string { return fmt.Sprintf("watcher at %s", w.API) }

// WaitLog waits until the process's output matches re (at least n times), and fails the test
// if the process exits first or 30 s pass.
func (p *Process) WaitLog(tb testing.TB, re *regexp.Regexp, n int) string {
	tb.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		out := p.Output()
		if len(re.FindAllStringIndex(out, -1)) >= n {
			return out
		}
		select {
		case <-p.Done():
			tb.Fatalf("process exited before logging %s:\n%s", re, p.Output())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			tb.Fatalf("no %s (x%d) in the log after 30 s:\n%s", re, n, out)
		}
	}
}
