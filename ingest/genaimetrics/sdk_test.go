package genaimetrics

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	otelmetric "go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdkresource "go.opentelemetry.io/otel/sdk/resource"

	"github.com/outagewatch/outagewatch/detectors"
)

// otlpReceiver is an OTLP/HTTP metrics endpoint that hands each export, decoded by pdata, to
// the test.
func otlpReceiver(t *testing.T) (url string, exports <-chan pmetric.Metrics) {
	ch := make(chan pmetric.Metrics, 16)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Error(err)
		}
		req := pmetricotlp.NewExportRequest()
		if err := req.UnmarshalProto(body); err != nil {
			t.Errorf("decode export: %v", err)
		}
		ch <- req.Metrics()
		resp, _ := pmetricotlp.NewExportResponse().MarshalProto()
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.Write(resp)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, ch
}

func TestOpenTelemetrySDK(t *testing.T) {
	cases := []struct {
		name        string
		temporality metricdata.Temporality
		exponential bool
	}{
		{"cumulative", metricdata.CumulativeTemporality, false},
		{"delta", metricdata.DeltaTemporality, false},
		{"cumulative exponential", metricdata.CumulativeTemporality, true},
		{"delta exponential", metricdata.DeltaTemporality, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			conv := New(Options{}) // made before the meter provider: its streams count in full
			url, exports := otlpReceiver(t)
			exp, err := otlpmetrichttp.New(ctx, otlpmetrichttp.WithEndpointURL(url+"/v1/metrics"))
			if err != nil {
				t.Fatal(err)
			}
			reader := sdkmetric.NewManualReader(sdkmetric.WithTemporalitySelector(
				func(sdkmetric.InstrumentKind) metricdata.Temporality { return tc.temporality }))
			opts := []sdkmetric.Option{
				sdkmetric.WithReader(reader),
				sdkmetric.WithResource(sdkresource.NewSchemaless(
					attribute.String("service.name", "support-bot"),
					attribute.String("deployment.environment.name", "prod"))),
			}
			if tc.exponential {
				opts = append(opts, sdkmetric.WithView(sdkmetric.NewView(
					sdkmetric.Instrument{Name: MetricOperationDuration},
					sdkmetric.Stream{Aggregation: sdkmetric.AggregationBase2ExponentialHistogram{MaxSize: 160, MaxScale: 20}})))
			}
			mp := sdkmetric.NewMeterProvider(opts...)
			defer mp.Shutdown(ctx)
			hist, err := mp.Meter("test").Float64Histogram(MetricOperationDuration, otelmetric.WithUnit("s"))
			if err != nil {
				t.Fatal(err)
			}
			call := func(model, errType string, seconds float64) {
				attrs := []attribute.KeyValue{
					attribute.String("gen_ai.operation.name", "chat"),
					attribute.String("gen_ai.provider.name", "anthropic"),
					attribute.String("gen_ai.request.model", model),
					attribute.String("server.address", "api.anthropic.com"),
					attribute.Int("server.port", 443),
				}
				if errType != "" {
					attrs = append(attrs, attribute.String("error.type", errType))
				}
				hist.Record(ctx, seconds, otelmetric.WithAttributes(attrs...))
			}
			export := func() []detectors.Call {
				var rm metricdata.ResourceMetrics
				if err := reader.Collect(ctx, &rm); err != nil {
					t.Fatal(err)
				}
				if err := exp.Export(ctx, &rm); err != nil {
					t.Fatal(err)
				}
				select {
				case md := <-exports:
					return conv.Calls(md, nil)
				case <-time.After(5 * time.Second):
					t.Fatal("no export")
				}
				return nil
			}

			call("claude-sonnet-4", "", 1)
			call("claude-sonnet-4", "", 3)
			call("claude-sonnet-4", "", 2)
			call("claude-sonnet-4", "overloaded_error", 0.5)
			got := export()
			wantTally(t, "export 1", got, map[string]int{
				"anthropic/claude-sonnet-4 ok ": 3, "anthropic/claude-sonnet-4 error overloaded": 1})
			for _, c := range got {
				if c.Service != "support-bot" || c.Environment != "prod" || c.Endpoint != "api.anthropic.com" || c.Convention != Convention {
					t.Errorf("call %+v", c)
				}
				if c.Outcome == 0 && c.Duration != 2*time.Second {
					t.Errorf("ok calls' mean duration %v, want 2s", c.Duration)
				}
			}

			call("claude-haiku-4", "", 1)
			call("claude-sonnet-4", "RateLimitError", 0.1)
			call("claude-sonnet-4", "RateLimitError", 0.1)
			wantTally(t, "export 2", export(), map[string]int{
				"anthropic/claude-haiku-4 ok ": 1, "anthropic/claude-sonnet-4 error rate_limited": 2})

			wantTally(t, "export 3", export(), map[string]int{})
			if s := conv.Stats(); s.Calls != 7 || s.Baselines != 0 || s.Invalid != 0 {
				t.Errorf("stats %+v", s)
			}
		})
	}
}
