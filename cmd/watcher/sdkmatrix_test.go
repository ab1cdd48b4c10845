package main

import (
	"bytes"
	"encoding/binary"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/outagewatch/outagewatch/health"
	"github.com/outagewatch/outagewatch/internal/sdkfixtures"
	"github.com/outagewatch/outagewatch/internal/watchertest"
)

// matrixCell returns a recorded cell of the SDK fault matrix.
func matrixCell(t *testing.T, stack, mode, fault string) sdkfixtures.Cell {
	t.Helper()
	cells, err := sdkfixtures.Matrix()
	require.NoError(t, err)
	for _, c := range cells {
		if c.Stack == stack && c.Mode == mode && c.Fault == fault {
			return c
		}
	}
	t.Fatalf("no cell %s/%s/%s", stack, mode, fault)
	return sdkfixtures.Cell{}
}

// sendCell posts a cell's requests as if its calls happened now, under trace and span IDs of
// their own (salt makes each sending new calls), with the fake provider's host given as
// gateway.
func sendCell(t *testing.T, addr string, c sdkfixtures.Cell, salt uint64) {
	t.Helper()
	for _, body := range c.Requests {
		req := ptraceotlp.NewExportRequest()
		require.NoError(t, req.UnmarshalProto(body))
		var last uint64
		sdkfixtures.EachSpan(req.Traces(), func(s ptrace.Span) { last = max(last, uint64(s.EndTimestamp())) })
		delta := uint64(time.Now().UnixNano()) - last
		sdkfixtures.EachSpan(req.Traces(), func(s ptrace.Span) {
			s.SetTraceID(saltTrace(s.TraceID(), salt))
			s.SetSpanID(saltSpan(s.SpanID(), salt))
			if !s.ParentSpanID().IsEmpty() {
				s.SetParentSpanID(saltSpan(s.ParentSpanID(), salt))
			}
			s.SetStartTimestamp(pcommon.Timestamp(uint64(s.StartTimestamp()) + delta))
			s.SetEndTimestamp(pcommon.Timestamp(uint64(s.EndTimestamp()) + delta))
		})
		b, err := req.MarshalProto()
		require.NoError(t, err)
		resp, err := http.Post("http://"+addr+"/v1/traces", "application/x-protobuf", bytes.NewReader(b))
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
	}
}

func saltTrace(id pcommon.TraceID, salt uint64) pcommon.TraceID {
	binary.BigEndian.PutUint64(id[:8], binary.BigEndian.Uint64(id[:8])^salt*0x9E3779B97F4A7C15)
	return id
}

func saltSpan(id pcommon.SpanID, salt uint64) pcommon.SpanID {
	binary.BigEndian.PutUint64(id[:], binary.BigEndian.Uint64(id[:])^salt*0xBF58476D1CE4E5B9)
	return id
}

// modelView finds a model in a report.
func modelView(r health.Report, provider, model string) (health.ModelView, bool) {
	for _, p := range r.Providers {
		for _, m := range p.Models {
			if p.Provider == provider && m.Model == model {
				return m, true
			}
		}
	}
	return health.ModelView{}, false
}

// TestVercelRetriesAreOneCall: a Vercel AI SDK app (ai 6 with @ai-sdk/openai, its own
// telemetry, default retries) whose 4 calls all fail with 529 after 3 attempts each shows 4
// failed calls on /metrics, in /v1/health and on the status page, not 12.
func TestVercelRetriesAreOneCall(t *testing.T) {
	t.Parallel()
	c := matrixCell(t, "vercel-openai", "json", "overloaded")
	p := proc{watchertest.StartWatcher(t, "ingest:\n  attempt_wait: 1s\n  provider_hosts:\n    "+c.Host+": openai\n")}
	sendCell(t, p.OTLPHTTP, c, 1)
	var m health.ModelView
	require.Eventually(t, func() bool {
		var ok bool
		m, ok = modelView(p.health(t), "openai", "gpt-4o-mini")
		return ok && m.Figures.Calls >= 4
	}, 10*time.Second, 50*time.Millisecond)
	calls, _ := callsTotal(t, p.API, "openai")
	require.Equal(t, float64(c.Calls), calls, "one call per SDK call on /metrics")
	require.Equal(t, uint64(c.Calls), m.Figures.Calls, "and in /v1/health")
	_, body := get(t, "http://"+p.API+"/metrics")
	require.Contains(t, body, `outagewatch_calls_total{error_class="overloaded",model="gpt-4o-mini",outcome="error",provider="openai"} 4`)
	_, page := get(t, "http://"+p.API+"/")
	require.Contains(t, page, "(4 calls of its own)", "the status page counts 4 calls")
}

// TestOpenAIInStreamFailuresAreNotSuccesses: an OpenAI app (openai SDK + OpenLLMetry) whose
// streams fail inside their HTTP 200 half the time, at 10 calls a second: those calls' LLM spans
// are never exported, only their 200 attempts arrive. The model turns degraded on truncation,
// and the evidence says the LLM spans went missing after a 200.
func TestOpenAIInStreamFailuresAreNotSuccesses(t *testing.T) {
	t.Parallel()
	ok := matrixCell(t, "openai-openllmetry", "stream", "ok")
	bad := matrixCell(t, "openai-openllmetry", "stream", "stream_error")
	p := proc{watchertest.StartWatcher(t, "ingest:\n  attempt_wait: 1s\n  provider_hosts:\n    "+ok.Host+": openai\n    "+bad.Host+": openai\n")}
	// Normal traffic first: 40 good streams.
	salt := uint64(0)
	for range 10 {
		salt++
		sendCell(t, p.OTLPHTTP, ok, salt)
	}
	require.Eventually(t, func() bool {
		m, found := modelView(p.health(t), "openai", "gpt-4o-mini")
		return found && m.State == "healthy" && m.Figures.Calls >= 40
	}, 10*time.Second, 50*time.Millisecond)

	start := time.Now()
	tick := time.NewTicker(400 * time.Millisecond) // 4 calls each: 10 calls/s
	defer tick.Stop()
	var m health.ModelView
	for i := 0; ; i++ {
		<-tick.C
		salt++
		if i%2 == 0 {
			sendCell(t, p.OTLPHTTP, ok, salt)
		} else {
			sendCell(t, p.OTLPHTTP, bad, salt)
		}
		m, _ = modelView(p.health(t), "openai", "gpt-4o-mini")
		if m.State == "degraded" || m.State == "down" {
			break
		}
		require.Less(t, time.Since(start), 60*time.Second, "half the streams failing inside their 200 is detected")
	}
	t.Logf("degraded %s after the in-stream failures began: %+v", time.Since(start).Round(10*time.Millisecond), m.Reasons)
	require.NotEmpty(t, m.Reasons)
	require.Equal(t, "truncation", m.Reasons[0].Detector)
	require.True(t, strings.Contains(m.Reasons[0].SampleError, "no LLM span after an HTTP 200"), "the evidence says why: %q", m.Reasons[0].SampleError)
}
