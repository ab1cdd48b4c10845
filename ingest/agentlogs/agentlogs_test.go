package agentlogs

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/outagewatch/outagewatch/detectors"
)

var t0 = time.Date(2026, 6, 21, 12, 0, 0, 0, time.UTC)

// logs builds one resource with the attributes res and one record per element of recs, each a
// map of attributes, "body" its body, "time" its time.
func logs(res map[string]any, recs ...map[string]any) plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	if err := rl.Resource().Attributes().FromRaw(res); err != nil {
		panic(err)
	}
	lrs := rl.ScopeLogs().AppendEmpty().LogRecords()
	for _, rec := range recs {
		lr := lrs.AppendEmpty()
		a := map[string]any{}
		for k, v := range rec {
			switch k {
			case "body":
				lr.Body().SetStr(v.(string))
			case "time":
				lr.SetTimestamp(pcommon.NewTimestampFromTime(v.(time.Time)))
			case "observed":
				lr.SetObservedTimestamp(pcommon.NewTimestampFromTime(v.(time.Time)))
			case "event_name":
				lr.SetEventName(v.(string))
			default:
				a[k] = v
			}
		}
		if err := lr.Attributes().FromRaw(a); err != nil {
			panic(err)
		}
	}
	return ld
}

func one(t *testing.T, ld plog.Logs) detectors.Call {
	t.Helper()
	calls := Calls(ld, nil)
	require.Len(t, calls, 1)
	return calls[0]
}

var claudeRes = map[string]any{"service.name": "claude-code"}

func TestClaudeCodeEvents(t *testing.T) {
	for _, tc := range []struct {
		name string
		rec  map[string]any
		want detectors.Call
	}{
		{"request after retries", map[string]any{"body": "claude_code.api_request", "event.name": "api_request",
			"model": "claude-sonnet-4-5", "duration_ms": int64(2500), "input_tokens": int64(10), "output_tokens": int64(5), "attempt": int64(3)},
			detectors.Call{Provider: "anthropic", Model: "claude-sonnet-4-5", Duration: 2500 * time.Millisecond,
				InputTokens: 10, OutputTokens: 5, Attempts: 3, FailedAttempts: 2}},
		{"529 storm without a status", map[string]any{"body": "claude_code.api_error", "event.name": "api_error",
			"model": "claude-sonnet-4-5", "error": "Repeated 529 Overloaded errors", "duration_ms": 3000.0, "attempt": int64(3)},
			detectors.Call{Provider: "anthropic", Model: "claude-sonnet-4-5", Outcome: detectors.OutcomeError,
				ErrorClass: detectors.ClassOverloaded, Duration: 3 * time.Second, Attempts: 3, FailedAttempts: 3,
				AttemptClass: detectors.ClassOverloaded, ErrorMessage: "Repeated 529 Overloaded errors"}},
		{"500 as a string, event name in the attribute only", map[string]any{"event.name": "api_error",
			"model": "claude-opus-4-1", "error": "Internal server error", "status_code": "500", "duration_ms": "175000", "attempt": "11"},
			detectors.Call{Provider: "anthropic", Model: "claude-opus-4-1", Outcome: detectors.OutcomeError, HTTPStatus: 500,
				ErrorClass: detectors.ClassServerError, Duration: 175 * time.Second, Attempts: 11, FailedAttempts: 11,
				AttemptClass: detectors.ClassServerError, ErrorMessage: "Internal server error"}},
		{"status undefined, no attempt", map[string]any{"body": "claude_code.api_error", "model": "claude-x",
			"error": "Connection error.", "status_code": "undefined"},
			detectors.Call{Provider: "anthropic", Model: "claude-x", Outcome: detectors.OutcomeError,
				ErrorClass: detectors.ClassNetwork, Attempts: 1, FailedAttempts: 1, AttemptClass: detectors.ClassNetwork,
				ErrorMessage: "Connection error."}},
		{"bedrock", map[string]any{"body": "claude_code.api_request", "model": "us.anthropic.claude-sonnet-4-5-v1:0"},
			detectors.Call{Provider: "aws.bedrock", Model: "us.anthropic.claude-sonnet-4-5-v1:0"}},
		{"bedrock ARN", map[string]any{"body": "claude_code.api_request", "model": "arn:aws:bedrock:us-east-1:123:inference-profile/x"},
			detectors.Call{Provider: "aws.bedrock", Model: "arn:aws:bedrock:us-east-1:123:inference-profile/x"}},
		{"vertex", map[string]any{"event_name": "claude_code.api_request", "model": "claude-sonnet-4@20250514"},
			detectors.Call{Provider: "gcp.vertex_ai", Model: "claude-sonnet-4@20250514"}},
		{"no model", map[string]any{"body": "claude_code.api_request"},
			detectors.Call{Provider: "anthropic", Model: detectors.UnknownModel}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.rec["time"] = t0
			c := one(t, logs(claudeRes, tc.rec))
			w := tc.want
			w.Time, w.Service, w.Operation, w.Streaming = t0, "claude-code", "chat", true
			w.Convention, w.Source = ConventionClaudeCode, detectors.SourceLLM
			require.Equal(t, w, c)
		})
	}
}

func TestClaudeCodeIgnoredEvents(t *testing.T) {
	ld := logs(claudeRes,
		map[string]any{"body": "claude_code.api_retries_exhausted", "total_attempts": int64(3)},
		map[string]any{"body": "claude_code.user_prompt", "prompt": "secret"},
		map[string]any{"body": "claude_code.tool_result", "tool_name": "Bash"},
		map[string]any{"event.name": "api_request", "body": "something"}, // unqualified, but from claude-code: counted
	)
	calls := Calls(ld, nil)
	require.Len(t, calls, 1)
	require.Equal(t, ConventionClaudeCode, calls[0].Convention)
	// An unqualified event name from another service is not an agent's.
	require.Empty(t, Calls(logs(map[string]any{"service.name": "shop"}, map[string]any{"event.name": "api_request"}), nil))
}

func TestGeminiCLIEvents(t *testing.T) {
	res := map[string]any{"service.name": "gemini-cli", "process.command_args": []any{"gemini", "-p", "secret"}}
	base := func(c detectors.Call) detectors.Call {
		c.Time, c.Service, c.Operation, c.Streaming, c.Convention = t0, "gemini-cli", "generate_content", true, ConventionGeminiCLI
		return c
	}
	for _, tc := range []struct {
		name string
		rec  map[string]any
		want detectors.Call
	}{
		{"response", map[string]any{"event.name": "gemini_cli.api_response", "model": "gemini-2.5-pro", "status_code": int64(200),
			"duration_ms": int64(900), "input_token_count": int64(7), "output_token_count": int64(3), "auth_type": "oauth-personal"},
			base(detectors.Call{Provider: "gcp.gemini", Model: "gemini-2.5-pro", HTTPStatus: 200, Duration: 900 * time.Millisecond,
				InputTokens: 7, OutputTokens: 3})},
		{"vertex response", map[string]any{"event.name": "gemini_cli.api_response", "model": "gemini-2.5-flash", "auth_type": "vertex-ai"},
			base(detectors.Call{Provider: "gcp.vertex_ai", Model: "gemini-2.5-flash"})},
		{"503 attempt", map[string]any{"event.name": "gemini_cli.api_error", "model": "gemini-2.5-pro", "status_code": int64(503),
			"error.type": "ApiError", "error": "got status: 503 Service Unavailable", "duration_ms": int64(800)},
			base(detectors.Call{Provider: "gcp.gemini", Model: "gemini-2.5-pro", Outcome: detectors.OutcomeError, HTTPStatus: 503,
				ErrorClass: detectors.ClassOverloaded, Source: detectors.SourceAttempt, Duration: 800 * time.Millisecond,
				Attempts: 1, FailedAttempts: 1, AttemptClass: detectors.ClassOverloaded, ErrorMessage: "got status: 503 Service Unavailable"})},
		{"status in the text only", map[string]any{"event.name": "gemini_cli.api_error", "model": "m", "error": "429 Too Many Requests"},
			base(detectors.Call{Provider: "gcp.gemini", Model: "m", Outcome: detectors.OutcomeError, HTTPStatus: 429,
				ErrorClass: detectors.ClassRateLimited, Source: detectors.SourceAttempt,
				Attempts: 1, FailedAttempts: 1, AttemptClass: detectors.ClassRateLimited, ErrorMessage: "429 Too Many Requests"})},
		{"deadline", map[string]any{"event.name": "gemini_cli.api_error", "model": "m", "error_type": "DEADLINE_EXCEEDED", "error.message": "request aborted"},
			base(detectors.Call{Provider: "gcp.gemini", Model: "m", Outcome: detectors.OutcomeError,
				ErrorClass: detectors.ClassTimeout, Source: detectors.SourceAttempt,
				Attempts: 1, FailedAttempts: 1, AttemptClass: detectors.ClassTimeout, ErrorMessage: "request aborted"})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.rec["time"] = t0
			require.Equal(t, tc.want, one(t, logs(res, tc.rec)))
		})
	}
	// api_request and the other events are not calls.
	require.Empty(t, Calls(logs(res, map[string]any{"event.name": "gemini_cli.api_request", "request_text": "secret"},
		map[string]any{"event.name": "gemini_cli.user_prompt", "prompt": "secret"}), nil))
	// Errors of one prompt share a request id; another prompt has another.
	a := one(t, logs(res, map[string]any{"event.name": "gemini_cli.api_error", "session.id": "s", "prompt_id": "p1"}))
	b := one(t, logs(res, map[string]any{"event.name": "gemini_cli.api_error", "session.id": "s", "prompt_id": "p1"}))
	c := one(t, logs(res, map[string]any{"event.name": "gemini_cli.api_error", "session.id": "s", "prompt_id": "p2"}))
	require.NotZero(t, a.RequestID)
	require.Equal(t, a.RequestID, b.RequestID)
	require.NotEqual(t, a.RequestID, c.RequestID)
}

func TestCodexEvents(t *testing.T) {
	res := map[string]any{"service.name": "codex_cli_rs"}
	base := func(c detectors.Call) detectors.Call {
		c.Time, c.Service, c.Operation, c.Streaming, c.Provider = t0, "codex_cli_rs", "chat", true, "openai"
		c.Convention, c.Source, c.Model = ConventionCodex, detectors.SourceAttempt, "gpt-5-codex"
		return c
	}
	for _, tc := range []struct {
		name string
		rec  map[string]any
		want detectors.Call
	}{
		{"200", map[string]any{"event.name": "codex.api_request", "http.response.status_code": int64(200), "duration_ms": "450", "attempt": int64(1)},
			base(detectors.Call{HTTPStatus: 200, Duration: 450 * time.Millisecond, Attempts: 1})},
		{"503", map[string]any{"event.name": "codex.api_request", "http.response.status_code": int64(503), "error.message": "http 503", "duration_ms": "12"},
			base(detectors.Call{Outcome: detectors.OutcomeError, ErrorClass: detectors.ClassOverloaded, HTTPStatus: 503,
				Duration: 12 * time.Millisecond, Attempts: 1, FailedAttempts: 1, AttemptClass: detectors.ClassOverloaded, ErrorMessage: "http 503"})},
		{"no response", map[string]any{"event.name": "codex.api_request", "error.message": "operation timed out"},
			base(detectors.Call{Outcome: detectors.OutcomeError, ErrorClass: detectors.ClassTimeout,
				Attempts: 1, FailedAttempts: 1, AttemptClass: detectors.ClassTimeout, ErrorMessage: "operation timed out"})},
		{"cut stream", map[string]any{"event.name": "codex.sse_event", "error.message": "stream disconnected before completion: x", "duration_ms": "3"},
			base(detectors.Call{Outcome: detectors.OutcomeTruncated, ErrorClass: detectors.ClassNetwork, HTTPStatus: 200,
				Duration: 3 * time.Millisecond, ErrorMessage: "stream disconnected before completion: x"})},
		{"response.failed unreadable", map[string]any{"event.name": "codex.sse_event", "event.kind": "response.failed", "error.message": "{\"instructions\":\"secret\""},
			base(detectors.Call{Outcome: detectors.OutcomeTruncated, ErrorClass: detectors.ClassOther, HTTPStatus: 200, ErrorMessage: "response.failed"})},
		{"response.failed rate limit", map[string]any{"event.name": "codex.sse_event", "event.kind": "response.failed",
			"error.message": `{"response":{"instructions":"secret","error":{"code":"rate_limit_exceeded","message":"slow down"}}}`},
			base(detectors.Call{Outcome: detectors.OutcomeTruncated, ErrorClass: detectors.ClassRateLimited, HTTPStatus: 200,
				ErrorMessage: "rate_limit_exceeded: slow down"})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.rec["time"], tc.rec["model"] = t0, "gpt-5-codex"
			require.Equal(t, tc.want, one(t, logs(res, tc.rec)))
		})
	}
	// A stream event that went well is no call.
	require.Empty(t, Calls(logs(res, map[string]any{"event.name": "codex.sse_event", "event.kind": "response.created"}), nil))
}

func TestTime(t *testing.T) {
	res := map[string]any{"service.name": "codex_cli_rs"}
	ev := func(extra map[string]any) map[string]any {
		extra["event.name"] = "codex.api_request"
		extra["http.response.status_code"] = int64(200)
		return extra
	}
	obs := t0.Add(5 * time.Second)
	require.Equal(t, t0, one(t, logs(res, ev(map[string]any{"time": t0, "event.timestamp": "2020-01-01T00:00:00Z", "observed": obs}))).Time)
	require.Equal(t, t0.Add(250*time.Millisecond), one(t, logs(res, ev(map[string]any{"event.timestamp": "2026-06-21T12:00:00.250Z", "observed": obs}))).Time)
	require.Equal(t, obs, one(t, logs(res, ev(map[string]any{"event.timestamp": "yesterday", "observed": obs}))).Time)
	require.True(t, one(t, logs(res, ev(map[string]any{}))).Time.IsZero())
}

func TestCallerPseudonym(t *testing.T) {
	rec := map[string]any{"body": "claude_code.api_request", "user.id": "u-1", "session.id": "s-1"}
	pseudo := func(res map[string]any) string { return one(t, logs(res, rec)).ServiceNamespace }
	byUser := pseudo(map[string]any{"service.name": "claude-code"})
	require.Regexp(t, `^dev-[0-9a-f]{8}$`, byUser)
	require.Equal(t, "dev-"+sha8("u-1"), byUser, "user.id comes before session.id")
	require.Equal(t, "dev-"+sha8("box"), pseudo(map[string]any{"service.name": "claude-code", "host.name": "box"}))
	require.Equal(t, "dev-"+sha8("hid"), pseudo(map[string]any{"service.name": "claude-code", "host.name": "box", "host.id": "hid"}))
	c := one(t, logs(map[string]any{"service.name": "claude-code", "deployment.environment.name": "laptops"}, map[string]any{"body": "claude_code.api_request"}))
	require.Empty(t, c.ServiceNamespace)
	require.Equal(t, "claude-code (laptops)", c.ServiceCaller())
	// Two developers are two callers.
	d1 := one(t, logs(claudeRes, map[string]any{"body": "claude_code.api_request", "user.id": "alice"}))
	d2 := one(t, logs(claudeRes, map[string]any{"body": "claude_code.api_request", "user.id": "bob"}))
	require.NotEqual(t, d1.ServiceCaller(), d2.ServiceCaller())
}

func TestErrorMessage(t *testing.T) {
	require.Equal(t, "quota of <email> and <email> exceeded", errorMessage("quota of a.b+c@example.co.uk and x@y.io exceeded"))
	long := strings.Repeat("é", 1000)
	m := errorMessage(long)
	require.LessOrEqual(t, len(m), 256)
	require.True(t, strings.HasPrefix(long, m))
	require.Empty(t, errorMessage(""))
}

func TestOtherRecordsIgnored(t *testing.T) {
	ld := logs(map[string]any{"service.name": "shop"},
		map[string]any{"body": "GET /cart 200"},
		map[string]any{"event.name": "gen_ai.client.inference.operation.details"},
		map[string]any{"body": "codex.unknown_event"},
		map[string]any{"body": "claude_code.api_requestx"},
	)
	require.Empty(t, Calls(ld, nil))
	require.Empty(t, Calls(plog.NewLogs(), nil))
}

// TestCodexCallSiteEventName: Codex's records carry the tracing call site in the OTLP eventName;
// the event.name attribute names the event.
func TestCodexCallSiteEventName(t *testing.T) {
	c := one(t, logs(map[string]any{"service.name": "codex_exec"}, map[string]any{
		"event_name": "event otel/src/events/session_telemetry.rs:837", "event.name": "codex.api_request",
		"http.response.status_code": "503", "error.message": "http 503", "attempt": "0", "model": "gpt-5",
	}))
	require.Equal(t, ConventionCodex, c.Convention)
	require.Equal(t, detectors.ClassOverloaded, c.ErrorClass)
	require.Equal(t, 503, c.HTTPStatus)
}
