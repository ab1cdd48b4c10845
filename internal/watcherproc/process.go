package watcherproc

import (
	"bufio"
	"context"
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
	stopTimeout  = 30 * time.Second // from SIGTERM to exit; api.shutdown_timeout is 15s
	logTailLines = 20               // of the watcher's output, kept for error messages
	readyPoll    = 50 * time.Millisecond
)

// Process is a running watcher daemon. Its methods are safe for concurrent use.
type Process struct {
	cmd   *exec.Cmd
	addrs Addrs         // set by waitReady, before Start returns
	done  chan struct{} // closed once the process has exited and its output is read
	err   error         // the exit error; read it only after done is closed

	mu   sync.Mutex
	tail []string // the last logTailLines lines of output
}

// Start runs bin with config (YAML, written to dir/watcher.yaml) on free loopback ports, its
// data under dir/data, and waits up to 30 s until it has logged its addresses and /readyz
// answers 200. The config must set JSON logs at info level or lower: the addresses are read
// from the "watcher started" record.
//
// env is the watcher's whole environment, to which Start adds OUTAGEWATCH_DATA_DIR; pass
// CleanEnv() or a variant of it. On success the caller must call Stop.
func Start(ctx context.Context, bin, dir, config string, env []string) (*Process, error) {
	cfgPath := filepath.Join(dir, "watcher.yaml")
	if err := os.WriteFile(cfgPath, []byte(config), 0o600); err != nil {
		return nil, err
	}
	const anyPort = "127.0.0.1:0"
	cmd := exec.Command(bin, "-config", cfgPath, "-api.addr", anyPort, "-otlp.grpc.addr", anyPort, "-otlp.http.addr", anyPort)
	cmd.Env = append(append([]string(nil), env...), "OUTAGEWATCH_DATA_DIR="+filepath.Join(dir, "data"))
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start watcher: %w", err)
	}
	p := &Process{cmd: cmd, done: make(chan struct{})}
	started := make(chan Addrs, 1)
	go p.read(out, started)
	if err := p.waitReady(ctx, started); err != nil {
		_ = p.Stop() // err already holds the exit status and output of a watcher that failed
		return nil, err
	}
	return p, nil
}

// CleanEnv returns this process's environment without the OUTAGEWATCH_* variables, so that a
// developer's Postgres DSN or config file cannot reach a bench's watcher, and without the
// variables named in drop (such as GOMEMLIMIT).
func CleanEnv(drop ...string) []string {
	var env []string
next:
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "OUTAGEWATCH_") {
			continue
		}
		for _, name := range drop {
			if strings.HasPrefix(kv, name+"=") {
				continue next
			}
		}
		env = append(env, kv)
	}
	return env
}

// read keeps the tail of the watcher's output, sends its addresses on started when it logs
// them, and, at the end of the output, waits for the process and closes done.
func (p *Process) read(out io.Reader, started chan<- Addrs) {
	sc := bufio.NewScanner(out)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		p.keep(sc.Text())
		if a, ok := parseStarted(sc.Bytes()); ok {
			select {
			case started <- a:
			default:
			}
		}
	}
	_, _ = io.Copy(io.Discard, out) // after an over-long line, so the watcher never blocks
	p.err = p.cmd.Wait()
	close(p.done)
}

func (p *Process) keep(line string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.tail = append(p.tail, line)
	if len(p.tail) > logTailLines {
		p.tail = p.tail[1:]
	}
}

// Output returns the last 20 lines of the watcher's output (stdout and stderr), for error
// messages.
func (p *Process) Output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.tail, "\n")
}

// waitReady waits for the addresses on started, then for /readyz to answer 200.
func (p *Process) waitReady(ctx context.Context, started <-chan Addrs) error {
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	select {
	case p.addrs = <-started:
	case <-p.done:
		return fmt.Errorf("watcher exited before listening: %w\n%s", p.err, p.Output())
	case <-ctx.Done():
		return fmt.Errorf("watcher did not log its addresses: %w\n%s", ctx.Err(), p.Output())
	}
	url := "http://" + p.addrs.API + "/readyz"
	for !ready(ctx, url) {
		select {
		case <-p.done:
			return fmt.Errorf("watcher exited before ready: %w\n%s", p.err, p.Output())
		case <-ctx.Done():
			return fmt.Errorf("watcher not ready: %w\n%s", ctx.Err(), p.Output())
		case <-time.After(readyPoll):
		}
	}
	return nil
}

// ready reports whether url answers 200.
func ready(ctx context.Context, url string) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// Addrs returns the addresses the watcher bound.
func (p *Process) Addrs() Addrs { return p.addrs }

// PID is the watcher's process ID.
func (p *Process) PID() int { return p.cmd.Process.Pid }

// Exited returns an error, with the exit status and the tail of the output, when the watcher
// is no longer running, and nil while it runs.
func (p *Process) Exited() error {
	select {
	case <-p.done:
		return fmt.Errorf("watcher exited during the run: %w\n%s", p.err, p.Output())
	default:
		return nil
	}
}

// Stop sends SIGTERM and waits for the watcher to exit, killing it after 30 s. It returns an
// error when the watcher did not exit cleanly; it may be called again.
func (p *Process) Stop() error {
	select {
	case <-p.done:
	default:
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(stopTimeout):
			_ = p.cmd.Process.Kill()
			<-p.done
			return fmt.Errorf("watcher did not stop within %s of SIGTERM", stopTimeout)
		}
	}
	if p.err != nil {
		return fmt.Errorf("watcher: %w\n%s", p.err, p.Output())
	}
	return nil
}
