package ingest

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/outagewatch/outagewatch/detectors"
	"github.com/outagewatch/outagewatch/ingest/assemble"
	"github.com/outagewatch/outagewatch/ingest/hosts"
	"github.com/outagewatch/outagewatch/ingest/normalize"
	"github.com/outagewatch/outagewatch/ingest/wire"
	"github.com/outagewatch/outagewatch/internal/spangen"
)

// benchExtract measures one decode path (extract turns a request body into records) plus
// assembly, per span.
func benchExtract(b *testing.B, body []byte, spans int, extract func(d *wire.Decoder, body []byte) wire.Batch) {
	d := wire.New(normalize.New(nil))
	a := assemble.New(assembleConfig(DefaultConfig(), hosts.New()))
	now := time.Unix(1_782_000_000, 0)
	var calls []detectors.Call
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res := extract(d, body)
		calls = a.Add(now, res.Records, calls[:0])
		d.Release(res.Records)
		calls = a.Tick(now.Add(time.Minute), calls)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*spans), "ns/span")
}

// viaPdata decodes with pdata, then extracts: the reference path.
func viaPdata(b *testing.B) func(d *wire.Decoder, body []byte) wire.Batch {
	return func(d *wire.Decoder, body []byte) wire.Batch {
		req := ptraceotlp.NewExportRequest()
		if err := req.UnmarshalProto(body); err != nil {
			b.Fatal(err)
		}
		return d.DecodeTraces(req.Traces())
	}
}

// viaFastPath extracts straight from the request bytes.
func viaFastPath(b *testing.B) func(d *wire.Decoder, body []byte) wire.Batch {
	return func(d *wire.Decoder, body []byte) wire.Batch {
		var res wire.Batch
		if err := d.DecodeProto(body, &res); err != nil {
			b.Fatal(err)
		}
		return res
	}
}

func benchDecodeNormalize(b *testing.B, body []byte, spans int) {
	benchExtract(b, body, spans, viaPdata(b))
}

func benchFastPath(b *testing.B, body []byte, spans int) {
	benchExtract(b, body, spans, viaFastPath(b))
}

func BenchmarkDecodeNormalizeGenAI512(b *testing.B) {
	body := spangen.MarshalProto(spangen.GenAIBatch(512, 1))
	benchDecodeNormalize(b, body, 512)
}

func BenchmarkDecodeNormalizeMixed512(b *testing.B) {
	body := spangen.MarshalProto(spangen.MixedBatch(512, 0.1, 1))
	benchDecodeNormalize(b, body, 512)
}

// BenchmarkHTTPHandlerGenAI512 measures the OTLP/HTTP handler end to end in-process: body read,
// decode, extraction, queueing; the pipeline goroutine assembles concurrently.
func BenchmarkHTTPHandlerGenAI512(b *testing.B) {
	body := spangen.MarshalProto(spangen.GenAIBatch(512, 1))
	cfg := DefaultConfig()
	cfg.QueueSize = 1 << 16
	p, err := NewPipeline(cfg, ConsumerFunc(func([]detectors.Call) {}), prometheus.NewRegistry(), slog.New(slog.NewTextHandler(io.Discard, nil)), PipelineOptions{})
	if err != nil {
		b.Fatal(err)
	}
	h := NewHTTPHandler(p, cfg.MaxRequestBytes)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		req := httptest.NewRequest(http.MethodPost, TracesPath, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/x-protobuf")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d", rec.Code)
		}
		drainQueue(p)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*512), "ns/span")
}

func BenchmarkFastPathGenAI512(b *testing.B) {
	body := spangen.MarshalProto(spangen.GenAIBatch(512, 1))
	benchFastPath(b, body, 512)
}

func BenchmarkFastPathMixed512(b *testing.B) {
	body := spangen.MarshalProto(spangen.MixedBatch(512, 0.1, 1))
	benchFastPath(b, body, 512)
}
