// Package agentrun runs the real coding-agent CLIs (Claude Code, Gemini CLI, Codex; installed by
// scripts/agents.sh) headless on a one-line prompt, against a model provider URL (the fake
// provider of package fakeprovider) and exporting their telemetry over OTLP/HTTP to an endpoint
// (a recorder of package otlprecord, or the watcher), with HOME and the XDG directories in a
// fresh directory so that nothing of the machine's user is read or written.
package agentrun

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Tools are the CLIs, by the name of their executable.
var Tools = []string{"claude", "gemini", "codex"}

// Models are the models each CLI is told to use (the fake provider answers for any).
var Models = map[string]string{
	"claude": "claude-sonnet-4-5",
	"gemini": "gemini-2.5-flash",
	"codex":  "gpt-5",
}

// Providers are the provider each CLI's calls go to, as the watcher names it.
var Providers = map[string]string{
	"claude": "anthropic",
	"gemini": "gcp.gemini",
	"codex":  "openai",
}

// Prompt is the prompt every run sends.
const Prompt = "say hi"

// Options are the parameters of one run.
type Options struct {
	// Bin is the directory of the CLIs' executables (OUTAGEWATCH_AGENTS_BIN).
	Bin string
	// Provider is the fake provider's base URL, "http://127.0.0.1:PORT".
	Provider string
	// OTLP is the OTLP/HTTP base URL the telemetry goes to, "http://127.0.0.1:PORT" (the CLIs
	// append /v1/logs, /v1/metrics, /v1/traces).
	OTLP string
	// Dir is a fresh directory for HOME, the XDG directories and the working directory.
	Dir string
	// Protocol is the OTLP encoding, "http/json" (the default) or "http/protobuf".
	Protocol string
	// Timeout bounds the run (default 2 minutes).
	Timeout time.Duration
}

// Result is what a run did.
type Result struct {
	Output   string
	Err      error
	Duration time.Duration
}

// Command returns the command that runs tool headless with opts, its environment set.
func Command(ctx context.Context, tool string, opts Options) (*exec.Cmd, error) {
	if opts.Protocol == "" {
		opts.Protocol = "http/json"
	}
	home := filepath.Join(opts.Dir, "home")
	work := filepath.Join(opts.Dir, "work")
	for _, d := range []string{home, work, filepath.Join(home, ".config"), filepath.Join(home, ".cache"), filepath.Join(home, ".local", "share"), filepath.Join(home, ".local", "state")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, err
		}
	}
	env := baseEnv(home)
	var args []string
	switch tool {
	case "claude":
		env = append(env, ClaudeEnv(opts.Provider, opts.OTLP, opts.Protocol)...)
		args = []string{"-p", Prompt, "--model", Models[tool]}
	case "gemini":
		env = append(env, GeminiEnv(opts.Provider, opts.OTLP, opts.Protocol)...)
		if err := writeGeminiSettings(home, opts.OTLP, opts.Protocol); err != nil {
			return nil, err
		}
		// Gemini CLI 0.61 has no --telemetry flags: settings.json and GEMINI_TELEMETRY_* set it.
		args = []string{"-p", Prompt, "-m", Models[tool], "--skip-trust"}
	case "codex":
		codexHome := filepath.Join(home, ".codex")
		if err := writeCodexConfig(codexHome, opts.Provider, opts.OTLP, opts.Protocol); err != nil {
			return nil, err
		}
		env = append(env, CodexEnv(codexHome)...)
		args = []string{"exec", "--skip-git-repo-check", "--color", "never", Prompt}
	default:
		return nil, fmt.Errorf("unknown tool %q (want one of %s)", tool, strings.Join(Tools, ", "))
	}
	cmd := exec.CommandContext(ctx, filepath.Join(opts.Bin, tool), args...)
	cmd.Env = env
	cmd.Dir = work
	cmd.Stdin = nil
	cmd.WaitDelay = 5 * time.Second
	return cmd, nil
}

// Run runs tool headless with opts and waits for it to end.
func Run(ctx context.Context, tool string, opts Options) Result {
	if opts.Timeout == 0 {
		opts.Timeout = 2 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	cmd, err := Command(ctx, tool, opts)
	if err != nil {
		return Result{Err: err}
	}
	start := time.Now()
	out, err := cmd.CombinedOutput()
	return Result{Output: string(out), Err: err, Duration: time.Since(start)}
}

// baseEnv is the environment every CLI runs with: PATH (node), a fresh HOME and XDG
// directories, and nothing else of this process's environment (no real API key, no proxy).
func baseEnv(home string) []string {
	env := []string{
		"HOME=" + home,
		"USER=agent", "LOGNAME=agent",
		"XDG_CONFIG_HOME=" + filepath.Join(home, ".config"),
		"XDG_CACHE_HOME=" + filepath.Join(home, ".cache"),
		"XDG_DATA_HOME=" + filepath.Join(home, ".local", "share"),
		"XDG_STATE_HOME=" + filepath.Join(home, ".local", "state"),
		"TERM=dumb", "NO_COLOR=1", "CI=1",
		"NO_PROXY=127.0.0.1,localhost", "no_proxy=127.0.0.1,localhost",
	}
	for _, k := range []string{"PATH", "TMPDIR", "LANG"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// OTelEnv is the standard OpenTelemetry SDK environment for exporting logs, metrics and
// traces to the OTLP/HTTP base URL otlp with short export intervals.
func OTelEnv(otlp, protocol string) []string {
	return []string{
		"OTEL_LOGS_EXPORTER=otlp",
		"OTEL_METRICS_EXPORTER=otlp",
		"OTEL_EXPORTER_OTLP_PROTOCOL=" + protocol,
		"OTEL_EXPORTER_OTLP_ENDPOINT=" + otlp,
		"OTEL_LOGS_EXPORT_INTERVAL=500",
		"OTEL_METRIC_EXPORT_INTERVAL=1000",
		"OTEL_BLRP_SCHEDULE_DELAY=500",
		"OTEL_BSP_SCHEDULE_DELAY=500",
	}
}

// ClaudeEnv is Claude Code's environment: the fake API key and base URL, its telemetry on
// (logs, metrics and the beta traces), no auto-update or error reporting.
func ClaudeEnv(provider, otlp, protocol string) []string {
	return append([]string{
		"ANTHROPIC_API_KEY=fake",
		"ANTHROPIC_BASE_URL=" + provider,
		"CLAUDE_CODE_ENABLE_TELEMETRY=1",
		"CLAUDE_CODE_ENHANCED_TELEMETRY_BETA=1",
		"OTEL_TRACES_EXPORTER=otlp",
		"DISABLE_AUTOUPDATER=1",
		"DISABLE_ERROR_REPORTING=1",
		// Two retries (the default is ten, with backoff to about three minutes): the failure
		// shows in about 3 s.
		"CLAUDE_CODE_MAX_RETRIES=2",
	}, OTelEnv(otlp, protocol)...)
}

// GeminiEnv is Gemini CLI's environment: the fake API key and base URL, and its telemetry
// (also set by flags and settings.json).
func GeminiEnv(provider, otlp, protocol string) []string {
	return append([]string{
		"GEMINI_API_KEY=fake",
		"GOOGLE_GEMINI_BASE_URL=" + provider,
		"GEMINI_TELEMETRY_ENABLED=true",
		"GEMINI_TELEMETRY_TARGET=local",
		"GEMINI_TELEMETRY_OTLP_ENDPOINT=" + otlp,
		"GEMINI_TELEMETRY_OTLP_PROTOCOL=http",
		"GEMINI_TELEMETRY_LOG_PROMPTS=false",
		"GEMINI_CLI_TRUST_WORKSPACE=true",
	}, OTelEnv(otlp, protocol)...)
}

// CodexEnv is Codex's environment: the fake API key, the CODEX_HOME holding config.toml (where
// its exporters are), and the OpenTelemetry SDK's batch delays, short (Codex exits after a
// failed turn without exporting what its batches still hold).
func CodexEnv(codexHome string) []string {
	return []string{"OPENAI_API_KEY=fake", "CODEX_HOME=" + codexHome,
		"OTEL_BLRP_SCHEDULE_DELAY=100", "OTEL_BSP_SCHEDULE_DELAY=100", "OTEL_METRIC_EXPORT_INTERVAL=1000"}
}
