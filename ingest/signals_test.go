package ingest

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/outagewatch/outagewatch/detectors"
	"github.com/outagewatch/outagewatch/ingest/receiver"
)

// logCalls maps each log record to a call of provider "anthropic" and the model of its "model"
// attribute: a stand-in for ingest/agentlogs.
func logCalls(ld plog.Logs, out []detectors.Call) []detectors.Call {
	for _, rl := range ld.ResourceLogs().All() {
		for _, sl := range rl.ScopeLogs().All() {
			for _, lr := range sl.LogRecords().All() {
				model, _ := lr.Attributes().Get("model")
				out = append(out, detectors.Call{Provider: "anthropic", Model: model.Str(), Outcome: detectors.OutcomeOK, Duration: time.Second})
			}
		}
	}
	return out
}

// metricCalls maps each data point to a call of provider "openai": a stand-in for
// ingest/genaimetrics.
func metricCalls(md pmetric.Metrics, out []detectors.Call) []detectors.Call {
	for range md.DataPointCount() {
		out = append(out, detectors.Call{Provider: "openai", Model: "gpt-4.1", Outcome: detectors.OutcomeOK})
	}
	return out
}

func agentLogs(models ...string) plog.Logs {
	ld := plog.NewLogs()
	lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	for _, m := range models {
		lr := lrs.AppendEmpty()
		lr.SetEventName("claude_code.api_request")
		lr.Attributes().PutStr("model", m)
	}
	return ld
}

func genaiMetrics(points int) pmetric.Metrics {
	md := pmetric.NewMetrics()
	m := md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	m.SetName("gen_ai.client.operation.duration")
	h := m.SetEmptyHistogram()
	for range points {
		h.DataPoints().AppendEmpty().SetCount(1)
	}
	return md
}

// sumMetric sums the samples of a counter whose labels include want.
func sumMetric(t *testing.T, reg *prometheus.Registry, name string, want map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	total := 0.0
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	samples:
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			for k, v := range want {
				if labels[k] != v {
					continue samples
				}
			}
			total += m.GetCounter().GetValue()
		}
	}
	return total
}

func postSignal(t *testing.T, url, contentType string, gz bool, body []byte, header ...string) *http.Response {
	t.Helper()
	if gz {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		_, _ = zw.Write(body)
		require.NoError(t, zw.Close())
		body = b.Bytes()
	}
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", contentType)
	if gz {
		req.Header.Set("Content-Encoding", "gzip")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	require.NoError(t, resp.Body.Close())
	return resp
}

func dial(t *testing.T, addr string) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

func TestLogsAndMetricsCallsReachTheConsumer(t *testing.T) {
	t.Parallel()
	ts := startServerWith(t, DefaultConfig(), &recorder{}, PipelineOptions{LogCalls: logCalls, MetricCalls: metricCalls})
	conn := dial(t, ts.grpcAddr)
	ctx := context.Background()

	_, err := plogotlp.NewGRPCClient(conn).Export(ctx, plogotlp.NewExportRequestFromLogs(agentLogs("claude-sonnet-4-5", "claude-opus-4-1")))
	require.NoError(t, err)
	_, err = pmetricotlp.NewGRPCClient(conn).Export(ctx, pmetricotlp.NewExportRequestFromMetrics(genaiMetrics(3)), grpc.UseCompressor("gzip"))
	require.NoError(t, err)
	logsJSON, err := plogotlp.NewExportRequestFromLogs(agentLogs("claude-haiku-4-5")).MarshalJSON()
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, postSignal(t, ts.httpURL+receiver.LogsPath, "application/json", true, logsJSON).StatusCode)
	metricsProto, err := pmetricotlp.NewExportRequestFromMetrics(genaiMetrics(2)).MarshalProto()
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, postSignal(t, ts.httpURL+receiver.MetricsPath, "application/x-protobuf", false, metricsProto).StatusCode)

	require.Eventually(t, func() bool { return len(ts.rec.seen()) == 8 }, 5*time.Second, 10*time.Millisecond)
	require.ElementsMatch(t, []string{
		"anthropic/claude-sonnet-4-5 ok", "anthropic/claude-opus-4-1 ok", "anthropic/claude-haiku-4-5 ok",
		"openai/gpt-4.1 ok", "openai/gpt-4.1 ok", "openai/gpt-4.1 ok", "openai/gpt-4.1 ok", "openai/gpt-4.1 ok",
	}, ts.rec.seen())
	require.Equal(t, 8.0, sumMetric(t, ts.reg, "outagewatch_calls_total", nil), "the per-series metrics count them")
	require.Equal(t, 3.0, sumMetric(t, ts.reg, "outagewatch_calls_total", map[string]string{"provider": "anthropic"}))
	require.Equal(t, 3.0, sumMetric(t, ts.reg, "outagewatch_ingest_calls_total", map[string]string{"source": "logs"}))
	require.Equal(t, 5.0, sumMetric(t, ts.reg, "outagewatch_ingest_calls_total", map[string]string{"source": "metrics"}))
	require.Equal(t, 2.0, sumMetric(t, ts.reg, "outagewatch_ingest_log_records_total", map[string]string{"protocol": "grpc"}))
	require.Equal(t, 1.0, sumMetric(t, ts.reg, "outagewatch_ingest_log_records_total", map[string]string{"protocol": "http"}))
	require.Equal(t, 5.0, sumMetric(t, ts.reg, "outagewatch_ingest_metric_points_total", nil))
	require.Equal(t, 2.0, sumMetric(t, ts.reg, "outagewatch_ingest_requests_total", map[string]string{"signal": "logs", "result": "ok"}))
	require.Equal(t, 2.0, sumMetric(t, ts.reg, "outagewatch_ingest_requests_total", map[string]string{"signal": "metrics", "result": "ok"}))
	var providers []string
	for _, pf := range ts.p.Freshness(time.Now()).Providers {
		providers = append(providers, pf.Provider)
	}
	require.Equal(t, []string{"anthropic", "openai"}, providers, "freshness sees them")
}

func TestLogsAndMetricsWithoutMappersAreAcceptedAndIgnored(t *testing.T) {
	t.Parallel()
	ts := startServerWith(t, DefaultConfig(), &recorder{}, PipelineOptions{})
	conn := dial(t, ts.grpcAddr)
	_, err := plogotlp.NewGRPCClient(conn).Export(context.Background(), plogotlp.NewExportRequestFromLogs(agentLogs("m")))
	require.NoError(t, err)
	body, err := pmetricotlp.NewExportRequestFromMetrics(genaiMetrics(4)).MarshalJSON()
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, postSignal(t, ts.httpURL+receiver.MetricsPath, "application/json", false, body).StatusCode)
	require.Equal(t, 1.0, sumMetric(t, ts.reg, "outagewatch_ingest_log_records_total", nil))
	require.Equal(t, 4.0, sumMetric(t, ts.reg, "outagewatch_ingest_metric_points_total", nil))
	// Without mappers nothing is queued: the requests were answered without a call to deliver.
	require.Zero(t, ts.p.queuedCalls.Load())
	require.Zero(t, len(ts.p.ready))
	require.Empty(t, ts.rec.seen())
	require.Zero(t, sumMetric(t, ts.reg, "outagewatch_calls_total", nil))
	require.Zero(t, sumMetric(t, ts.reg, "outagewatch_ingest_calls_total", nil))
}

func TestLogsAndMetricsQueueFull(t *testing.T) {
	t.Parallel()
	cfg := DefaultConfig()
	cfg.QueueSize = 1
	rec := &recorder{block: make(chan struct{})} // Run holds the first request's calls
	ts := startServerWith(t, cfg, rec, PipelineOptions{LogCalls: logCalls, MetricCalls: metricCalls})
	conn := dial(t, ts.grpcAddr)
	logs := plogotlp.NewGRPCClient(conn)
	var err error
	require.Eventually(t, func() bool {
		_, err = logs.Export(context.Background(), plogotlp.NewExportRequestFromLogs(agentLogs("m")))
		return err != nil
	}, 5*time.Second, time.Millisecond)
	require.Equal(t, codes.Unavailable, status.Code(err), "%v", err)

	body, err := pmetricotlp.NewExportRequestFromMetrics(genaiMetrics(1)).MarshalProto()
	require.NoError(t, err)
	resp := postSignal(t, ts.httpURL+receiver.MetricsPath, "application/x-protobuf", false, body)
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	require.Equal(t, "1", resp.Header.Get("Retry-After"))
	require.Positive(t, sumMetric(t, ts.reg, "outagewatch_ingest_ready_calls_refused_total", nil))
	require.Positive(t, sumMetric(t, ts.reg, "outagewatch_ingest_requests_total", map[string]string{"signal": "metrics", "result": "refused"}))
	close(rec.block)
	require.Eventually(t, func() bool { return ts.p.queuedCalls.Load() == 0 }, 5*time.Second, 10*time.Millisecond)
}

func TestLogsAndMetricsNeedTheToken(t *testing.T) {
	t.Parallel()
	cfg := DefaultConfig()
	cfg.Security.Auth = func(token string) (string, bool) { return "agent", token == "good" }
	ts := startServerWith(t, cfg, &recorder{}, PipelineOptions{LogCalls: logCalls})
	conn := dial(t, ts.grpcAddr)
	req := plogotlp.NewExportRequestFromLogs(agentLogs("m"))
	_, err := plogotlp.NewGRPCClient(conn).Export(context.Background(), req)
	require.Equal(t, codes.Unauthenticated, status.Code(err))
	ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer good")
	_, err = plogotlp.NewGRPCClient(conn).Export(ctx, req)
	require.NoError(t, err)
	body, err := req.MarshalProto()
	require.NoError(t, err)
	require.Equal(t, http.StatusUnauthorized, postSignal(t, ts.httpURL+receiver.LogsPath, "application/x-protobuf", false, body).StatusCode)
	require.Equal(t, http.StatusOK, postSignal(t, ts.httpURL+receiver.LogsPath, "application/x-protobuf", false, body, "Authorization", "Bearer good").StatusCode)
	require.Equal(t, 2.0, sumMetric(t, ts.reg, "outagewatch_ingest_requests_total", map[string]string{"signal": "logs", "result": "unauthenticated"}))
	require.Equal(t, 2.0, sumMetric(t, ts.reg, "outagewatch_ingest_log_records_total", nil), "only the requests with the token are read")
}

func TestReadyCallsRespectTheCaps(t *testing.T) {
	t.Parallel()
	cfg := DefaultConfig()
	cfg.MaxProviders, cfg.MaxModelsPerProvider = 2, 2
	ts := startServerWith(t, cfg, &recorder{}, PipelineOptions{LogCalls: func(ld plog.Logs, out []detectors.Call) []detectors.Call {
		out = logCalls(ld, out)
		out[len(out)-1].Provider = "openai" // a second provider: folded, the first (anthropic) holds the only slot
		return out
	}})
	conn := dial(t, ts.grpcAddr)
	_, err := plogotlp.NewGRPCClient(conn).Export(context.Background(), plogotlp.NewExportRequestFromLogs(agentLogs("a", "b", "c", "d")))
	require.NoError(t, err)
	require.Eventually(t, func() bool { return len(ts.rec.seen()) == 4 }, 5*time.Second, 10*time.Millisecond)
	require.Equal(t, []string{"anthropic/a ok", "anthropic/other ok", "anthropic/other ok", "other/d ok"}, ts.rec.seen())
	require.Equal(t, 1.0, sumMetric(t, ts.reg, "outagewatch_ingest_folded_calls_total", map[string]string{"what": "provider"}))
	require.Equal(t, 2.0, sumMetric(t, ts.reg, "outagewatch_ingest_folded_calls_total", map[string]string{"what": "model"}))
}

// TestLogCallsOfTracedServicesAreSkipped: a coding agent that exports its traces and its log
// events (Claude Code's beta traces) has each call counted once, from its spans; another
// service's log events, and the same service's after the window, count.
func TestLogCallsOfTracedServicesAreSkipped(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewPedanticRegistry()
	p, err := NewPipeline(DefaultConfig(), &recorder{}, reg, slog.New(slog.DiscardHandler), PipelineOptions{})
	require.NoError(t, err)
	t0 := time.Unix(1_782_000_000, 0)
	p.traced.saw([]detectors.Call{{Service: "claude-code", Provider: "anthropic", Model: "sonnet", Time: t0}})
	p.traced.saw([]detectors.Call{{Service: "gemini-cli", Provider: "unknown", Model: "flash", Time: t0}})
	calls := []detectors.Call{
		{Service: "claude-code", Provider: "anthropic", Model: "sonnet", Time: t0.Add(time.Minute)},
		{Service: "gemini-cli", Provider: "gcp.gemini", Model: "flash", Time: t0.Add(time.Minute)},   // its span named no provider
		{Service: "claude-code", Provider: "anthropic", Model: "sonnet", Time: t0.Add(-time.Minute)}, // exported late
		{Service: "claude-code", Provider: "anthropic", Model: "sonnet", Time: t0.Add(11 * time.Minute)},
	}
	kept := p.skipTraced(calls)
	require.Len(t, kept, 2)
	require.Equal(t, "gemini-cli", kept[0].Service)
	require.Equal(t, t0.Add(11*time.Minute), kept[1].Time, "after the window the logs count again")
	require.Equal(t, 2.0, sumMetric(t, reg, "outagewatch_ingest_log_calls_skipped_total", nil))

	var ts tracedServices
	for i := range maxTracedServices + 10 {
		ts.saw([]detectors.Call{{Service: "svc-" + strconv.Itoa(i), Time: t0.Add(time.Duration(i) * time.Second)}})
	}
	require.Len(t, ts.last, maxTracedServices, "bounded")
	require.False(t, ts.traced(&detectors.Call{Service: "svc-0", Time: t0}), "the oldest went first")
	last := maxTracedServices + 9
	require.True(t, ts.traced(&detectors.Call{Service: "svc-" + strconv.Itoa(last), Time: t0.Add(time.Duration(last) * time.Second)}))
}
