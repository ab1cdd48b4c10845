package agentrun

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestCommand checks what each CLI is run with: its base URL and telemetry endpoint, a HOME
// of its own, and nothing of this process's environment but PATH and the locale.
func TestCommand(t *testing.T) {
	t.Setenv("ANTHROPIC_API_KEY", "real-key-must-not-leak")
	t.Setenv("OPENAI_API_KEY", "real-key-must-not-leak")
	opts := Options{Bin: "/bin", Provider: "http://127.0.0.1:1", OTLP: "http://127.0.0.1:2", Dir: t.TempDir()}
	for _, tool := range Tools {
		cmd, err := Command(context.Background(), tool, opts)
		require.NoError(t, err, tool)
		env := strings.Join(cmd.Env, "\n")
		require.NotContains(t, env, "real-key-must-not-leak", tool)
		require.Contains(t, cmd.Env, "HOME="+filepath.Join(opts.Dir, "home"), tool)
		require.Equal(t, filepath.Join(opts.Bin, tool), cmd.Path, tool)
		switch tool {
		case "claude":
			require.Contains(t, cmd.Env, "ANTHROPIC_BASE_URL=http://127.0.0.1:1")
			require.Contains(t, cmd.Env, "OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:2")
			require.Contains(t, cmd.Env, "OTEL_EXPORTER_OTLP_PROTOCOL=http/json")
		case "gemini":
			require.Contains(t, cmd.Env, "GOOGLE_GEMINI_BASE_URL=http://127.0.0.1:1")
			settings, err := os.ReadFile(filepath.Join(opts.Dir, "home", ".gemini", "settings.json"))
			require.NoError(t, err)
			require.Contains(t, string(settings), `"otlpEndpoint": "http://127.0.0.1:2"`)
		case "codex":
			config, err := os.ReadFile(filepath.Join(opts.Dir, "home", ".codex", "config.toml"))
			require.NoError(t, err)
			require.Contains(t, string(config), `base_url = "http://127.0.0.1:1/v1"`)
			require.Contains(t, string(config), `endpoint = "http://127.0.0.1:2/v1/logs", protocol = "json"`)
			require.Contains(t, cmd.Args, "exec")
		}
	}
	_, err := Command(context.Background(), "aider", opts)
	require.Error(t, err)
}
