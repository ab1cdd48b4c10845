// Package otlprecord is a small OTLP/HTTP receiver that keeps every logs, metrics and traces
// request it gets (protobuf or JSON, gzip or not) and writes them as OTLP/JSON, so that the
// telemetry of a real program (a coding-agent CLI) can be recorded as a test fixture.
package otlprecord

import (
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
)

// Recorder is an http.Handler for POST /v1/logs, /v1/metrics and /v1/traces that keeps what it
// receives. The zero value is not usable; call New.
type Recorder struct {
	mu       sync.Mutex
	logs     plog.Logs
	metrics  pmetric.Metrics
	traces   ptrace.Traces
	requests map[string]int
}

// New returns an empty Recorder.
func New() *Recorder {
	return &Recorder{logs: plog.NewLogs(), metrics: pmetric.NewMetrics(), traces: ptrace.NewTraces(), requests: map[string]int{}}
}

// ServeHTTP decodes one OTLP/HTTP export request and answers with an empty success response in
// the request's encoding.
func (r *Recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	var body io.Reader = req.Body
	if strings.EqualFold(req.Header.Get("Content-Encoding"), "gzip") {
		zr, err := gzip.NewReader(req.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		defer zr.Close()
		body = zr
	}
	raw, err := io.ReadAll(io.LimitReader(body, 64<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	isJSON := strings.HasPrefix(req.Header.Get("Content-Type"), "application/json")
	r.mu.Lock()
	r.requests[req.URL.Path+" "+req.Header.Get("Content-Type")]++
	r.mu.Unlock()
	resp, err := r.keep(req.URL.Path, raw, isJSON)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if isJSON {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte("{}"))
		return
	}
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(resp)
}

type unmarshaler interface {
	UnmarshalProto([]byte) error
	UnmarshalJSON([]byte) error
}

func decode(req unmarshaler, raw []byte, isJSON bool) error {
	if isJSON {
		return req.UnmarshalJSON(raw)
	}
	return req.UnmarshalProto(raw)
}

// keep decodes raw for path, appends it to what was received, and returns the protobuf success
// response (empty).
func (r *Recorder) keep(path string, raw []byte, isJSON bool) ([]byte, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch path {
	case "/v1/logs":
		req := plogotlp.NewExportRequest()
		if err := decode(&req, raw, isJSON); err != nil {
			return nil, fmt.Errorf("logs: %w", err)
		}
		req.Logs().ResourceLogs().MoveAndAppendTo(r.logs.ResourceLogs())
		r.requests["logs"]++
		return plogotlp.NewExportResponse().MarshalProto()
	case "/v1/metrics":
		req := pmetricotlp.NewExportRequest()
		if err := decode(&req, raw, isJSON); err != nil {
			return nil, fmt.Errorf("metrics: %w", err)
		}
		req.Metrics().ResourceMetrics().MoveAndAppendTo(r.metrics.ResourceMetrics())
		r.requests["metrics"]++
		return pmetricotlp.NewExportResponse().MarshalProto()
	case "/v1/traces":
		req := ptraceotlp.NewExportRequest()
		if err := decode(&req, raw, isJSON); err != nil {
			return nil, fmt.Errorf("traces: %w", err)
		}
		req.Traces().ResourceSpans().MoveAndAppendTo(r.traces.ResourceSpans())
		r.requests["traces"]++
		return ptraceotlp.NewExportResponse().MarshalProto()
	}
	return nil, fmt.Errorf("unknown path %q", path)
}

// Requests returns how many export requests of each signal ("logs", "metrics", "traces") were
// received, and of each path and content type ("/v1/logs application/json").
func (r *Recorder) Requests() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]int, len(r.requests))
	for k, v := range r.requests {
		out[k] = v
	}
	return out
}

// Logs returns a copy of the log records received so far, in arrival order.
func (r *Recorder) Logs() plog.Logs {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := plog.NewLogs()
	r.logs.CopyTo(out)
	return out
}

// Metrics returns a copy of the metrics received so far.
func (r *Recorder) Metrics() pmetric.Metrics {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := pmetric.NewMetrics()
	r.metrics.CopyTo(out)
	return out
}

// Traces returns a copy of the spans received so far.
func (r *Recorder) Traces() ptrace.Traces {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := ptrace.NewTraces()
	r.traces.CopyTo(out)
	return out
}

// Reset forgets everything received.
func (r *Recorder) Reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.logs, r.metrics, r.traces, r.requests = plog.NewLogs(), pmetric.NewMetrics(), ptrace.NewTraces(), map[string]int{}
}

// LogEventNames returns the event names of the log records received so far (the event_name
// field, else the event.name attribute, else the body), in arrival order.
func (r *Recorder) LogEventNames() []string {
	logs := r.Logs()
	var names []string
	for i := 0; i < logs.ResourceLogs().Len(); i++ {
		sls := logs.ResourceLogs().At(i).ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			lrs := sls.At(j).LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				names = append(names, EventName(lrs.At(k)))
			}
		}
	}
	return names
}

// EventName returns a log record's event name: its event.name attribute (Codex, Gemini CLI),
// prefixed as in the body when the body ends with it (Claude Code: body
// "claude_code.api_error", event.name "api_error"), else the EventName field, else the body.
func EventName(lr plog.LogRecord) string {
	body := lr.Body().AsString()
	if v, ok := lr.Attributes().Get("event.name"); ok {
		name := v.AsString()
		if strings.HasSuffix(body, "."+name) {
			return body
		}
		return name
	}
	if n := lr.EventName(); n != "" {
		return n
	}
	return body
}
