package main

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// OTLP protocols, as OTEL_EXPORTER_OTLP_PROTOCOL names them.
const (
	protocolGRPC = "grpc"
	protocolHTTP = "http/protobuf"
)

// exportTarget is where spans go.
type exportTarget struct {
	protocol string
	// url is the full traces URL for HTTP (http://host:4318/v1/traces), the server's URL for
	// gRPC (http://host:4317; the scheme says whether TLS is used).
	url string
}

// resolveTarget applies the standard precedence: the flags, then OTEL_EXPORTER_OTLP_TRACES_*,
// then OTEL_EXPORTER_OTLP_*, then http/protobuf to localhost:4318. A signal-specific endpoint is
// used as is; a base endpoint gets /v1/traces appended for HTTP, as the specification says.
func resolveTarget(flagEndpoint, flagProtocol string, getenv func(string) string) (exportTarget, error) {
	t := exportTarget{protocol: firstNonEmpty(flagProtocol, getenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"),
		getenv("OTEL_EXPORTER_OTLP_PROTOCOL"), protocolHTTP)}
	if t.protocol != protocolGRPC && t.protocol != protocolHTTP {
		return t, fmt.Errorf("protocol %q is not supported: use %s or %s", t.protocol, protocolGRPC, protocolHTTP)
	}
	raw, base := "", true
	switch {
	case flagEndpoint != "":
		raw = flagEndpoint
		base = !strings.HasSuffix(strings.TrimSuffix(flagEndpoint, "/"), "/v1/traces")
	case getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != "":
		raw, base = getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"), false
	case getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "":
		raw = getenv("OTEL_EXPORTER_OTLP_ENDPOINT")
	case t.protocol == protocolGRPC:
		raw = "http://localhost:4317"
	default:
		raw = "http://localhost:4318"
	}
	if !strings.Contains(raw, "://") {
		raw = "http://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return t, fmt.Errorf("endpoint %q is not a URL or host:port", raw)
	}
	if t.protocol == protocolHTTP && base {
		u.Path = strings.TrimSuffix(u.Path, "/") + "/v1/traces"
	}
	t.url = u.String()
	return t, nil
}

// newExporter builds the OTLP exporter for t. The exporters still read the other standard
// variables themselves (OTEL_EXPORTER_OTLP_HEADERS, _COMPRESSION, _TIMEOUT, _CERTIFICATE...).
func newExporter(ctx context.Context, t exportTarget) (sdktrace.SpanExporter, error) {
	var exp sdktrace.SpanExporter
	var err error
	if t.protocol == protocolGRPC {
		exp, err = otlptracegrpc.New(ctx, otlptracegrpc.WithEndpointURL(t.url))
	} else {
		exp, err = otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(t.url))
	}
	if err != nil {
		return nil, fmt.Errorf("create %s exporter: %w", t.protocol, err)
	}
	return exp, nil
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
