// Package collector is the test bench of the OpenTelemetry Collector configuration that
// docs/collector.md documents: config.yaml sends every GenAI span (LLM-call spans and HTTP client
// spans to LLM provider hosts) to outagewatch before sampling, and tail-sampled traces to the
// trace backend; loadbalancing.yaml sends every GenAI span to one of several outagewatch
// replicas, all the spans of a trace to the same one (the load-balancing exporter, routing by
// trace ID). builder.yaml is the manifest of the Collector it runs on, which
// scripts/collector.sh builds with the OpenTelemetry Collector builder into a cache outside the
// clone.
//
// The package has no code of its own: collector_test.go runs that real Collector with
// config.yaml between a real outagewatch daemon and an in-test OTLP trace backend, and
// loadbalancing_test.go runs two of them with loadbalancing.yaml in front of three in-test OTLP
// receivers standing for replicas. The tests find the Collector through OUTAGEWATCH_OTELCOL, or
// build it with scripts/collector.sh when the variable is unset (minutes on 2 cores with empty
// module and build caches, the Go module proxy reachable; then the cached binary is reused in
// milliseconds).
package collector
