package main

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
)

const module = "github.com/outagewatch/outagewatch"

// binaries are the paths of the two commands a run executes.
type binaries struct {
	watcher, otlpload string
}

// buildBinaries builds into dir the commands that cfg does not name, in one go build. Package
// paths rather than ./cmd/... make it work from any directory of the module, as tests need.
func buildBinaries(ctx context.Context, cfg config, dir string) (binaries, error) {
	bins := binaries{watcher: cfg.Watcher, otlpload: cfg.OTLPLoad}
	var pkgs []string
	if bins.watcher == "" {
		pkgs = append(pkgs, module+"/cmd/watcher")
		bins.watcher = filepath.Join(dir, "watcher")
	}
	if bins.otlpload == "" {
		pkgs = append(pkgs, module+"/cmd/otlpload")
		bins.otlpload = filepath.Join(dir, "otlpload")
	}
	if len(pkgs) == 0 {
		return bins, nil
	}
	// An -o ending in a separator is a directory: each command is written there under its name.
	args := append([]string{"build", "-o", dir + string(filepath.Separator)}, pkgs...)
	if out, err := exec.CommandContext(ctx, "go", args...).CombinedOutput(); err != nil {
		return binaries{}, fmt.Errorf("go build: %w\n%s", err, out)
	}
	return bins, nil
}
