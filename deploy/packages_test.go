package deploy

import (
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// testVersion is the version the test packages are built with.
const testVersion = "0.0.1"

// packagedFile is one regular file the packages install: where from, where to, with what mode,
// and whether it is a configuration file kept across upgrades (noreplace).
type packagedFile struct {
	src    string // repository path, or "" for the built binary
	dst    string
	perms  string // as ls -l shows it
	config bool
}

// packagedFiles are every regular file both packages must hold, and nothing else.
var packagedFiles = []packagedFile{
	{"", installedBinary, "-rwxr-xr-x", false},
	{unitPath, installedUnit, "-rw-r--r--", false},
	{configPath, installedConfig, "-rw-r--r--", true},
	{envExamplePath, installedEnv, "-rw-------", true},
}

// maintainerScripts maps the deb's control-archive names of the maintainer scripts to their
// sources (the rpm holds the same ones as %post, %preun and %postun).
var maintainerScripts = map[string]string{
	"postinst": "deploy/packaging/postinstall.sh",
	"prerm":    "deploy/packaging/preremove.sh",
	"postrm":   "deploy/packaging/postremove.sh",
}

// buildPackage builds the deb or rpm of bin with go tool nfpm into a temporary directory and
// returns its path.
func buildPackage(t *testing.T, bin, packager string) string {
	t.Helper()
	out := t.TempDir()
	run(t, repoRoot(t), []string{
		"OUTAGEWATCH_BINARY=" + bin,
		"OUTAGEWATCH_VERSION=" + testVersion,
		"OUTAGEWATCH_ARCH=" + runtime.GOARCH,
	}, "go", "tool", "nfpm", "package", "-f", nfpmPath, "-p", packager, "-t", out)
	matches, err := filepath.Glob(filepath.Join(out, "*."+packager))
	require.NoError(t, err)
	require.Len(t, matches, 1, "nfpm made one .%s in %s", packager, out)
	return matches[0]
}

// TestPackages builds the deb and the rpm of a freshly built daemon with nfpm and checks, with
// dpkg-deb and rpm, their metadata, that they hold exactly the binary, the unit, the default
// configuration and the example env file, with the right modes and content, the last two as
// configuration files, and the maintainer scripts.
func TestPackages(t *testing.T) {
	requireTool(t, "dpkg-deb", "scripts/packaging-tools.sh")
	requireTool(t, "rpm", "scripts/packaging-tools.sh")
	bin := buildDaemon(t)
	t.Run("deb", func(t *testing.T) { checkDeb(t, bin, buildPackage(t, bin, "deb")) })
	t.Run("rpm", func(t *testing.T) { checkRPM(t, bin, buildPackage(t, bin, "rpm")) })
}

// checkDeb checks the deb at path, built of bin.
func checkDeb(t *testing.T, bin, path string) {
	root := repoRoot(t)

	// The control file.
	info := run(t, root, nil, "dpkg-deb", "-I", path)
	t.Logf("dpkg-deb -I:\n%s", info)
	fields := controlFields(run(t, root, nil, "dpkg-deb", "-f", path))
	require.Equal(t, "outagewatch", fields["Package"])
	require.Equal(t, testVersion, fields["Version"])
	require.Equal(t, runtime.GOARCH, fields["Architecture"]) // amd64 and arm64 are Debian's names too
	require.True(t, strings.HasPrefix(fields["Description"], "LLM provider outage detector."), fields["Description"])
	require.NotEmpty(t, fields["Maintainer"])
	// A static binary: no dependency at all.
	for _, f := range []string{"Depends", "Pre-Depends", "Recommends"} {
		require.NotContains(t, fields, f)
	}

	// The files, with modes and owners: every regular file is one of packagedFiles.
	listing := run(t, root, nil, "dpkg-deb", "-c", path)
	t.Logf("dpkg-deb -c:\n%s", listing)
	got := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(listing), "\n") {
		f := strings.Fields(line)
		require.GreaterOrEqual(t, len(f), 6, "dpkg-deb -c line %q", line)
		require.Equal(t, "root/root", f[1], "owner of %s", f[5])
		if strings.HasPrefix(f[0], "d") {
			continue
		}
		got[strings.TrimPrefix(f[5], ".")] = f[0]
	}
	want := map[string]string{}
	for _, pf := range packagedFiles {
		want[pf.dst] = pf.perms
	}
	require.Equal(t, want, got, "regular files and modes of the deb")

	// Their content: the package's files are the repository's (and the binary built).
	tree := t.TempDir()
	run(t, root, nil, "dpkg-deb", "-x", path, tree)
	for _, pf := range packagedFiles {
		src := bin
		if pf.src != "" {
			src = filepath.Join(root, pf.src)
		}
		require.Equal(t, sha256File(t, src), sha256File(t, filepath.Join(tree, pf.dst)), "content of %s", pf.dst)
	}

	// The control archive: conffiles and the maintainer scripts.
	ctrl := t.TempDir()
	run(t, root, nil, "dpkg-deb", "-e", path, ctrl)
	conffiles, err := os.ReadFile(filepath.Join(ctrl, "conffiles"))
	require.NoError(t, err)
	require.ElementsMatch(t, configFiles(), strings.Fields(string(conffiles)), "conffiles")
	for name, src := range maintainerScripts {
		fi, err := os.Stat(filepath.Join(ctrl, name))
		require.NoError(t, err, "the deb has no %s", name)
		require.Equal(t, os.FileMode(0o755), fi.Mode().Perm(), "mode of %s", name)
		require.Equal(t, sha256File(t, filepath.Join(root, src)), sha256File(t, filepath.Join(ctrl, name)), "%s is %s", name, src)
	}
}

// checkRPM checks the rpm at path, built of bin.
func checkRPM(t *testing.T, bin, path string) {
	root := repoRoot(t)
	rpmArch := map[string]string{"amd64": "x86_64", "arm64": "aarch64"}[runtime.GOARCH]
	require.NotEmpty(t, rpmArch, "no rpm architecture known for %s", runtime.GOARCH)

	t.Logf("rpm -qpi:\n%s", run(t, root, nil, "rpm", "-qpi", path))
	head := run(t, root, nil, "rpm", "-qp", "--qf", "%{NAME}|%{VERSION}|%{ARCH}|%{SUMMARY}|%{FILEDIGESTALGO}", path)
	require.Equal(t, []string{"outagewatch", testVersion, rpmArch, "LLM provider outage detector.", "8"},
		strings.Split(head, "|"), "name, version, arch, summary and digest algorithm (8: SHA-256)")

	// Only rpmlib's own capabilities are required: a static binary needs no other package.
	for _, req := range strings.Split(strings.TrimSpace(run(t, root, nil, "rpm", "-qpR", path)), "\n") {
		require.True(t, strings.HasPrefix(req, "rpmlib("), "unexpected requirement %q", req)
	}

	// The files with modes, owners, flags and SHA-256 digests; directories have no digest.
	listing := run(t, root, nil, "rpm", "-qp", "--qf",
		"[%{FILEMODES:perms} %{FILEUSERNAME}:%{FILEGROUPNAME} %{FILEFLAGS:fflags}. %{FILEDIGESTS}. %{FILENAMES}\n]", path)
	t.Logf("rpm files:\n%s", listing)
	type rpmFile struct{ perms, flags, digest string }
	got := map[string]rpmFile{}
	for _, line := range strings.Split(strings.TrimSpace(listing), "\n") {
		f := strings.Fields(line)
		require.Len(t, f, 5, "rpm file line %q", line)
		require.Equal(t, "root:root", f[1], "owner of %s", f[4])
		if strings.HasPrefix(f[0], "d") {
			continue
		}
		got[f[4]] = rpmFile{f[0], strings.TrimSuffix(f[2], "."), strings.TrimSuffix(f[3], ".")}
	}
	want := map[string]rpmFile{}
	for _, pf := range packagedFiles {
		src := bin
		if pf.src != "" {
			src = filepath.Join(root, pf.src)
		}
		flags := ""
		if pf.config {
			flags = "cn" // %config(noreplace)
		}
		want[pf.dst] = rpmFile{pf.perms, flags, sha256File(t, src)}
	}
	require.Equal(t, want, got, "regular files of the rpm")

	configs := strings.Fields(run(t, root, nil, "rpm", "-qp", "--configfiles", path))
	require.ElementsMatch(t, configFiles(), configs, "rpm -qp --configfiles")
	listed := strings.Fields(run(t, root, nil, "rpm", "-qlp", path))
	for _, pf := range packagedFiles {
		require.Contains(t, listed, pf.dst, "rpm -qlp")
	}

	// The maintainer scripts, as %post, %preun and %postun.
	scripts := run(t, root, nil, "rpm", "-qp", "--scripts", path)
	for _, src := range maintainerScripts {
		body := strings.TrimSpace(string(readRepoFile(t, src)))
		require.Contains(t, scripts, body, "the rpm's scripts hold %s", src)
	}
	for _, phase := range []string{"postinstall scriptlet", "preuninstall scriptlet", "postuninstall scriptlet"} {
		require.Contains(t, scripts, phase)
	}
}

// configFiles are the packages' configuration files' paths, sorted.
func configFiles() []string {
	var out []string
	for _, pf := range packagedFiles {
		if pf.config {
			out = append(out, pf.dst)
		}
	}
	sort.Strings(out)
	return out
}

// controlFields parses a deb's control file (dpkg-deb -f) into its fields; a continuation line
// (starting with a space) is appended to the field before it.
func controlFields(control string) map[string]string {
	fields := map[string]string{}
	last := ""
	for _, line := range strings.Split(control, "\n") {
		if strings.HasPrefix(line, " ") && last != "" {
			fields[last] += "\n" + strings.TrimSpace(line)
			continue
		}
		if k, v, ok := strings.Cut(line, ":"); ok {
			last = strings.TrimSpace(k)
			fields[last] = strings.TrimSpace(v)
		}
	}
	return fields
}
