package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// options are everything a build depends on besides the source tree.
type options struct {
	// root is the module's root directory (where go.mod is).
	root string
	// out is the OCI layout directory to write.
	out string
	// tar, when set, is a docker-archive tarball of the tarPlatform image, tagged tag.
	tar         string
	tarPlatform string
	tag         string
	// platforms are the index's platforms, in order.
	platforms []platform
	// version, revision and licenses are the org.opencontainers.image labels of those names.
	version  string
	revision string
	licenses string
	// epoch is the time of every file, of the config's created and of the labels' created.
	epoch time.Time
	// goCmd is the go command.
	goCmd string
	// log receives progress lines.
	log io.Writer
}

// platform is an image's operating system and architecture (and variant, for arm64: v8).
type platform struct {
	OS, Arch, Variant string
}

// String is "os/arch".
func (p platform) String() string { return p.OS + "/" + p.Arch }

// parsePlatform parses "linux/amd64" or "linux/arm64".
func parsePlatform(s string) (platform, error) {
	osName, arch, ok := strings.Cut(s, "/")
	if !ok || osName != "linux" || (arch != "amd64" && arch != "arm64") {
		return platform{}, fmt.Errorf("platform %q: want linux/amd64 or linux/arm64", s)
	}
	p := platform{OS: osName, Arch: arch}
	if arch == "arm64" {
		p.Variant = "v8"
	}
	return p, nil
}

// complete fills in the root, the revision, the epoch (from epoch, seconds, when not empty) and
// the tag, and checks that the tar platform is one of the platforms.
func (o options) complete(ctx context.Context, epoch string) (options, error) {
	if o.root == "" {
		gomod, err := output(ctx, "", o.goCmd, "env", "GOMOD")
		if err != nil {
			return o, err
		}
		if gomod == "" || gomod == "/dev/null" {
			return o, errors.New("not inside a Go module: give -root")
		}
		o.root = filepath.Dir(gomod)
	}
	if o.revision == "" {
		o.revision = "unknown"
		if rev, err := output(ctx, o.root, "git", "rev-parse", "HEAD"); err == nil && rev != "" {
			o.revision = rev
		}
	}
	if epoch == "" {
		epoch = "0"
		if ct, err := output(ctx, o.root, "git", "log", "-1", "--format=%ct"); err == nil && ct != "" {
			epoch = ct
		}
	}
	secs, err := strconv.ParseInt(epoch, 10, 64)
	if err != nil || secs < 0 {
		return o, fmt.Errorf("source date epoch %q: want whole seconds since 1970", epoch)
	}
	o.epoch = time.Unix(secs, 0).UTC()
	if o.tag == "" {
		o.tag = "localhost/outagewatch:" + o.version
	}
	if o.tar != "" {
		p, err := parsePlatform(o.tarPlatform)
		if err != nil {
			return o, fmt.Errorf("-tar-platform: %w", err)
		}
		if !slices.Contains(o.platforms, p) {
			return o, fmt.Errorf("-tar-platform %s is not one of -platforms", p)
		}
	}
	return o, nil
}

// output runs name with args in dir and returns its stdout without surrounding space.
func output(ctx context.Context, dir, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(string(out)), nil
}
