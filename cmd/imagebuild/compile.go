package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// buildTags are the watcher's build tags in the image.
//
// Time zone data: the binary embeds Go's time/tzdata (-tags timetzdata, about 450 kB) instead of
// the image carrying the build machine's /usr/share/zoneinfo (several MB). The Go binary is the
// only reader of zone data in the image, Go falls back to the embedded copy when the system has
// none, and the embedded copy is pinned by the Go toolchain's version rather than by whatever
// tzdata package the build machine has installed, so the image stays reproducible from the
// source tree and toolchain alone. An operator can still mount a newer database and point
// ZONEINFO at it.
const buildTags = "timetzdata"

// binaryPath is where the daemon is in the image.
const binaryPath = "/usr/bin/outagewatch"

// compile cross-compiles ./cmd/watcher for p into dir and returns the binary's path. The flags
// make the binary depend on the source and the toolchain only: no cgo, no absolute paths, no VCS
// stamp, no build ID, no symbol tables; GOAMD64 and GOARM64 are pinned to the baseline so that a
// builder's environment cannot raise the CPU requirement.
func compile(ctx context.Context, o options, p platform, dir string) (string, error) {
	bin := filepath.Join(dir, "outagewatch-"+p.OS+"-"+p.Arch)
	start := time.Now()
	cmd := exec.CommandContext(ctx, o.goCmd, "build",
		"-trimpath", "-buildvcs=false", "-tags", buildTags,
		"-ldflags", "-s -w -buildid=",
		"-o", bin, "./cmd/watcher")
	cmd.Dir = o.root
	cmd.Env = append(os.Environ(),
		"CGO_ENABLED=0", "GOOS="+p.OS, "GOARCH="+p.Arch,
		"GOAMD64=v1", "GOARM64=v8.0", "GOFLAGS=")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build for %s: %w\n%s", p, err, out)
	}
	fmt.Fprintf(o.log, "imagebuild: built %s in %.1fs\n", p, time.Since(start).Seconds())
	return bin, nil
}

// checkConfig runs bin -config.check on the packaged configuration when bin can run here (the
// build machine's platform), so that a configuration the daemon would refuse never ships. The
// environment is empty: no OUTAGEWATCH_* variable of the builder's may hide a bad file.
func checkConfig(ctx context.Context, bin string, p platform, config string) error {
	if p.OS != runtime.GOOS || p.Arch != runtime.GOARCH {
		return nil
	}
	cmd := exec.CommandContext(ctx, bin, "-config.check", "-config", config)
	cmd.Env = []string{}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s -config.check %s: %w: %s", binaryPath, config, err, strings.TrimSpace(string(out)))
	}
	return nil
}
