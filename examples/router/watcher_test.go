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
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// watcherConfig is the daemon's configuration in the end-to-end test: the defaults.
const watcherConfig = ``

// watcher is a running outagewatch daemon, built from this module.
type watcher struct {
	apiURL   string // http://127.0.0.1:port
	otlpHTTP string // 127.0.0.1:port
	mu       sync.Mutex
	log      strings.Builder
}

var (
	apiListening  = regexp.MustCompile(`msg="api listening".* addr=(\S+)`)
	otlpListening = regexp.MustCompile(`msg="otlp http listening".* addr=(\S+)`)
)

// startWatcher builds cmd/watcher, runs it on free ports, and stops it when the test ends. Its
// log is printed if the test fails.
func startWatcher(tb testing.TB) *watcher {
	tb.Helper()
	goBin, err := exec.LookPath("go")
	require.NoError(tb, err, "go is on PATH under go test")
	dir := tb.TempDir()
	bin := filepath.Join(dir, "watcher")
	build := exec.Command(goBin, "build", "-o", bin, "github.com/outagewatch/outagewatch/cmd/watcher")
	out, err := build.CombinedOutput()
	require.NoError(tb, err, "build watcher: %s", out)
	cfg := filepath.Join(dir, "watcher.yaml")
	require.NoError(tb, os.WriteFile(cfg, []byte(watcherConfig), 0o600))

	cmd := exec.Command(bin, "-config", cfg, "-api.addr", "127.0.0.1:0",
		"-otlp.grpc.addr", "127.0.0.1:0", "-otlp.http.addr", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "OUTAGEWATCH_DATA_DIR="+filepath.Join(dir, "data"))
	// An io.Pipe, not StdoutPipe: Wait then waits for the log to be read to its end.
	stdout, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	require.NoError(tb, cmd.Start())
	w := &watcher{}
	scanned := make(chan struct{})
	addrs := make(chan [2]string, 1)
	go func() {
		defer close(scanned)
		w.scan(stdout, addrs)
	}()
	tb.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		_ = pw.Close()
		<-scanned
		if tb.Failed() {
			tb.Logf("watcher log:\n%s", w.logText())
		}
	})
	select {
	case a := <-addrs:
		w.apiURL, w.otlpHTTP = "http://"+a[0], a[1]
	case <-time.After(15 * time.Second):
		tb.Fatalf("watcher did not report its addresses; log:\n%s", w.logText())
	}
	return w
}

// scan keeps the daemon's log and sends the API and OTLP/HTTP addresses once both are logged.
func (w *watcher) scan(r io.Reader, addrs chan<- [2]string) {
	var api, otlp string
	sent := false
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		w.mu.Lock()
		w.log.WriteString(line + "\n")
		w.mu.Unlock()
		if m := apiListening.FindStringSubmatch(line); m != nil {
			api = m[1]
		}
		if m := otlpListening.FindStringSubmatch(line); m != nil {
			otlp = m[1]
		}
		if !sent && api != "" && otlp != "" {
			addrs <- [2]string{api, otlp}
			sent = true
		}
	}
}

func (w *watcher) logText() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.log.String()
}

// modelState asks the daemon's GET /v1/health for a model's state; "" when it is not listed.
func (w *watcher) modelState(ctx context.Context, provider, model string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, w.apiURL+"/v1/health", nil)
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("get /v1/health: status %d", resp.StatusCode)
	}
	var rep struct {
		Providers []struct {
			Provider string `json:"provider"`
			Models   []struct {
				Model string `json:"model"`
				State string `json:"state"`
			} `json:"models"`
		} `json:"providers"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&rep); err != nil {
		return "", fmt.Errorf("decode /v1/health: %w", err)
	}
	for _, p := range rep.Providers {
		for _, m := range p.Models {
			if p.Provider == provider && m.Model == model {
				return m.State, nil
			}
		}
	}
	return "", nil
}
