package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/outagewatch/outagewatch/detectors"
	"github.com/outagewatch/outagewatch/ingest/assemble"
	"github.com/outagewatch/outagewatch/ingest/hosts"
	"github.com/outagewatch/outagewatch/ingest/normalize"
	"github.com/outagewatch/outagewatch/ingest/wire"
	"github.com/outagewatch/outagewatch/internal/spangen"
)

var update = flag.Bool("update", false, "rewrite the golden calls (.golden.json) and the protobuf copies (.pb) of the fixtures in testdata/conventions, from the pdata path")

const conventionsDir = "testdata/conventions"

// goldenCall is the JSON form of a detectors.Call in the golden files.
type goldenCall struct {
	Provider         string `json:"provider"`
	Model            string `json:"model"`
	Operation        string `json:"operation"`
	Outcome          string `json:"outcome"`
	ErrorClass       string `json:"error_class"`
	HTTPStatus       int    `json:"http_status"`
	Streaming        bool   `json:"streaming"`
	FinishReason     string `json:"finish_reason"`
	FinishReasonRaw  string `json:"finish_reason_raw"`
	InputTokens      int64  `json:"input_tokens"`
	OutputTokens     int64  `json:"output_tokens"`
	TTFTMillis       int64  `json:"ttft_ms"`
	DurationMillis   int64  `json:"duration_ms"`
	Service          string `json:"service"`
	ServiceNamespace string `json:"service_namespace,omitempty"`
	Environment      string `json:"environment,omitempty"`
	Endpoint         string `json:"endpoint,omitempty"`
	Convention       string `json:"convention"`
	Source           string `json:"source"`
	Attempts         int    `json:"attempts"`
	FailedAttempts   int    `json:"failed_attempts"`
	AttemptClass     string `json:"attempt_class,omitempty"`
	ErrorMessage     string `json:"error_message,omitempty"`
}

func toGolden(c detectors.Call) goldenCall {
	return goldenCall{
		Provider: c.Provider, Model: c.Model, Operation: c.Operation, Outcome: c.Outcome.String(),
		ErrorClass: c.ErrorClass.String(), HTTPStatus: c.HTTPStatus, Streaming: c.Streaming,
		FinishReason: c.FinishReason.String(), FinishReasonRaw: c.FinishReasonRaw,
		InputTokens: c.InputTokens, OutputTokens: c.OutputTokens,
		TTFTMillis: c.TTFT.Milliseconds(), DurationMillis: c.Duration.Milliseconds(),
		Service: c.Service, ServiceNamespace: c.ServiceNamespace, Environment: c.Environment,
		Endpoint: c.Endpoint, Convention: c.Convention, Source: c.Source.String(),
		Attempts: c.Attempts, FailedAttempts: c.FailedAttempts,
		AttemptClass: c.AttemptClass.String(), ErrorMessage: c.ErrorMessage,
	}
}

func goldens(calls []detectors.Call) []goldenCall {
	out := make([]goldenCall, 0, len(calls))
	for _, c := range calls {
		out = append(out, toGolden(c))
	}
	return out
}

// readGolden reads the golden calls of a fixture; with -update it first writes them as the
// pdata path makes them (calls).
func readGolden(tb testing.TB, path string, calls []detectors.Call) []goldenCall {
	tb.Helper()
	if *update {
		indent := " "
		if old, err := os.ReadFile(path); err == nil && bytes.HasPrefix(old, []byte("[\n  {")) {
			indent = "  " // keep a file's own indentation
		}
		b, err := json.MarshalIndent(goldens(calls), "", indent)
		require.NoError(tb, err)
		writeFile(tb, path, append(b, '\n'))
	}
	b, err := os.ReadFile(path)
	require.NoError(tb, err, "golden calls missing: run go test ./ingest -run 'TestGoldenConventions|TestFastPathCalls' -update, then review them")
	var want []goldenCall
	require.NoError(tb, json.Unmarshal(b, &want))
	return want
}

// assembleAll assembles one request's records in a fresh assembler, then flushes the attempts
// still waiting for their LLM span.
func assembleAll(recs []normalize.Record) []detectors.Call {
	a := assemble.New(assembleConfig(DefaultConfig(), hosts.New()))
	now := time.Unix(1_782_000_000, 0)
	return a.Flush(a.Add(now, recs, nil))
}

func newDecoder() *wire.Decoder { return wireDecoder(DefaultConfig()) }

// wireDecoder is the decoder of a pipeline of configuration cfg.
func wireDecoder(cfg Config) *wire.Decoder { return wire.New(normalize.New(cfg.ProviderHosts)) }

// pdataCalls makes the calls of a request through the pdata path.
func pdataCalls(req ptraceotlp.ExportRequest) []detectors.Call {
	return assembleAll(newDecoder().DecodeTraces(req.Traces()).Records)
}

// fastCalls makes the calls of a request's protobuf bytes through the fast path.
func fastCalls(tb testing.TB, body []byte) []detectors.Call {
	tb.Helper()
	var res wire.Batch
	require.NoError(tb, newDecoder().DecodeProto(body, &res))
	return assembleAll(res.Records)
}

// TestGoldenConventions checks the calls made of each JSON fixture, and of its protobuf copy,
// through the pdata path, against the golden ones.
func TestGoldenConventions(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(conventionsDir + "/*.json")
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
			req := ptraceotlp.NewExportRequest()
			require.NoError(t, req.UnmarshalJSON(payload))
			got := pdataCalls(req)
			want := readGolden(t, base+".golden.json", got)
			require.Equal(t, want, goldens(got), "JSON payload")

			pb, err := req.MarshalProto()
			require.NoError(t, err)
			if *update {
				writeFile(t, base+".pb", pb)
			}
			stored, err := os.ReadFile(base + ".pb")
			require.NoError(t, err, "protobuf copy missing: run go test ./ingest -run TestGoldenConventions -update")
			fromPB := ptraceotlp.NewExportRequest()
			require.NoError(t, fromPB.UnmarshalProto(stored))
			require.Equal(t, want, goldens(pdataCalls(fromPB)), "protobuf payload")
		})
	}
}

// generated are the spangen batches among the fixtures: their protobuf bytes are made by the
// test, their golden calls are stored with the others.
var generated = map[string]func() []byte{
	"spangen_genai512":       func() []byte { return spangen.MarshalProto(spangen.GenAIBatch(512, 1)) },
	"spangen_mixed512":       func() []byte { return spangen.MarshalProto(spangen.MixedBatch(512, 0.1, 1)) },
	"spangen_mixed512_seed7": func() []byte { return spangen.MarshalProto(spangen.MixedBatch(512, 0.3, 7)) },
}

// TestFastPathCalls checks the calls made through the fast path and through the pdata path
// against the golden ones, for every fixture's protobuf bytes as pdata writes them (fields in
// descending order) and as protobuf-go writes them (ascending, as the Go, Python and Java SDKs
// do); and that both paths make the very same calls, fields outside the goldens included.
func TestFastPathCalls(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(conventionsDir + "/*.pb")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	bodies := map[string][]byte{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		bodies[strings.TrimSuffix(filepath.Base(f), ".pb")] = b
	}
	for name, gen := range generated {
		bodies[name] = gen()
	}
	for name, body := range bodies {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			req := ptraceotlp.NewExportRequest()
			require.NoError(t, req.UnmarshalProto(body))
			want := pdataCalls(req)
			golden := readGolden(t, filepath.Join(conventionsDir, name+".golden.json"), want)
			for layout, b := range map[string][]byte{"descending": body, "ascending": ascending(t, body)} {
				got := fastCalls(t, b)
				require.Equal(t, golden, goldens(got), "fast path, %s fields", layout)
				require.Equal(t, want, got, "fast path and pdata, %s fields", layout)
				fromAsc := ptraceotlp.NewExportRequest()
				require.NoError(t, fromAsc.UnmarshalProto(b))
				require.Equal(t, golden, goldens(pdataCalls(fromAsc)), "pdata path, %s fields", layout)
			}
		})
	}
}

// writeFile replaces the file at path with b, atomically: TestGoldenConventions and
// TestFastPathCalls both write the goldens of the JSON fixtures under -update (the same bytes),
// and read them concurrently.
func writeFile(tb testing.TB, path string, b []byte) {
	tb.Helper()
	f, err := os.CreateTemp(filepath.Dir(path), ".update-*")
	require.NoError(tb, err)
	_, err = f.Write(b)
	require.NoError(tb, errors.Join(err, f.Chmod(0o644), f.Close()))
	require.NoError(tb, os.Rename(f.Name(), path))
}

// ascending re-marshals a request with protobuf-go, as the Go, Python and Java SDKs do: fields
// in ascending order, where pdata (the Collector) writes them in descending order.
func ascending(tb testing.TB, body []byte) []byte {
	tb.Helper()
	var req coltracepb.ExportTraceServiceRequest
	require.NoError(tb, proto.Unmarshal(body, &req))
	out, err := proto.MarshalOptions{Deterministic: true}.Marshal(&req)
	require.NoError(tb, err)
	return out
}
