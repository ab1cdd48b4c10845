package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

const (
	startTimeout = 30 * time.Second // from exec to /readyz 200
	stopTimeout  = 30 * time.Second // from SIGTERM to exit; api.shutdown_timeout is 15s
	logTailLines = 20               // of the watcher's output, kept for error messages
)

// addrs are the addresses a watcher bound, from its "watcher started" log line.
type addrs struct {
	API      string `json:"api_addr"`
	OTLPGRPC string `json:"otlp_grpc_addr"`
	OTLPHTTP string `json:"otlp_http_addr"`
}

// watcher is a running watcher daemon.
type watcher struct {
	cmd   *exec.Cmd
	addrs addrs
	done  chan struct{} // closed once the process has exited and its output is read
	err   error         // the exit error; read it only after done is closed

	mu   sync.Mutex
	tail []string // the last logTailLines lines of output
}

// watcherConfig is the YAML of a run. Info is the lowest log level that still logs the bound
// addresses; JSON makes that line parseable without a regexp.
func watcherConfig(fastPath bool) string {
	return fmt.Sprintf("log:\n  level: info\n  format: json\ningest:\n  fast_path: %t\n", fastPath)
}

// startWatcher runs bin on free loopback ports with its config and data under dir, and waits
// until /readyz answers 200. The caller must call stop.
func startWatcher(ctx context.Context, bin, dir string, fastPath bool) (*watcher, error) {
	cfgPath := filepath.Join(dir, "watcher.yaml")
	if err := os.WriteFile(cfgPath, []byte(watcherConfig(fastPath)), 0o600); err != nil {
		return nil, err
	}
	const anyPort = "127.0.0.1:0"
	cmd := exec.Command(bin, "-config", cfgPath, "-api.addr", anyPort, "-otlp.grpc.addr", anyPort, "-otlp.http.addr", anyPort)
	cmd.Env = append(cleanEnv(), "OUTAGEWATCH_DATA_DIR="+filepath.Join(dir, "data"))
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start watcher: %w", err)
	}
	w := &watcher{cmd: cmd, done: make(chan struct{})}
	started := make(chan addrs, 1)
	go w.read(out, started)
	if err := w.waitReady(ctx, started); err != nil {
		_ = w.stop() // err already holds the exit status and output of a watcher that failed
		return nil, err
	}
	return w, nil
}

// cleanEnv is this process's environment without the OUTAGEWATCH_* variables, so that a
// developer's Postgres DSN or config file cannot reach the bench's watchers.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "OUTAGEWATCH_") {
			env = append(env, kv)
		}
	}
	return env
}

// read keeps the tail of the watcher's output, sends its addresses on started when it logs
// them, and, at the end of the output, waits for the process and closes done.
func (w *watcher) read(out io.Reader, started chan<- addrs) {
	sc := bufio.NewScanner(out)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		w.keep(sc.Text())
		if a, ok := parseStarted(sc.Bytes()); ok {
			select {
			case started <- a:
			default:
			}
		}
	}
	_, _ = io.Copy(io.Discard, out) // after an over-long line, so the watcher never blocks
	w.err = w.cmd.Wait()
	close(w.done)
}

// parseStarted returns the addresses in line if it is the watcher's "watcher started" record.
func parseStarted(line []byte) (addrs, bool) {
	var rec struct {
		Msg string `json:"msg"`
		addrs
	}
	if json.Unmarshal(line, &rec) != nil || rec.Msg != "watcher started" {
		return addrs{}, false
	}
	return rec.addrs, rec.API != "" && rec.OTLPGRPC != "" && rec.OTLPHTTP != ""
}

func (w *watcher) keep(line string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.tail = append(w.tail, line)
	if len(w.tail) > logTailLines {
		w.tail = w.tail[1:]
	}
}

// output returns the tail of the watcher's output, for error messages.
func (w *watcher) output() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return strings.Join(w.tail, "\n")
}

// waitReady waits for the addresses on started, then for /readyz to answer 200.
func (w *watcher) waitReady(ctx context.Context, started <-chan addrs) error {
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	select {
	case w.addrs = <-started:
	case <-w.done:
		return fmt.Errorf("watcher exited before listening: %w\n%s", w.err, w.output())
	case <-ctx.Done():
		return fmt.Errorf("watcher did not log its addresses: %w\n%s", ctx.Err(), w.output())
	}
	url := "http://" + w.addrs.API + "/readyz"
	for !ready(ctx, url) {
		select {
		case <-w.done:
			return fmt.Errorf("watcher exited before ready: %w\n%s", w.err, w.output())
		case <-ctx.Done():
			return fmt.Errorf("watcher not ready: %w\n%s", ctx.Err(), w.output())
		case <-time.After(50 * time.Millisecond):
		}
	}
	return nil
}

func ready(ctx context.Context, url string) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// pid is the watcher's process ID.
func (w *watcher) pid() int { return w.cmd.Process.Pid }

// peakRSS returns the watcher's peak resident set size in bytes (VmHWM).
func (w *watcher) peakRSS() (int64, error) {
	select {
	case <-w.done:
		return 0, fmt.Errorf("watcher exited during the run: %w\n%s", w.err, w.output())
	default:
	}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", w.pid()))
	if err != nil {
		return 0, fmt.Errorf("read peak rss: %w", err)
	}
	return parseVmHWM(status)
}

// parseVmHWM returns the VmHWM of the contents of /proc/PID/status, in bytes.
func parseVmHWM(status []byte) (int64, error) {
	for line := range bytes.Lines(status) {
		rest, ok := bytes.CutPrefix(line, []byte("VmHWM:"))
		if !ok {
			continue
		}
		f := bytes.Fields(rest)
		if len(f) != 2 || string(f[1]) != "kB" {
			return 0, fmt.Errorf("VmHWM: unexpected value %q", bytes.TrimSpace(rest))
		}
		kB, err := strconv.ParseInt(string(f[0]), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("VmHWM: %w", err)
		}
		return kB << 10, nil
	}
	return 0, errors.New("no VmHWM in /proc/PID/status")
}

// stop sends SIGTERM and waits for the watcher to exit, killing it after stopTimeout. It returns
// an error when the watcher did not exit cleanly; it may be called again.
func (w *watcher) stop() error {
	select {
	case <-w.done:
	default:
		_ = w.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-w.done:
		case <-time.After(stopTimeout):
			_ = w.cmd.Process.Kill()
			<-w.done
			return fmt.Errorf("watcher did not stop within %s of SIGTERM", stopTimeout)
		}
	}
	if w.err != nil {
		return fmt.Errorf("watcher: %w\n%s", w.err, w.output())
	}
	return nil
}
