package ingest

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/outagewatch/outagewatch/detectors"
)

var updatePB = flag.Bool("update", false, "rewrite the protobuf copies (.pb) of the JSON fixtures")

// goldenCall is the JSON form of a detectors.Call in the golden files.
type goldenCall struct {
	Provider        string `json:"provider"`
	Model           string `json:"model"`
	Operation       string `json:"operation"`
	Outcome         string `json:"outcome"`
	ErrorClass      string `json:"error_class"`
	HTTPStatus      int    `json:"http_status"`
	Streaming       bool   `json:"streaming"`
	FinishReason    string `json:"finish_reason"`
	FinishReasonRaw string `json:"finish_reason_raw"`
	InputTokens     int64  `json:"input_tokens"`
	OutputTokens    int64  `json:"output_tokens"`
	TTFTMillis      int64  `json:"ttft_ms"`
	DurationMillis  int64  `json:"duration_ms"`
	Service         string `json:"service"`
	Convention      string `json:"convention"`
	Source          string `json:"source"`
	Attempts        int    `json:"attempts"`
	FailedAttempts  int    `json:"failed_attempts"`
}

func toGolden(c detectors.Call) goldenCall {
	return goldenCall{
		Provider: c.Provider, Model: c.Model, Operation: c.Operation, Outcome: c.Outcome.String(),
		ErrorClass: c.ErrorClass.String(), HTTPStatus: c.HTTPStatus, Streaming: c.Streaming,
		FinishReason: c.FinishReason.String(), FinishReasonRaw: c.FinishReasonRaw,
		InputTokens: c.InputTokens, OutputTokens: c.OutputTokens,
		TTFTMillis: c.TTFT.Milliseconds(), DurationMillis: c.Duration.Milliseconds(),
		Service: c.Service, Convention: c.Convention, Source: c.Source.String(),
		Attempts: c.Attempts, FailedAttempts: c.FailedAttempts,
	}
}

// normalizeAll runs one request through extraction and a fresh assembler, then flushes the
// attempts still waiting for their LLM span.
func normalizeAll(tb testing.TB, req ptraceotlp.ExportRequest) []detectors.Call {
	tb.Helper()
	cfg := DefaultConfig()
	x := extractor{hosts: newHostIndex(cfg.ProviderHosts)}
	res := x.extract(req.Traces())
	a := newAssembler(cfg)
	now := time.Unix(1_782_000_000, 0)
	out := a.add(now, res.records, nil)
	return a.flush(out)
}

func TestGoldenConventions(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("testdata/conventions/*.json")
	require.NoError(t, err)
	var cases []string
	for _, f := range files {
		if !strings.HasSuffix(f, ".golden.json") {
			cases = append(cases, strings.TrimSuffix(f, ".json"))
		}
	}
	require.NotEmpty(t, cases, "no fixtures in testdata/conventions")
	for _, base := range cases {
		t.Run(filepath.Base(base), func(t *testing.T) {
			t.Parallel()
			payload, err := os.ReadFile(base + ".json")
			require.NoError(t, err)
			goldenBytes, err := os.ReadFile(base + ".golden.json")
			require.NoError(t, err)
			var want []goldenCall
			require.NoError(t, json.Unmarshal(goldenBytes, &want))

			req := ptraceotlp.NewExportRequest()
			require.NoError(t, req.UnmarshalJSON(payload))
			got := goldens(normalizeAll(t, req))
			require.Equal(t, want, got, "JSON payload")

			pb, err := req.MarshalProto()
			require.NoError(t, err)
			if *updatePB {
				require.NoError(t, os.WriteFile(base+".pb", pb, 0o644))
			}
			stored, err := os.ReadFile(base + ".pb")
			require.NoError(t, err, "protobuf copy missing: run go test ./ingest -run TestGoldenConventions -update")
			fromPB := ptraceotlp.NewExportRequest()
			require.NoError(t, fromPB.UnmarshalProto(stored))
			require.Equal(t, want, goldens(normalizeAll(t, fromPB)), "protobuf payload")
		})
	}
}

func goldens(calls []detectors.Call) []goldenCall {
	out := make([]goldenCall, 0, len(calls))
	for _, c := range calls {
		out = append(out, toGolden(c))
	}
	return out
}

func TestKeyIDMatchesMap(t *testing.T) {
	for k, id := range keyIDs {
		if got := keyID(k); got != id {
			t.Errorf("keyID(%q) = %d, want %d", k, got, id)
		}
		if got := keyID(k + "x"); got != -1 {
			t.Errorf("keyID(%q) = %d, want -1", k+"x", got)
		}
		if got := keyID(k[:len(k)-1]); got != -1 {
			t.Errorf("keyID(%q) = %d, want -1", k[:len(k)-1], got)
		}
	}
	for _, k := range []string{"", "a", "gen_ai", "gen_ai.request.max_tokens", "service.name"} {
		if got := keyID(k); got != -1 {
			t.Errorf("keyID(%q) = %d, want -1", k, got)
		}
	}
}
