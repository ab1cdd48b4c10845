package watchertest

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// Tool returns the path of a Go tool of this module (a `tool` line of go.mod, such as
// grpc-health-probe), built by `go tool -n` from the module cache into the build cache. The
// network is off for that build (GOPROXY=off): a missing module fails the test with a message
// that says to run `go mod download`, never a download during the test and never a skip.
func Tool(tb testing.TB, name string) string {
	tb.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	key := "tool:" + name
	if p, ok := built[key]; ok {
		return p
	}
	cmd := exec.Command("go", "tool", "-n", name)
	cmd.Env = append(os.Environ(), "GOPROXY=off", "GOFLAGS=-mod=readonly")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		tb.Fatalf("go tool -n %s (is the module cache filled? go mod download): %v: %s", name, err, stderr.String())
	}
	p := strings.TrimSpace(string(out))
	built[key] = p
	return p
}
