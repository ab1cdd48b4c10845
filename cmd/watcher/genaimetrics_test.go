package main

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"

	"github.com/outagewatch/outagewatch/detectors"
)

// genaiMeter is an application that exports only the GenAI semantic conventions' metric
// gen_ai.client.operation.duration through the real OpenTelemetry SDK and its OTLP/HTTP
// exporter, flushed on demand.
type genaiMeter struct {
	mp        *sdkmetric.MeterProvider
	durations metric.Float64Histogram
}

func newGenAIMeter(t *testing.T, d *daemon, service string) *genaiMeter {
	t.Helper()
	exp, err := otlpmetrichttp.New(t.Context(), otlpmetrichttp.WithEndpoint(d.a.ingest.HTTPAddr()), otlpmetrichttp.WithInsecure())
	require.NoError(t, err)
	mp := sdkmetric.NewMeterProvider(
		sdkmetric.WithReader(sdkmetric.NewPeriodicReader(exp, sdkmetric.WithInterval(time.Hour))), // flushed by the test
		sdkmetric.WithResource(resource.NewSchemaless(semconv.ServiceName(service))),
	)
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	h, err := mp.Meter("genai").Float64Histogram("gen_ai.client.operation.duration", metric.WithUnit("s"))
	require.NoError(t, err)
	return &genaiMeter{mp: mp, durations: h}
}

// calls records n operations of model, failed with errorType when it is not "", and exports.
func (g *genaiMeter) calls(t *testing.T, model string, n int, errorType string) {
	t.Helper()
	attrs := []attribute.KeyValue{
		attribute.String("gen_ai.operation.name", "chat"),
		attribute.String("gen_ai.provider.name", "anthropic"),
		attribute.String("gen_ai.request.model", model),
	}
	if errorType != "" {
		attrs = append(attrs, attribute.String("error.type", errorType))
	}
	for range n {
		g.durations.Record(t.Context(), 1.2, metric.WithAttributes(attrs...))
	}
	require.NoError(t, g.mp.ForceFlush(t.Context()))
}

// TestMetricsOnlyServiceOutageIsDetected: a service that exports no traces, only
// gen_ai.client.operation.duration, has its provider's outage detected from the counts.
func TestMetricsOnlyServiceOutageIsDetected(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, map[string]string{})
	defer d.stop(t)
	g := newGenAIMeter(t, d, "metrics-only")
	g.calls(t, "claude-sonnet", 40, "")
	key := detectors.SeriesKey{Provider: "anthropic", Model: "claude-sonnet"}
	require.Eventually(t, func() bool {
		st, ok := d.a.board.Get(key)
		return ok && st.State == detectors.StateHealthy
	}, 10*time.Second, 20*time.Millisecond, "the metrics' calls reach the engine")
	require.Eventually(t, func() bool {
		g.calls(t, "claude-sonnet", 10, "529")
		st, _ := d.a.board.Get(key)
		return st.State == detectors.StateDown || st.State == detectors.StateDegraded
	}, 30*time.Second, 100*time.Millisecond, "an outage seen only in the metrics")
}

// TestSpansAndMetricsCountOnce: a service that exports both spans and the duration metric has
// each call counted once (from its spans); the metrics are skipped while it sends spans.
func TestSpansAndMetricsCountOnce(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, map[string]string{})
	defer d.stop(t)
	body := func() string { _, b := get(t, d.api()+"/metrics"); return b }
	okCalls := `outagewatch_calls_total{error_class="",model="claude-sonnet",outcome="ok",provider="anthropic"}`
	sendModelCalls(t, d, "claude-sonnet", 5, false) // spans from service "checkout"
	require.Eventually(t, func() bool { return metricLine(body(), okCalls) == 5 }, 10*time.Second, 20*time.Millisecond, "the span-made calls are counted")
	g := newGenAIMeter(t, d, "checkout")
	g.calls(t, "claude-sonnet", 5, "") // the same five calls, as the metric; converted before the export returns
	require.Eventually(t, func() bool {
		b := body()
		return metricLine(b, `outagewatch_ingest_metric_points_total{protocol="http"}`) >= 1 && metricLine(b, "outagewatch_ingest_ready_queue_depth") == 0
	}, 10*time.Second, 20*time.Millisecond, "the metrics arrived and nothing waits")
	b := body()
	require.Equal(t, 5.0, metricLine(b, okCalls), "each call once")
	require.Zero(t, metricLine(b, `outagewatch_ingest_calls_total{source="metrics"}`))

	// The same metric from a service that sends no spans counts.
	other := newGenAIMeter(t, d, "batch")
	other.calls(t, "claude-sonnet", 3, "")
	require.Eventually(t, func() bool { return metricLine(body(), okCalls) == 8 }, 10*time.Second, 20*time.Millisecond)
}

// metricLine returns the value of the /metrics line that starts with series (name and labels),
// 0 when there is none.
func metricLine(body, series string) float64 {
	for line := range strings.Lines(body) {
		if rest, ok := strings.CutPrefix(line, series+" "); ok {
			v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			if err == nil {
				return v
			}
		}
	}
	return 0
}
