// Package deploy holds the tests of outagewatch's deployment artefacts that are not Go code: the
// systemd unit (deploy/systemd), the deb and rpm packages built with nfpm (deploy/packaging) and
// the GoReleaser configuration (.goreleaser.yaml). See docs/deploy.md.
//
// The tests run real tools and fail, never skip, when one is missing: systemd-analyze, dpkg-deb
// and rpm come from scripts/packaging-tools.sh, nfpm is a Go tool of the root module (go tool
// nfpm) and GoReleaser's path is OUTAGEWATCH_GORELEASER, set from scripts/goreleaser.sh.
package deploy

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Paths of the artefacts, relative to the repository's root.
const (
	unitPath       = "deploy/systemd/outagewatch.service"
	nfpmPath       = "deploy/packaging/nfpm.yaml"
	configPath     = "deploy/outagewatch.yaml"
	envExamplePath = "deploy/packaging/outagewatch.env"
	goreleaserPath = ".goreleaser.yaml"
)

// Where the packages install what; the unit's ExecStart and EnvironmentFile name the same paths.
const (
	installedBinary = "/usr/bin/outagewatch"
	installedUnit   = "/usr/lib/systemd/system/outagewatch.service"
	installedConfig = "/etc/outagewatch/outagewatch.yaml"
	installedEnv    = "/etc/outagewatch/outagewatch.env"
)

// repoRoot is the repository's root: go test runs a package's tests in its directory.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	require.NoError(t, err)
	require.FileExists(t, filepath.Join(root, "go.mod"))
	return root
}

// requireTool returns the path of a tool on PATH and fails the test, naming what installs it,
// when it is not there.
func requireTool(t *testing.T, name, installedBy string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s is not on PATH: run %s first", name, installedBy)
	}
	return path
}

// run runs a command in dir with extra environment variables and returns its combined output,
// failing the test when it does not exit 0.
func run(t *testing.T, dir string, env []string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	start := time.Now()
	err := cmd.Run()
	t.Logf("%s %s (%s)", name, strings.Join(args, " "), time.Since(start).Round(time.Millisecond))
	require.NoError(t, err, "%s %s:\n%s", name, strings.Join(args, " "), out.String())
	return out.String()
}

// buildDaemon builds ./cmd/watcher as `outagewatch` into a temporary directory, the way the
// release does (static, trimmed paths, no symbol table), and returns the binary's path.
func buildDaemon(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "outagewatch")
	run(t, repoRoot(t), []string{"CGO_ENABLED=0"},
		"go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, "./cmd/watcher")
	return bin
}

// readRepoFile returns a file of the repository by its path from the root.
func readRepoFile(t *testing.T, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), rel))
	require.NoError(t, err)
	return b
}

// sha256File is the hex SHA-256 of a file's content.
func sha256File(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
