package deploy

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestDebInstall installs the deb for real with dpkg, into an empty root directory instead of
// /: dpkg --root with --force-script-chrootless runs the maintainer scripts on the host with
// DPKG_ROOT set, which they honour (no systemctl on the host, paths under DPKG_ROOT). It checks
// install, a reinstall over a locally changed conffile (kept), remove (conffiles stay) and purge
// (conffiles and the state directory go). No systemd needs to run.
func TestDebInstall(t *testing.T) {
	requireTool(t, "dpkg", "scripts/packaging-tools.sh")
	requireTool(t, "dpkg-query", "scripts/packaging-tools.sh")
	requireTool(t, "dpkg-deb", "scripts/packaging-tools.sh")
	deb := buildPackage(t, buildDaemon(t), "deb")

	root := t.TempDir()
	for _, dir := range []string{"info", "updates", "triggers"} {
		require.NoError(t, os.MkdirAll(filepath.Join(root, "var/lib/dpkg", dir), 0o755))
	}
	for _, file := range []string{"status", "available"} {
		require.NoError(t, os.WriteFile(filepath.Join(root, "var/lib/dpkg", file), nil, 0o644))
	}
	dpkg := func(args ...string) string {
		t.Helper()
		base := []string{"--root=" + root, "--log=" + filepath.Join(root, "dpkg.log"),
			"--force-script-chrootless", "--force-not-root"}
		return run(t, root, nil, "dpkg", append(base, args...)...)
	}
	status := func() string {
		t.Helper()
		return run(t, root, nil, "dpkg-query", "--root="+root, "-W", "-f=${Status} ${Version}", "outagewatch")
	}
	at := func(p string) string { return filepath.Join(root, p) }

	// Install.
	t.Logf("dpkg -i:\n%s", dpkg("-i", deb))
	require.Equal(t, "install ok installed "+testVersion, status())
	for _, pf := range packagedFiles {
		fi, err := os.Stat(at(pf.dst))
		require.NoError(t, err, "%s installed", pf.dst)
		require.Equal(t, pf.perms, fi.Mode().String(), "mode of installed %s", pf.dst)
	}
	conffiles := run(t, root, nil, "dpkg-query", "--root="+root, "-W", "-f=${Conffiles}", "outagewatch")
	for _, c := range configFiles() {
		require.Contains(t, conffiles, c+" ", "dpkg records %s as a conffile", c)
	}

	// A local change to a conffile survives reinstalling the package.
	local := append(readRepoFile(t, configPath), []byte("# changed by the administrator\n")...)
	require.NoError(t, os.WriteFile(at(installedConfig), local, 0o644))
	t.Logf("dpkg -i (again):\n%s", dpkg("-i", deb))
	require.Equal(t, "install ok installed "+testVersion, status())
	kept, err := os.ReadFile(at(installedConfig))
	require.NoError(t, err)
	require.Equal(t, string(local), string(kept), "the changed conffile is kept")

	// Remove: the binary and the unit go, the configuration stays.
	dpkg("--remove", "outagewatch")
	require.Equal(t, "deinstall ok config-files "+testVersion, status())
	require.NoFileExists(t, at(installedBinary))
	require.NoFileExists(t, at(installedUnit))
	require.FileExists(t, at(installedConfig))
	require.FileExists(t, at(installedEnv))

	// Purge: the configuration and the service's state (as DynamicUser keeps it) go too.
	state := at("var/lib/private/outagewatch")
	require.NoError(t, os.MkdirAll(state, 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(state, "outagewatch.db"), []byte("x"), 0o600))
	require.NoError(t, os.Symlink("private/outagewatch", at("var/lib/outagewatch")))
	dpkg("--purge", "outagewatch")
	out, _ := runQuiet(root, "dpkg-query", "--root="+root, "-W", "outagewatch")
	require.Contains(t, out, "no packages found matching outagewatch")
	for _, p := range []string{installedConfig, installedEnv, "var/lib/private/outagewatch", "var/lib/outagewatch"} {
		_, err := os.Lstat(at(p))
		require.ErrorIs(t, err, os.ErrNotExist, "%s is gone after purge", p)
	}
}

// runQuiet runs a command in dir and returns its combined output and error, for commands whose
// failure is the expected answer.
func runQuiet(dir, name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}
