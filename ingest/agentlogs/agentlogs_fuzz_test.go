package agentlogs

import (
	"encoding/json"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/outagewatch/outagewatch/detectors"
)

// FuzzCalls feeds Calls arbitrary logs: the bytes as an OTLP protobuf ExportLogsServiceRequest
// (skipped when they are none), seeded with one event of each kind. It must never panic, and every call
// must be one of the three conventions with a provider, a model, a bounded error message and a
// pseudonym that is no attribute value.
func FuzzCalls(f *testing.F) {
	// Small seeds, one event of each kind: the recorded fixtures are tens of kilobytes, and
	// coverage-guided mutation of inputs that large makes next to no progress.
	var pm plog.ProtoMarshaler
	for _, rec := range []map[string]any{
		{"body": "claude_code.api_request", "model": "claude-sonnet-4-5", "duration_ms": int64(10), "attempt": int64(2), "user.id": "u"},
		{"body": "claude_code.api_error", "error": "Repeated 529 Overloaded errors", "status_code": "undefined", "attempt": "3"},
		{"event.name": "gemini_cli.api_error", "status_code": int64(503), "error": "x@y.com 503", "prompt_id": "p", "auth_type": "vertex-ai"},
		{"event.name": "gemini_cli.api_response", "duration_ms": 1.5, "input_token_count": "7"},
		{"event.name": "codex.api_request", "http.response.status_code": int64(200), "duration_ms": "12", "event.timestamp": "2026-06-21T00:00:00Z"},
		{"event.name": "codex.sse_event", "event.kind": "response.failed", "error.message": `{"response":{"error":{"code":"c","message":"m"}}}`},
	} {
		pb, err := pm.MarshalLogs(logs(map[string]any{"service.name": "claude-code", "host.name": "h"}, rec))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(pb)
	}
	f.Add([]byte{})
	var pu plog.ProtoUnmarshaler
	f.Fuzz(func(t *testing.T, b []byte) {
		ld, err := pu.UnmarshalLogs(b)
		if err != nil {
			t.Skip()
		}
		for _, c := range Calls(ld, nil) {
			switch c.Convention {
			case ConventionClaudeCode, ConventionGeminiCLI, ConventionCodex:
			default:
				t.Fatalf("convention %q", c.Convention)
			}
			if c.Provider == "" || c.Model == "" {
				t.Fatalf("call without provider or model: %+v", c)
			}
			if len(c.ErrorMessage) > 256 || len(c.Service) > maxField || len(c.Environment) > maxField {
				t.Fatalf("unbounded field: %+v", c)
			}
			if c.ServiceNamespace != "" && (len(c.ServiceNamespace) != 12 || !strings.HasPrefix(c.ServiceNamespace, "dev-")) {
				t.Fatalf("caller %q is no pseudonym", c.ServiceNamespace)
			}
			if c.Outcome == detectors.OutcomeOK && c.ErrorMessage != "" {
				t.Fatalf("ok call with an error message: %+v", c)
			}
			if _, err := json.Marshal(c); err != nil {
				t.Fatal(err)
			}
		}
	})
}
