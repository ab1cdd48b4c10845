// Package sdkfixtures holds OTLP trace fixtures recorded from real LLM SDK and
// instrumentation stacks (Node: the official openai and @anthropic-ai/sdk
// packages with OpenLLMetry or OpenInference, HTTP client spans from
// @opentelemetry/instrumentation-undici, exported by
// @opentelemetry/exporter-trace-otlp-proto) calling a local fake provider on
// a host that belongs to no provider (127.0.0.1:PORT).
//
// Each scenario under testdata/<name>/ has requests/NNNN.pb, the raw
// ExportTraceServiceRequest protobuf bodies in the order the capture server
// received them, and scenario.json: the stack's package versions, the fake
// provider's host, and per phase (good calls, then HTTP errors) the number of
// calls and of requests the fake provider served with each status, counted
// from the fake provider's own request log rather than from the spans.
//
// testdata/matrix/<stack>/<mode>/<fault>/ holds the fault matrix (see Matrix):
// each cell is 4 SDK calls of one stack, streaming or not, with one fault
// injected by the fake provider on every attempt, recorded on its own.
//
// The recorder is in record/ (see record/README.md). Shifted moves a recorded
// body's span times so that a test can replay it as if it were happening now.
package sdkfixtures

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
)

//go:embed testdata
var testdata embed.FS

// FS is the fixtures' file tree: <scenario>/scenario.json and
// <scenario>/requests/NNNN.pb, and matrix/<stack>/<mode>/<fault>/{cell.json,requests/NNNN.pb}.
func FS() fs.FS {
	sub, err := fs.Sub(testdata, "testdata")
	if err != nil {
		panic(err) // the embedded tree always has testdata
	}
	return sub
}

// Scenario is one recording: its scenario.json and its request bodies.
type Scenario struct {
	Name string `json:"name"`
	// Stack maps the npm packages that produced the spans to their versions.
	Stack map[string]string `json:"stack"`
	Node  string            `json:"node"`
	// Host is the fake provider's host:port, as in the HTTP spans' url.full.
	Host   string  `json:"host"`
	Phases []Phase `json:"phases"`
	OTLP   struct {
		Requests        int      `json:"requests"`
		Bytes           int      `json:"bytes"`
		ContentEncoding []string `json:"content_encoding"`
		ContentType     []string `json:"content_type"`
	} `json:"otlp"`
	// SDKErrors are the distinct errors the SDK raised to the application.
	SDKErrors []string `json:"sdk_errors"`
	// Notes says what the instrumentation really exported.
	Notes string `json:"notes"`

	// Requests are the ExportTraceServiceRequest bodies in arrival order
	// (uncompressed protobuf).
	Requests [][]byte `json:"-"`
}

// Phase is a run of calls to one provider, all good or all failing.
type Phase struct {
	// Name is "good", "errors" (HTTP error statuses) or "stream_errors"
	// (HTTP 200, then an error event in the SSE stream).
	Name string `json:"name"`
	// Provider is the canonical provider name: "openai" or "anthropic".
	Provider string `json:"provider"`
	// Calls is the number of SDK calls the application made.
	Calls int `json:"calls"`
	// RequestsServed is the number of HTTP requests the fake provider
	// answered for these calls (retries included).
	RequestsServed int `json:"requests_served"`
	// Statuses counts the HTTP statuses the fake provider answered with.
	Statuses        map[string]int `json:"statuses"`
	CallsStreaming  int            `json:"calls_streaming"`
	CallsFailed     int            `json:"calls_failed"`
	AttemptsPerCall float64        `json:"attempts_per_call,omitempty"`
	SSEErrorEvents  int            `json:"sse_error_events,omitempty"`
}

// Scenarios lists the recorded scenarios' names, sorted. The fault matrix
// (MatrixDir) is not a scenario: see Matrix.
func Scenarios() ([]string, error) {
	ents, err := fs.ReadDir(FS(), ".")
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range ents {
		if e.IsDir() && e.Name() != MatrixDir {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	return names, nil
}

// Load reads a scenario's scenario.json and its request bodies.
func Load(name string) (Scenario, error) {
	var sc Scenario
	if name == "" || strings.ContainsAny(name, `/\`) || name == "." || name == ".." {
		return sc, fmt.Errorf("sdkfixtures: bad scenario name %q", name)
	}
	fsys := FS()
	raw, err := fs.ReadFile(fsys, path.Join(name, "scenario.json"))
	if err != nil {
		return sc, fmt.Errorf("sdkfixtures: %w", err)
	}
	if err := json.Unmarshal(raw, &sc); err != nil {
		return sc, fmt.Errorf("sdkfixtures: %s/scenario.json: %w", name, err)
	}
	files, err := fs.Glob(fsys, path.Join(name, "requests", "*.pb"))
	if err != nil {
		return sc, err
	}
	sort.Strings(files) // NNNN.pb: lexical order is arrival order
	for _, f := range files {
		b, err := fs.ReadFile(fsys, f)
		if err != nil {
			return sc, fmt.Errorf("sdkfixtures: %w", err)
		}
		sc.Requests = append(sc.Requests, b)
	}
	if len(sc.Requests) == 0 {
		return sc, fmt.Errorf("sdkfixtures: %s has no requests", name)
	}
	return sc, nil
}

// Shifted returns body (an ExportTraceServiceRequest in protobuf) with every
// span's start, end and event time moved by delta.
func Shifted(body []byte, delta time.Duration) ([]byte, error) {
	req := ptraceotlp.NewExportRequest()
	if err := req.UnmarshalProto(body); err != nil {
		return nil, fmt.Errorf("sdkfixtures: decode: %w", err)
	}
	shift := func(t pcommon.Timestamp) pcommon.Timestamp {
		if t == 0 {
			return 0
		}
		return pcommon.Timestamp(int64(t) + int64(delta))
	}
	EachSpan(req.Traces(), func(s ptrace.Span) {
		s.SetStartTimestamp(shift(s.StartTimestamp()))
		s.SetEndTimestamp(shift(s.EndTimestamp()))
		evs := s.Events()
		for e := 0; e < evs.Len(); e++ {
			evs.At(e).SetTimestamp(shift(evs.At(e).Timestamp()))
		}
	})
	return req.MarshalProto()
}

// MatrixDir is the fault matrix's directory under the fixtures' root.
const MatrixDir = "matrix"

// Cell is one cell of the fault matrix: a stack's 4 SDK calls in one mode
// with one fault injected on every attempt, from
// matrix/<stack>/<mode>/<fault>/cell.json and requests/NNNN.pb.
type Cell struct {
	// Stack is e.g. "openai-openllmetry", "anthropic-openinference",
	// "vercel-openai".
	Stack string `json:"stack"`
	// Mode is "json" (non-streaming) or "stream" (SSE).
	Mode string `json:"mode"`
	// Fault is "ok", "overloaded" (529), "rate_limited" (429),
	// "server_error" (500), "cut_body" (200, then the socket is destroyed
	// mid-body), "stream_error" (200, then an error in the body) or
	// "no_finish" (a complete answer without finish/stop reason).
	Fault string `json:"fault"`
	// Calls is the number of SDK calls the application made (4).
	Calls int `json:"calls"`
	// Host is the fake provider's host:port, as in the HTTP spans' url.full.
	Host     string            `json:"host"`
	Packages map[string]string `json:"packages"`
	Node     string            `json:"node"`
	// SDKErrors are the distinct errors the SDK raised to the application.
	SDKErrors []string `json:"sdk_errors"`
	// UncaughtErrors are errors the application could not catch (an
	// instrumentation's own copy of a failing stream); a Node process
	// without handlers would have died of them.
	UncaughtErrors []string `json:"uncaught_errors,omitempty"`
	// Attempts is the fake provider's request log, in order.
	Attempts []Attempt `json:"requests"`
	// PerCall is what the application saw of each of its calls, in call
	// order.
	PerCall      []CallOutcome `json:"per_call"`
	OTLPRequests int           `json:"otlp_requests"`
	// Spans counts the exported spans by "scope name".
	Spans map[string]int `json:"spans"`
	// Notes says which spans were exported, with which status, under which
	// parent, and what is missing.
	Notes string `json:"notes"`

	// Requests are the ExportTraceServiceRequest bodies in arrival order
	// (uncompressed protobuf).
	Requests [][]byte `json:"-"`
}

// Attempt is one HTTP request the fake provider served.
type Attempt struct {
	// Call numbers the SDK call (1..Calls) the request belongs to.
	Call   int    `json:"call"`
	Status int    `json:"status"`
	Fault  string `json:"fault"`
	// AttemptOfCall is 1 for a call's first request, 2 for its first retry...
	AttemptOfCall int `json:"attempt_of_call"`
}

// CallOutcome is what the application saw of one SDK call.
type CallOutcome struct {
	Attempts    int `json:"attempts"`
	FinalStatus int `json:"final_status"`
	// SDKOutcome is "ok" (resolved with the complete text), "error" (threw,
	// or the stream reported an error) or "incomplete_text" (resolved, but
	// the text was not the complete answer).
	SDKOutcome string `json:"sdk_outcome"`
	// FinishReason is the finish/stop reason the SDK handed the
	// application, if any.
	FinishReason *string `json:"finish_reason"`
	TextComplete bool    `json:"text_complete"`
	Error        string  `json:"error,omitempty"`
}

// Matrix reads every cell of the fault matrix, ordered by stack, mode and
// fault (lexically).
func Matrix() ([]Cell, error) {
	fsys := FS()
	files, err := fs.Glob(fsys, path.Join(MatrixDir, "*", "*", "*", "cell.json"))
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	if len(files) == 0 {
		return nil, fmt.Errorf("sdkfixtures: no matrix cells")
	}
	cells := make([]Cell, 0, len(files))
	for _, f := range files {
		dir := path.Dir(f)
		var c Cell
		raw, err := fs.ReadFile(fsys, f)
		if err != nil {
			return nil, fmt.Errorf("sdkfixtures: %w", err)
		}
		if err := json.Unmarshal(raw, &c); err != nil {
			return nil, fmt.Errorf("sdkfixtures: %s: %w", f, err)
		}
		if want := path.Join(MatrixDir, c.Stack, c.Mode, c.Fault); want != dir {
			return nil, fmt.Errorf("sdkfixtures: %s names %s", f, want)
		}
		bodies, err := fs.Glob(fsys, path.Join(dir, "requests", "*.pb"))
		if err != nil {
			return nil, err
		}
		sort.Strings(bodies)
		for _, b := range bodies {
			body, err := fs.ReadFile(fsys, b)
			if err != nil {
				return nil, fmt.Errorf("sdkfixtures: %w", err)
			}
			c.Requests = append(c.Requests, body)
		}
		if len(c.Requests) == 0 {
			return nil, fmt.Errorf("sdkfixtures: %s has no requests", dir)
		}
		cells = append(cells, c)
	}
	return cells, nil
}

// EachSpan calls f with every span of td, in order.
func EachSpan(td ptrace.Traces, f func(ptrace.Span)) {
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		sss := rss.At(i).ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			spans := sss.At(j).Spans()
			for k := 0; k < spans.Len(); k++ {
				f(spans.At(k))
			}
		}
	}
}
