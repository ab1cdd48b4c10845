package ingest

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/outagewatch/outagewatch/detectors"
	"github.com/outagewatch/outagewatch/ingest/assemble"
	"github.com/outagewatch/outagewatch/ingest/hosts"
	"github.com/outagewatch/outagewatch/ingest/normalize"
	"github.com/outagewatch/outagewatch/ingest/wire"
)

// seedFuzz adds every fixture payload, in both encodings, to f.
func seedFuzz(f *testing.F, add func(body []byte, json bool)) {
	files, _ := filepath.Glob(conventionsDir + "/*.json")
	for _, file := range files {
		if strings.HasSuffix(file, ".golden.json") {
			continue
		}
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		add(b, true)
		if pb, err := os.ReadFile(strings.TrimSuffix(file, ".json") + ".pb"); err == nil {
			add(pb, false)
		}
	}
	add([]byte(`{"resourceSpans":[]}`), true)
	add(nil, false)
}

// FuzzDecodeOTLPHTTP feeds arbitrary bodies to the OTLP/HTTP handler: it must never panic, and
// it answers 200 exactly when the body decodes, 400 otherwise.
func FuzzDecodeOTLPHTTP(f *testing.F) {
	seedFuzz(f, func(b []byte, json bool) { f.Add(b, json, false) })
	cfg := DefaultConfig()
	cfg.QueueSize = 1 << 16
	p, err := NewPipeline(cfg, ConsumerFunc(func([]detectors.Call) {}), prometheus.NewRegistry(), slog.New(slog.NewTextHandler(io.Discard, nil)), PipelineOptions{})
	if err != nil {
		f.Fatal(err)
	}
	h := NewHTTPHandler(p, cfg.MaxRequestBytes)
	f.Fuzz(func(t *testing.T, body []byte, isJSON bool, compress bool) {
		ct, decodes := "application/x-protobuf", ptraceotlp.NewExportRequest().UnmarshalProto(body) == nil
		if isJSON {
			ct, decodes = "application/json", ptraceotlp.NewExportRequest().UnmarshalJSON(body) == nil
		}
		payload := body
		if compress {
			payload = gzipped(t, body)
		}
		req := httptest.NewRequest(http.MethodPost, TracesPath, bytes.NewReader(payload))
		req.Header.Set("Content-Type", ct)
		if compress {
			req.Header.Set("Content-Encoding", "gzip")
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		switch {
		case decodes && rec.Code != http.StatusOK:
			t.Fatalf("decodable body answered %d: %s", rec.Code, rec.Body.String())
		case !decodes && rec.Code != http.StatusBadRequest:
			t.Fatalf("undecodable body answered %d", rec.Code)
		}
		drainQueue(p)
	})
}

// FuzzNormalize runs arbitrary decodable payloads through extraction and assembly: no panic,
// and every call names a provider and a model, with an outcome and class in range.
func FuzzNormalize(f *testing.F) {
	seedFuzz(f, func(b []byte, json bool) { f.Add(b, json) })
	d := wire.New(normalize.New(nil))
	f.Fuzz(func(t *testing.T, body []byte, isJSON bool) {
		req := ptraceotlp.NewExportRequest()
		var err error
		if isJSON {
			err = req.UnmarshalJSON(body)
		} else {
			err = req.UnmarshalProto(body)
		}
		if err != nil {
			return
		}
		res := d.DecodeTraces(req.Traces())
		a := assemble.New(assembleConfig(DefaultConfig(), hosts.New()))
		now := time.Unix(1_782_000_000, 0)
		calls := a.Add(now, res.Records, nil)
		calls = a.Tick(now.Add(time.Hour), calls)
		if res.Rejected > res.Spans || len(res.Records) > res.Spans {
			t.Fatalf("counts out of range: %+v", res)
		}
		for _, c := range calls {
			if c.Provider == "" || c.Model == "" {
				t.Fatalf("call without provider or model: %+v", c)
			}
			if c.Outcome.String() == "invalid" || c.ErrorClass.String() == "invalid" || c.FinishReason.String() == "invalid" {
				t.Fatalf("enum out of range: %+v", c)
			}
			if c.FailedAttempts > c.Attempts || len(c.ErrorMessage) > 256 || len(c.Model) > 128 {
				t.Fatalf("bounds broken: %+v", c)
			}
		}
		if n := a.Pending(); n != 0 {
			t.Fatalf("%d attempt groups still pending after their wait", n)
		}
	})
}
