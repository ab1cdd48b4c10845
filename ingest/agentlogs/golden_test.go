package agentlogs

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/outagewatch/outagewatch/detectors"
)

var update = flag.Bool("update", false, "rewrite the golden calls (testdata/*.golden.json) of the fixtures in testdata")

// goldenCall is the JSON form of a detectors.Call in the golden files.
type goldenCall struct {
	Time             string `json:"time"`
	Provider         string `json:"provider"`
	Model            string `json:"model"`
	Operation        string `json:"operation"`
	Outcome          string `json:"outcome"`
	ErrorClass       string `json:"error_class"`
	HTTPStatus       int    `json:"http_status"`
	Streaming        bool   `json:"streaming"`
	InputTokens      int64  `json:"input_tokens"`
	OutputTokens     int64  `json:"output_tokens"`
	DurationMillis   int64  `json:"duration_ms"`
	TTFTMillis       int64  `json:"ttft_ms"`
	Service          string `json:"service"`
	ServiceNamespace string `json:"service_namespace,omitempty"`
	Environment      string `json:"environment,omitempty"`
	Caller           string `json:"caller"`
	Convention       string `json:"convention"`
	Source           string `json:"source"`
	Attempts         int    `json:"attempts"`
	FailedAttempts   int    `json:"failed_attempts"`
	AttemptClass     string `json:"attempt_class,omitempty"`
	HasRequestID     bool   `json:"has_request_id"`
	ErrorMessage     string `json:"error_message,omitempty"`
}

func toGolden(c detectors.Call) goldenCall {
	t := ""
	if !c.Time.IsZero() {
		t = c.Time.UTC().Format(time.RFC3339Nano)
	}
	return goldenCall{
		Time: t, Provider: c.Provider, Model: c.Model, Operation: c.Operation,
		Outcome: c.Outcome.String(), ErrorClass: c.ErrorClass.String(), HTTPStatus: c.HTTPStatus,
		Streaming: c.Streaming, InputTokens: c.InputTokens, OutputTokens: c.OutputTokens,
		DurationMillis: c.Duration.Milliseconds(), TTFTMillis: c.TTFT.Milliseconds(), Service: c.Service,
		ServiceNamespace: c.ServiceNamespace, Environment: c.Environment, Caller: c.ServiceCaller(),
		Convention: c.Convention, Source: c.Source.String(), Attempts: c.Attempts,
		FailedAttempts: c.FailedAttempts, AttemptClass: c.AttemptClass.String(),
		HasRequestID: c.RequestID != 0, ErrorMessage: c.ErrorMessage,
	}
}

// fixtures lists the OTLP/JSON log fixtures in testdata: every .json file but the goldens and the
// metrics recorded alongside (.metrics.json).
func fixtures(t *testing.T) []string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	require.NoError(t, err)
	var out []string
	for _, p := range paths {
		if !strings.HasSuffix(p, ".golden.json") && !strings.HasSuffix(p, ".metrics.json") {
			out = append(out, p)
		}
	}
	require.NotEmpty(t, out, "no fixtures in testdata")
	return out
}

func loadFixture(t *testing.T, path string) plog.Logs {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var u plog.JSONUnmarshaler
	ld, err := u.UnmarshalLogs(b)
	require.NoError(t, err, "%s is no OTLP/JSON ExportLogsServiceRequest", path)
	return ld
}

// TestGoldenCalls maps every fixture in testdata (recorded from the real CLIs, or built from
// their documentation and source: synthetic-*.json) to calls and compares them with the
// fixture's .golden.json; -update rewrites the goldens.
func TestGoldenCalls(t *testing.T) {
	for _, path := range fixtures(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			calls := Calls(loadFixture(t, path), nil)
			got := make([]goldenCall, 0, len(calls))
			for _, c := range calls {
				got = append(got, toGolden(c))
			}
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			enc.SetIndent("", "  ")
			require.NoError(t, enc.Encode(got))
			b := buf.Bytes()
			golden := strings.TrimSuffix(path, ".json") + ".golden.json"
			if *update {
				require.NoError(t, os.WriteFile(golden, b, 0o644))
			}
			want, err := os.ReadFile(golden)
			require.NoError(t, err, "no golden: run go test ./ingest/agentlogs -run TestGoldenCalls -update")
			require.Equal(t, string(want), string(b))
		})
	}
}

// sensitiveKeys are attributes whose values must never reach a call.
var sensitiveKeys = map[string]bool{
	"user.email": true, "user.account_uuid": true, "user.id": true, "user.account_id": true,
	"organization.id": true, "process.command_args": true, "prompt": true, "request_text": true,
	"response_text": true, "session.id": true, "installation.id": true, "conversation.id": true,
	"host.name": true, "host.id": true, "function_args": true,
}

var fixtureEmail = regexp.MustCompile(`[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}`)

// TestFixturesLeakNothing marshals every fixture's calls to JSON and checks that no value of a
// sensitive attribute (emails, prompts, command lines, user, account, organisation, session and
// host ids) and no email address of the fixture is in it. The one value allowed is a call's own
// model, which a command line may name too.
func TestFixturesLeakNothing(t *testing.T) {
	for _, path := range fixtures(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			ld := loadFixture(t, path)
			calls := Calls(ld, nil)
			out, err := json.Marshal(calls)
			require.NoError(t, err)
			models := map[string]bool{}
			for _, c := range calls {
				models[c.Model] = true
			}
			for _, s := range secrets(ld) {
				if models[s] {
					continue // "-m gemini-2.5-flash" in a command line: the model is kept
				}
				require.NotContains(t, string(out), s, "a sensitive value reached a call")
			}
			raw, err := os.ReadFile(path)
			require.NoError(t, err)
			for _, e := range fixtureEmail.FindAll(raw, -1) {
				require.False(t, bytes.Contains(out, e), "email %s reached a call", e)
			}
		})
	}
}

// secrets collects the string values (and array elements) of the sensitive attributes of ld's
// resources and records, at least 4 bytes long.
func secrets(ld plog.Logs) []string {
	var out []string
	add := func(m pcommon.Map) {
		m.Range(func(k string, v pcommon.Value) bool {
			if !sensitiveKeys[k] {
				return true
			}
			if v.Type() == pcommon.ValueTypeSlice {
				for i := 0; i < v.Slice().Len(); i++ {
					if s := v.Slice().At(i).AsString(); len(s) >= 4 {
						out = append(out, s)
					}
				}
			} else if s := v.AsString(); len(s) >= 4 {
				out = append(out, s)
			}
			return true
		})
	}
	for i := 0; i < ld.ResourceLogs().Len(); i++ {
		rl := ld.ResourceLogs().At(i)
		add(rl.Resource().Attributes())
		for j := 0; j < rl.ScopeLogs().Len(); j++ {
			lrs := rl.ScopeLogs().At(j).LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				add(lrs.At(k).Attributes())
			}
		}
	}
	return out
}

func sha8(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:4])
}
