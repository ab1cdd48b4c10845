package agentrun

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// writeGeminiSettings writes ~/.gemini/settings.json: API-key auth, telemetry to otlp, no
// update checks.
func writeGeminiSettings(home, otlp, protocol string) error {
	_ = protocol // Gemini CLI's OTLP/HTTP exporter sends protobuf
	settings := map[string]any{
		"security":  map[string]any{"auth": map[string]any{"selectedType": "gemini-api-key"}, "folderTrust": map[string]any{"enabled": false}},
		"telemetry": map[string]any{"enabled": true, "target": "local", "otlpEndpoint": otlp, "otlpProtocol": "http", "logPrompts": false},
		// maxAttempts: two attempts (the default is ten, with 5 s to 30 s between them).
		"general": map[string]any{"disableAutoUpdate": true, "disableUpdateNag": true, "maxAttempts": 2},
		"privacy": map[string]any{"usageStatisticsEnabled": false},
	}
	b, err := json.MarshalIndent(settings, "", "  ")
	if err != nil {
		return err
	}
	dir := filepath.Join(home, ".gemini")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "settings.json"), b, 0o600)
}

// writeCodexConfig writes CODEX_HOME/config.toml: a model provider "fake" at the fake
// provider (Responses API, few retries) and the [otel] exporters to otlp.
func writeCodexConfig(codexHome, provider, otlp, protocol string) error {
	proto := "json"
	if protocol == "http/protobuf" {
		proto = "binary"
	}
	config := fmt.Sprintf(`model = %q
model_provider = "fake"
approval_policy = "never"
sandbox_mode = "read-only"
check_for_update_on_startup = false

[model_providers.fake]
name = "fake"
base_url = "%s/v1"
env_key = "OPENAI_API_KEY"
wire_api = "responses"
request_max_retries = 2
stream_max_retries = 1

[otel]
environment = "test"
log_user_prompt = false
exporter = { otlp-http = { endpoint = "%s/v1/logs", protocol = %q } }
metrics_exporter = { otlp-http = { endpoint = "%s/v1/metrics", protocol = %q } }
trace_exporter = { otlp-http = { endpoint = "%s/v1/traces", protocol = %q } }
`, Models["codex"], provider, otlp, proto, otlp, proto, otlp, proto)
	if err := os.MkdirAll(codexHome, 0o700); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(codexHome, "config.toml"), []byte(config), 0o600)
}
