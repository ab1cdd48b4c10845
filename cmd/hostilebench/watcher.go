package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/outagewatch/outagewatch/internal/watcherproc"
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

// watcherConfig is the YAML of a run: the memory ceiling under test, and JSON logs at info so
// that watcherproc.Start can read the bound addresses.
func watcherConfig(limit int64) string {
	return fmt.Sprintf("log:\n  level: info\n  format: json\nmemory:\n  limit: %d\n", limit)
}

// metrics returns w's /metrics in the text format.
func metrics(ctx context.Context, w *watcherproc.Process) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+w.Addrs().API+"/metrics", nil)
	if err != nil {
		return "", fmt.Errorf("scrape: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("scrape: %w", err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	if _, err := io.Copy(&b, resp.Body); err != nil {
		return "", fmt.Errorf("scrape: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("scrape: http %d", resp.StatusCode)
	}
	return b.String(), nil
}
