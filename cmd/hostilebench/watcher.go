package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

const (
	startTimeout = 30 * time.Second // from exec to /readyz 200
	stopTimeout  = 30 * time.Second // from SIGTERM to exit
	logTailLines = 20               // of the watcher's output, kept for error messages
)

// buildWatcher returns bin, or builds cmd/watcher into dir when bin is "". The package path
// rather than ./cmd/watcher makes it work from any directory of the module, as tests need.
func buildWatcher(ctx context.Context, bin, dir string) (string, error) {
	if bin != "" {
		return bin, nil
	}
	bin = filepath.Join(dir, "watcher")
	out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/outagewatch/outagewatch/cmd/watcher").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %w\n%s", err, out)
	}
	return bin, nil
}

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

// watcherConfig is the YAML of a run: the memory ceiling under test, and JSON logs at info so
// that the bound addresses can be read.
func watcherConfig(limit int64) string {
	return fmt.Sprintf("log:\n  level: info\n  format: json\nmemory:\n  limit: %d\n", limit)
}

// startWatcher runs bin on free loopback ports with its config and data under dir, and waits
// until /readyz answers 200. The caller must call stop.
func startWatcher(ctx context.Context, bin, dir string, limit int64) (*watcher, error) {
	cfgPath := filepath.Join(dir, "watcher.yaml")
	if err := os.WriteFile(cfgPath, []byte(watcherConfig(limit)), 0o600); err != nil {
		return nil, err
	}
	const anyPort = "127.0.0.1:0"
	cmd := exec.Command(bin, "-config", cfgPath, "-api.addr", anyPort, "-otlp.grpc.addr", anyPort, "-otlp.http.addr", anyPort)
	// Without the OUTAGEWATCH_* variables, a developer's DSN or config cannot reach the watcher;
	// without GOMEMLIMIT, the ceiling is memory.limit's alone.
	cmd.Env = []string{"OUTAGEWATCH_DATA_DIR=" + filepath.Join(dir, "data")}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "OUTAGEWATCH_") && !strings.HasPrefix(kv, "GOMEMLIMIT=") && !strings.HasPrefix(kv, "GOGC=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
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
		_ = w.stop() // err already holds the output of a watcher that failed
		return nil, err
	}
	return w, nil
}

// read keeps the tail of the watcher's output, sends its addresses on started when it logs
// them, and, at the end of the output, waits for the process and closes done.
func (w *watcher) read(out io.Reader, started chan<- addrs) {
	sc := bufio.NewScanner(out)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		w.keep(sc.Text())
		var rec struct {
			Msg string `json:"msg"`
			addrs
		}
		if json.Unmarshal(sc.Bytes(), &rec) == nil && rec.Msg == "watcher started" {
			select {
			case started <- rec.addrs:
			default:
			}
		}
	}
	_, _ = io.Copy(io.Discard, out) // after an over-long line, so the watcher never blocks
	w.err = w.cmd.Wait()
	close(w.done)
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
	for {
		if code, err := get(ctx, "http://"+w.addrs.API+"/readyz", io.Discard); err == nil && code == http.StatusOK {
			return nil
		}
		select {
		case <-w.done:
			return fmt.Errorf("watcher exited before ready: %w\n%s", w.err, w.output())
		case <-ctx.Done():
			return fmt.Errorf("watcher not ready: %w\n%s", ctx.Err(), w.output())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// get fetches url into dst and returns the status code.
func get(ctx context.Context, url string, dst io.Writer) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, err = io.Copy(dst, resp.Body)
	return resp.StatusCode, err
}

// metrics returns the watcher's /metrics in the text format.
func (w *watcher) metrics(ctx context.Context) (string, error) {
	var b strings.Builder
	code, err := get(ctx, "http://"+w.addrs.API+"/metrics", &b)
	if err != nil {
		return "", fmt.Errorf("scrape: %w", err)
	}
	if code != http.StatusOK {
		return "", fmt.Errorf("scrape: http %d", code)
	}
	return b.String(), nil
}

// pid is the watcher's process ID.
func (w *watcher) pid() int { return w.cmd.Process.Pid }

// exited returns an error when the watcher is no longer running.
func (w *watcher) exited() error {
	select {
	case <-w.done:
		return fmt.Errorf("watcher exited during the run: %w\n%s", w.err, w.output())
	default:
		return nil
	}
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
