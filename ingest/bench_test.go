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
	"github.com/outagewatch/outagewatch/internal/spangen"
)

// benchExtract measures one decode path (extract turns a request body into records) plus
// assembly, per span.
func benchExtract(b *testing.B, body []byte, spans int, extract func(x *extractor, body []byte) batchResult) {
	x := extractor{hosts: newHostIndex(nil)}
	a := newAssembler(DefaultConfig())
	now := time.Unix(1_782_000_000, 0)
	var calls []detectors.Call
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res := extract(&x, body)
		calls = a.add(now, res.records, calls[:0])
		putRecords(res.records)
		calls = a.tick(now.Add(time.Minute), calls)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*spans), "ns/span")
}

// viaPdata decodes with pdata, then extracts: the reference path.
func viaPdata(b *testing.B) func(x *extractor, body []byte) batchResult {
	return func(x *extractor, body []byte) batchResult {
		req := ptraceotlp.NewExportRequest()
		if err := req.UnmarshalProto(body); err != nil {
			b.Fatal(err)
		}
		return x.extract(req.Traces())
	}
}

// viaFastPath extracts straight from the request bytes.
func viaFastPath(b *testing.B) func(x *extractor, body []byte) batchResult {
	return func(x *extractor, body []byte) batchResult {
		var res batchResult
		if err := x.fastExtract(body, &res); err != nil {
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

// BenchmarkFastPathOnly measures the fast path's extraction alone, without assembly: what the
// receivers' goroutines spend per span before the hand-off.
func BenchmarkFastPathOnly(b *testing.B) {
	for _, bc := range []struct {
		name string
		body []byte
	}{
		{"GenAI512", spangen.MarshalProto(spangen.GenAIBatch(512, 1))},
		{"Mixed512", spangen.MarshalProto(spangen.MixedBatch(512, 0.1, 1))},
	} {
		b.Run(bc.name, func(b *testing.B) {
			x := extractor{hosts: newHostIndex(nil)}
			b.SetBytes(int64(len(bc.body)))
			b.ReportAllocs()
			for b.Loop() {
				var res batchResult
				if err := x.fastExtract(bc.body, &res); err != nil {
					b.Fatal(err)
				}
				putRecords(res.records)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*512), "ns/span")
		})
	}
}

// BenchmarkAssemble measures the assembler alone on the records of a 512-span GenAI request:
// what the pipeline goroutine spends per record before the detectors.
func BenchmarkAssemble(b *testing.B) {
	x := extractor{hosts: newHostIndex(nil)}
	var res batchResult
	if err := x.fastExtract(spangen.MarshalProto(spangen.GenAIBatch(512, 1)), &res); err != nil {
		b.Fatal(err)
	}
	a := newAssembler(DefaultConfig())
	now := time.Unix(1_782_000_000, 0)
	var calls []detectors.Call
	b.ReportAllocs()
	for b.Loop() {
		now = now.Add(time.Second)
		calls = a.add(now, res.records, calls[:0])
		calls = a.tick(now, calls)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(res.records)), "ns/record")
}
