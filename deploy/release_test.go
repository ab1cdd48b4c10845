package deploy

import (
	"os"
	"path"
	"testing"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// goreleaserEnv names the GoReleaser binary the tests run; scripts/goreleaser.sh builds it.
const goreleaserEnv = "OUTAGEWATCH_GORELEASER"

// TestGoreleaserCheck runs the pinned GoReleaser's own `check` on .goreleaser.yaml: it fails on
// an invalid or deprecated setting.
func TestGoreleaserCheck(t *testing.T) {
	bin := os.Getenv(goreleaserEnv)
	if bin == "" {
		t.Fatalf("%s is not set: run %s=$(scripts/goreleaser.sh | tail -n 1) (scripts/test.sh does)", goreleaserEnv, goreleaserEnv)
	}
	_, err := os.Stat(bin)
	require.NoError(t, err, "%s names no file: run scripts/goreleaser.sh", goreleaserEnv)
	out := run(t, repoRoot(t), nil, bin, "check", "-f", goreleaserPath)
	t.Logf("goreleaser check:\n%s", out)
	require.Contains(t, out, "1 configuration file(s) validated")
}

// yamlMap decodes a YAML file of the repository into generic maps and slices.
func yamlMap(t *testing.T, rel string) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, yaml.Unmarshal(readRepoFile(t, rel), &m), rel)
	return m
}

// onlyItem returns the single element of a YAML list of maps under key.
func onlyItem(t *testing.T, m map[string]any, key string) map[string]any {
	t.Helper()
	list, ok := m[key].([]any)
	require.True(t, ok, "%s is a list", key)
	require.Len(t, list, 1, "one %s entry", key)
	item, ok := list[0].(map[string]any)
	require.True(t, ok, "%s[0] is a map", key)
	return item
}

// TestGoreleaserMatchesNfpm checks that GoReleaser's deb and rpm are those of
// deploy/packaging/nfpm.yaml (which TestPackages checks in depth): the same metadata, the same
// contents but for the binary (GoReleaser puts it in bindir), the same maintainer scripts; and
// that its builds are the platforms and flags the release promises.
func TestGoreleaserMatchesNfpm(t *testing.T) {
	nfpm := yamlMap(t, nfpmPath)
	gr := yamlMap(t, goreleaserPath)
	require.Equal(t, 2, gr["version"], "GoReleaser configuration version")

	build := onlyItem(t, gr, "builds")
	require.Equal(t, "./cmd/watcher", build["main"])
	require.Equal(t, "outagewatch", build["binary"])
	require.Equal(t, []any{"linux", "darwin"}, build["goos"])
	require.Equal(t, []any{"amd64", "arm64"}, build["goarch"])
	require.Equal(t, []any{"CGO_ENABLED=0"}, build["env"])
	require.Equal(t, []any{"-trimpath"}, build["flags"])
	require.Equal(t, []any{"-s -w"}, build["ldflags"])
	require.Equal(t, "{{ .CommitTimestamp }}", build["mod_timestamp"])

	pkg := onlyItem(t, gr, "nfpms")
	require.ElementsMatch(t, []any{"deb", "rpm"}, pkg["formats"])
	require.Equal(t, nfpm["name"], pkg["package_name"])
	for _, key := range []string{"section", "priority", "maintainer", "vendor", "homepage", "description", "scripts"} {
		require.NotEmpty(t, nfpm[key], "nfpm.yaml %s", key)
		require.Equal(t, nfpm[key], pkg[key], "nfpms[0].%s differs from nfpm.yaml's", key)
	}

	// nfpm.yaml's contents are GoReleaser's plus the binary, which GoReleaser adds itself.
	var rest []any
	binaries := 0
	for _, c := range nfpm["contents"].([]any) {
		entry := c.(map[string]any)
		if entry["dst"] == installedBinary {
			binaries++
			require.Equal(t, pkg["bindir"], path.Dir(installedBinary), "GoReleaser's bindir")
			require.Equal(t, build["binary"], path.Base(installedBinary))
			continue
		}
		rest = append(rest, entry)
	}
	require.Equal(t, 1, binaries, "nfpm.yaml installs the binary once")
	require.Equal(t, rest, pkg["contents"], "nfpms[0].contents differ from nfpm.yaml's")

	// The archives hold the README and the default configuration; SBOMs of the archives; the
	// image is built by cmd/imagebuild and checksummed with the rest.
	archive := onlyItem(t, gr, "archives")
	require.Equal(t, []any{"tar.gz"}, archive["formats"])
	var srcs []any
	for _, f := range archive["files"].([]any) {
		srcs = append(srcs, f.(map[string]any)["src"])
	}
	require.Subset(t, srcs, []any{"README.md", configPath})
	require.Equal(t, "archive", onlyItem(t, gr, "sboms")["artifacts"])
	hooks := gr["before"].(map[string]any)["hooks"].([]any)
	require.Len(t, hooks, 2)
	require.Contains(t, hooks[1], "go run ./cmd/imagebuild -out bin/release-image/oci")
	checksum := gr["checksum"].(map[string]any)
	require.Equal(t, "sha256", checksum["algorithm"])
	require.Equal(t, []any{map[string]any{"glob": "bin/release-image/outagewatch_{{ .Version }}_oci.tar"}}, checksum["extra_files"])
}
