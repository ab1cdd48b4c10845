package deploy

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// unitDirective is one Key=Value line of a unit file.
type unitDirective struct {
	Section, Key, Value string
}

// parseUnit reads a systemd unit file's directives in order (comments and blank lines dropped;
// the unit has no continuation lines, and parseUnit fails on one rather than misread it).
func parseUnit(t *testing.T, text []byte) []unitDirective {
	t.Helper()
	var out []unitDirective
	section := ""
	sc := bufio.NewScanner(bytes.NewReader(text))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
			continue
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			section = strings.Trim(line, "[]")
			continue
		}
		require.False(t, strings.HasSuffix(line, `\`), "line %d: continuation lines are not expected", n)
		key, value, ok := strings.Cut(line, "=")
		require.True(t, ok, "line %d is not Key=Value: %q", n, line)
		require.NotEmpty(t, section, "line %d comes before any section", n)
		out = append(out, unitDirective{section, strings.TrimSpace(key), strings.TrimSpace(value)})
	}
	require.NoError(t, sc.Err())
	return out
}

// values returns every value a key has in a section, in order (a key may repeat).
func values(units []unitDirective, section, key string) []string {
	var out []string
	for _, d := range units {
		if d.Section == section && d.Key == key {
			out = append(out, d.Value)
		}
	}
	return out
}

// TestUnitDirectives checks the unit's service type, paths and every hardening directive that
// docs/deploy.md promises, with its value.
func TestUnitDirectives(t *testing.T) {
	unit := parseUnit(t, readRepoFile(t, unitPath))
	want := map[string][]string{
		"Type":                    {"notify"},
		"NotifyAccess":            {"main"},
		"ExecStart":               {installedBinary + " -config " + installedConfig},
		"ExecReload":              {"/bin/kill -HUP $MAINPID"},
		"EnvironmentFile":         {"-" + installedEnv},
		"Restart":                 {"on-failure"},
		"TimeoutStopSec":          {"20s"},
		"LimitNOFILE":             {"65536"},
		"DynamicUser":             {"yes"},
		"StateDirectory":          {"outagewatch"},
		"ConfigurationDirectory":  {"outagewatch"},
		"UMask":                   {"0077"},
		"ProtectSystem":           {"strict"},
		"ProtectHome":             {"yes"},
		"PrivateTmp":              {"yes"},
		"PrivateDevices":          {"yes"},
		"NoNewPrivileges":         {"yes"},
		"ProtectKernelTunables":   {"yes"},
		"ProtectKernelModules":    {"yes"},
		"ProtectKernelLogs":       {"yes"},
		"ProtectControlGroups":    {"yes"},
		"ProtectClock":            {"yes"},
		"ProtectHostname":         {"yes"},
		"ProtectProc":             {"invisible"},
		"ProcSubset":              nil, // /metrics's process collector reads /proc/stat
		"RemoveIPC":               {"yes"},
		"StateDirectoryMode":      {"0700"},
		"SystemCallErrorNumber":   {"EPERM"},
		"RestrictAddressFamilies": {"AF_UNIX AF_INET AF_INET6"},
		"RestrictNamespaces":      {"yes"},
		"RestrictRealtime":        {"yes"},
		"RestrictSUIDSGID":        {"yes"},
		"LockPersonality":         {"yes"},
		"MemoryDenyWriteExecute":  {"yes"},
		"SystemCallArchitectures": {"native"},
		"SystemCallFilter":        {"@system-service", "~@privileged @resources"},
		"CapabilityBoundingSet":   {""},
		"AmbientCapabilities":     {""},
	}
	for key, vals := range want {
		require.Equal(t, vals, values(unit, "Service", key), "[Service] %s", key)
	}
	require.Equal(t, []string{"multi-user.target"}, values(unit, "Install", "WantedBy"))

	// The config file the unit names is the one the packages install, and the data directory
	// of that config is the unit's state directory.
	require.Contains(t, string(readRepoFile(t, configPath)), "data_dir: /var/lib/outagewatch\n")
}

// TestUnitVerifies runs systemd-analyze verify on the unit. verify checks that ExecStart's
// binary exists, so it runs on a copy whose ExecStart names a freshly built binary, every other
// line unchanged. No running systemd is needed (--man=no, --generators=no). verify exits 0 even
// with warnings, so its output must also not mention the unit at all.
func TestUnitVerifies(t *testing.T) {
	analyze := requireTool(t, "systemd-analyze", "scripts/packaging-tools.sh")
	bin := buildDaemon(t)

	original := string(readRepoFile(t, unitPath))
	from := "\nExecStart=" + installedBinary + " "
	require.Equal(t, 1, strings.Count(original, from), "the unit has one ExecStart of %s", installedBinary)
	copied := strings.Replace(original, from, "\nExecStart="+bin+" ", 1)
	dir := t.TempDir()
	unit := filepath.Join(dir, "outagewatch.service")
	require.NoError(t, os.WriteFile(unit, []byte(copied), 0o644))

	args := []string{"verify", "--man=no"}
	help, _ := exec.Command(analyze, "verify", "--help").CombinedOutput()
	if strings.Contains(string(help), "--generators") {
		args = append(args, "--generators=no")
	}
	args = append(args, unit)
	out := run(t, dir, nil, analyze, args...)
	for _, line := range strings.Split(out, "\n") {
		require.NotContains(t, line, "outagewatch.service", "systemd-analyze verify warns about the unit:\n%s", out)
	}
}
