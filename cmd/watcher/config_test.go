package main

import (
	"flag"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// envMap returns a getenv that reads m.
func envMap(m map[string]string) func(string) string {
	return func(name string) string { return m[name] }
}

// writeConfig writes data to a file in a temporary directory and returns its path.
func writeConfig(tb testing.TB, data string) string {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "watcher.yaml")
	require.NoError(tb, os.WriteFile(path, []byte(data), 0o600))
	return path
}

func TestDefaultConfigValidates(t *testing.T) {
	t.Parallel()
	require.NoError(t, DefaultConfig().Validate())
}

func TestLoadConfigWithNothingGivesDefaults(t *testing.T) {
	t.Parallel()
	cfg, opts, err := loadConfig(nil, envMap(nil))
	require.NoError(t, err)
	require.Equal(t, DefaultConfig(), cfg)
	require.Equal(t, options{}, opts)
}

func TestLoadConfigPrecedence(t *testing.T) {
	t.Parallel()
	yamlFile := writeConfig(t, `
log: {level: warn, format: json}
api: {addr: "yaml:1"}
ingest: {grpc_addr: "yaml:2", http_addr: "yaml:3"}
`)
	settings := []struct {
		field   field
		env     string
		flag    string
		yaml    string
		initial string
		// envValue and flagValue must pass validation too.
		envValue, flagValue string
	}{
		{logLevelField, "OUTAGEWATCH_LOG_LEVEL", "-log.level", "warn", "info", "error", "debug"},
		{logFormatField, "OUTAGEWATCH_LOG_FORMAT", "-log.format", "json", "text", "text", "json"},
		{apiAddrField, "OUTAGEWATCH_API_ADDR", "-api.addr", "yaml:1", ":9317", "env:1", "flag:1"},
		{grpcAddrField, "OUTAGEWATCH_OTLP_GRPC_ADDR", "-otlp.grpc.addr", "yaml:2", ":4317", "env:2", "flag:2"},
		{httpAddrField, "OUTAGEWATCH_OTLP_HTTP_ADDR", "-otlp.http.addr", "yaml:3", ":4318", "env:3", "flag:3"},
	}
	for _, s := range settings {
		layers := []struct {
			name string
			args []string
			env  map[string]string
			want string
		}{
			{"defaults", nil, nil, s.initial},
			{"yaml over defaults", []string{"-config", yamlFile}, nil, s.yaml},
			{"env over yaml", nil, map[string]string{envConfig: yamlFile, s.env: s.envValue}, s.envValue},
			{"empty env is unset", nil, map[string]string{envConfig: yamlFile, s.env: ""}, s.yaml},
			{"flag over env", []string{s.flag + "=" + s.flagValue}, map[string]string{envConfig: yamlFile, s.env: s.envValue}, s.flagValue},
		}
		for _, l := range layers {
			t.Run(s.env+"/"+l.name, func(t *testing.T) {
				t.Parallel()
				cfg, _, err := loadConfig(l.args, envMap(l.env))
				require.NoError(t, err)
				require.Equal(t, l.want, *s.field(&cfg))
			})
		}
	}
}

func TestLoadConfigFlagsOverrideOnlyWhenSet(t *testing.T) {
	t.Parallel()
	path := writeConfig(t, "api: {addr: \"yaml:1\"}\n")
	cfg, _, err := loadConfig([]string{"-config", path, "-log.level", "debug"}, envMap(nil))
	require.NoError(t, err)
	require.Equal(t, "yaml:1", cfg.API.Addr, "an unset flag's default must not override the file")
	require.Equal(t, "debug", cfg.Log.Level)
}

func TestLoadConfigEmptyFlagDisablesReceiver(t *testing.T) {
	t.Parallel()
	env := envMap(map[string]string{"OUTAGEWATCH_OTLP_GRPC_ADDR": ":5317"})
	cfg, _, err := loadConfig([]string{"-otlp.grpc.addr="}, env)
	require.NoError(t, err)
	require.Empty(t, cfg.Ingest.GRPCAddr)
	require.Equal(t, ":4318", cfg.Ingest.HTTPAddr)
}

func TestLoadConfigGoodFixtures(t *testing.T) {
	t.Parallel()
	paths, err := filepath.Glob("testdata/config/good/*.yaml")
	require.NoError(t, err)
	require.NotEmpty(t, paths)
	for _, path := range paths {
		t.Run(filepath.Base(path), func(t *testing.T) {
			t.Parallel()
			cfg, opts, err := loadConfig([]string{"-config", path}, envMap(nil))
			require.NoError(t, err)
			require.NoError(t, cfg.Validate())
			require.Equal(t, path, opts.configPath)
		})
	}
}

func TestLoadConfigFullFixture(t *testing.T) {
	t.Parallel()
	cfg, _, err := loadConfig([]string{"-config", "testdata/config/good/full.yaml"}, envMap(nil))
	require.NoError(t, err)
	want := DefaultConfig()
	want.Log = LogConfig{Level: "debug", Format: "json"}
	want.API = APIConfig{Addr: "127.0.0.1:19317", ShutdownTimeout: 30 * time.Second}
	want.Ingest.GRPCAddr, want.Ingest.HTTPAddr = "127.0.0.1:14317", "127.0.0.1:14318"
	want.Ingest.MaxRequestBytes, want.Ingest.QueueSize = 8<<20, 256
	want.Ingest.AttemptWait = 2500 * time.Millisecond
	want.Ingest.MaxProviders, want.Ingest.MaxModelsPerProvider = 8, 16
	want.Ingest.ProviderHosts = map[string]string{"llm-gateway.internal": "openai", "10.0.0.7:8080": "anthropic"}
	require.Equal(t, want, cfg)
}

// TestLoadConfigBadFixtures loads each testdata/config/bad/NAME.yaml and expects every line of
// NAME.err in the error.
func TestLoadConfigBadFixtures(t *testing.T) {
	t.Parallel()
	paths, err := filepath.Glob("testdata/config/bad/*.yaml")
	require.NoError(t, err)
	require.NotEmpty(t, paths)
	errFiles, err := filepath.Glob("testdata/config/bad/*.err")
	require.NoError(t, err)
	require.Len(t, errFiles, len(paths), "each bad fixture needs a .err file, and each .err file a fixture")
	for _, path := range paths {
		t.Run(filepath.Base(path), func(t *testing.T) {
			t.Parallel()
			want, err := os.ReadFile(strings.TrimSuffix(path, ".yaml") + ".err")
			require.NoError(t, err)
			cfg, _, err := loadConfig([]string{"-config", path}, envMap(nil))
			require.Error(t, err)
			require.Equal(t, Config{}, cfg)
			for line := range strings.Lines(strings.TrimSpace(string(want))) {
				require.Contains(t, err.Error(), strings.TrimSpace(line))
			}
		})
	}
}

func TestLoadConfigFileErrors(t *testing.T) {
	t.Parallel()
	missing := filepath.Join(t.TempDir(), "missing.yaml")
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"missing file from flag", []string{"-config", missing}, nil, "read config: open " + missing},
		{"missing file from env", nil, map[string]string{envConfig: missing}, "read config: open " + missing},
		{"flag beats env", []string{"-config", missing}, map[string]string{envConfig: "testdata/config/good/full.yaml"}, missing},
		{"directory", []string{"-config", t.TempDir()}, nil, "read config:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, _, err := loadConfig(tt.args, envMap(tt.env))
			require.ErrorContains(t, err, tt.want)
		})
	}
}

func TestLoadConfigEmptyConfigFlagIgnoresEnv(t *testing.T) {
	t.Parallel()
	_, opts, err := loadConfig([]string{"-config="}, envMap(map[string]string{envConfig: "/nonexistent.yaml"}))
	require.NoError(t, err)
	require.Empty(t, opts.configPath)
}

func TestLoadConfigOptions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want options
	}{
		{"none", nil, nil, options{}},
		{"check", []string{"-config.check"}, nil, options{configCheck: true}},
		{"check with file", []string{"-config.check", "-config", "testdata/config/good/full.yaml"}, nil,
			options{configCheck: true, configPath: "testdata/config/good/full.yaml"}},
		{"file from env", nil, map[string]string{envConfig: "testdata/config/good/minimal.yaml"},
			options{configPath: "testdata/config/good/minimal.yaml"}},
		{"double dash", []string{"--config.check=true"}, nil, options{configCheck: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, opts, err := loadConfig(tt.args, envMap(tt.env))
			require.NoError(t, err)
			require.Equal(t, tt.want, opts)
		})
	}
}

func TestLoadConfigCheckStillReportsErrors(t *testing.T) {
	t.Parallel()
	path := writeConfig(t, "log: {level: loud}\n")
	_, opts, err := loadConfig([]string{"-config.check", "-config", path}, envMap(nil))
	require.ErrorContains(t, err, "log.level: must be one of")
	require.True(t, opts.configCheck)
}

func TestLoadConfigFlagErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown flag", []string{"-postgres.dsn", "x"}, "parse flags: flag provided but not defined: -postgres.dsn"},
		{"missing value", []string{"-api.addr"}, "parse flags: flag needs an argument: -api.addr"},
		{"positional argument", []string{"serve"}, `parse flags: unexpected argument "serve"`},
		{"bad bool", []string{"-config.check=maybe"}, "parse flags: invalid boolean value"},
		{"invalid value", []string{"-log.format", "xml"}, `log.format: must be one of text, json, not "xml"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, _, err := loadConfig(tt.args, envMap(nil))
			require.ErrorContains(t, err, tt.want)
			require.NotErrorIs(t, err, flag.ErrHelp)
		})
	}
}

func TestLoadConfigHelp(t *testing.T) {
	t.Parallel()
	for _, arg := range []string{"-h", "-help", "--help"} {
		t.Run(arg, func(t *testing.T) {
			t.Parallel()
			_, _, err := loadConfig([]string{arg}, envMap(nil))
			require.ErrorIs(t, err, flag.ErrHelp)
			for _, want := range []string{"Usage: watcher", "-config file", "-config.check", `-api.addr address`,
				`(default ":9317")`, "-otlp.grpc.addr", envConfig, "OUTAGEWATCH_OTLP_HTTP_ADDR"} {
				require.Contains(t, err.Error(), want)
			}
		})
	}
}

func TestLoadConfigEnvErrors(t *testing.T) {
	t.Parallel()
	_, _, err := loadConfig(nil, envMap(map[string]string{"OUTAGEWATCH_LOG_LEVEL": "loud"}))
	require.ErrorContains(t, err, `log.level: must be one of debug, info, warn, error, not "loud"`)
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		modify func(*Config)
		want   []string
	}{
		{"defaults", func(*Config) {}, nil},
		{"api on any port", func(c *Config) { c.API.Addr = "localhost:0" }, nil},
		{"longest shutdown", func(c *Config) { c.API.ShutdownTimeout = 5 * time.Minute }, nil},
		{"level", func(c *Config) { c.Log.Level = "INFO" }, []string{`log.level: must be one of debug, info, warn, error, not "INFO"`}},
		{"format", func(c *Config) { c.Log.Format = "" }, []string{`log.format: must be one of text, json, not ""`}},
		{"addr", func(c *Config) { c.API.Addr = "" }, []string{"api.addr: must not be empty"}},
		{"addr syntax", func(c *Config) { c.API.Addr = "[::1" }, []string{"api.addr: address [::1: missing ']' in address"}},
		{"no shutdown", func(c *Config) { c.API.ShutdownTimeout = 0 }, []string{"api.shutdown_timeout: must be > 0"}},
		{"long shutdown", func(c *Config) { c.API.ShutdownTimeout = 5*time.Minute + 1 }, []string{"api.shutdown_timeout: must be at most 5m"}},
		{"ingest", func(c *Config) { c.Ingest.QueueSize = 0 }, []string{"ingest.queue_size: must be at least 1"}},
		{"every error", func(c *Config) {
			c.Log.Level, c.API.ShutdownTimeout, c.Ingest.MaxProviders = "", -time.Second, 0
		}, []string{"log.level:", "api.shutdown_timeout: must be > 0", "ingest.max_providers: must be at least 1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := DefaultConfig()
			tt.modify(&cfg)
			err := cfg.Validate()
			if tt.want == nil {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			for _, want := range tt.want {
				require.Contains(t, err.Error(), want)
			}
		})
	}
}

func TestLogConfigSlogLevel(t *testing.T) {
	t.Parallel()
	want := map[string]slog.Level{"debug": slog.LevelDebug, "info": slog.LevelInfo, "warn": slog.LevelWarn, "error": slog.LevelError}
	for _, level := range logLevels {
		require.Equal(t, want[level], LogConfig{Level: level}.SlogLevel(), level)
	}
}

func TestSecretFromEnv(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := func(name, content string) string {
		path := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(path, []byte(content), 0o600))
		return path
	}
	tests := []struct {
		name    string
		env     map[string]string
		want    string
		wantErr string
	}{
		{"unset", nil, "", ""},
		{"value", map[string]string{"S": "xoxb-1"}, "xoxb-1", ""},
		{"file", map[string]string{"S_FILE": file("plain", "xoxb-2")}, "xoxb-2", ""},
		{"file with newline", map[string]string{"S_FILE": file("newline", "xoxb-3\n")}, "xoxb-3", ""},
		{"file with crlf", map[string]string{"S_FILE": file("crlf", "xoxb-4\r\n")}, "xoxb-4", ""},
		{"inner spaces kept", map[string]string{"S_FILE": file("spaces", " a b \n")}, " a b ", ""},
		{"empty value means unset", map[string]string{"S": "", "S_FILE": file("empty-value", "xoxb-5")}, "xoxb-5", ""},
		{"both", map[string]string{"S": "xoxb-6", "S_FILE": file("both", "xoxb-7")}, "", "S and S_FILE are both set"},
		{"missing file", map[string]string{"S_FILE": filepath.Join(dir, "nope")}, "", "S_FILE: open " + filepath.Join(dir, "nope")},
		{"empty file", map[string]string{"S_FILE": file("empty", "\n")}, "", "S_FILE: " + filepath.Join(dir, "empty") + " is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := secretFromEnv(envMap(tt.env), "S")
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				require.NotContains(t, err.Error(), "xoxb", "errors must not leak the secret")
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestApplyEnvSecret(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "addr")
	require.NoError(t, os.WriteFile(path, []byte("127.0.0.1:1\n"), 0o600))
	v := envVar{name: "OUTAGEWATCH_TEST_SECRET", secret: true, set: setString(apiAddrField)}
	got, err := v.lookup(envMap(map[string]string{"OUTAGEWATCH_TEST_SECRET_FILE": path}))
	require.NoError(t, err)
	require.Equal(t, "127.0.0.1:1", got)
}

func TestEnvVarNamesAreUnique(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{envConfig: true}
	for _, v := range envVars {
		require.False(t, seen[v.name], v.name)
		require.True(t, strings.HasPrefix(v.name, "OUTAGEWATCH_"), v.name)
		seen[v.name] = true
	}
}

func TestHelpErrorWrapsErrHelp(t *testing.T) {
	t.Parallel()
	var err error = helpError{usage: "usage"}
	require.ErrorIs(t, err, flag.ErrHelp)
	require.Equal(t, "usage", err.Error())
}
