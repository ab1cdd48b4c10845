package ingest

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"time"
)

// Config is the ingest configuration. DefaultConfig gives the documented defaults.
type Config struct {
	// GRPCAddr is the OTLP/gRPC listen address ("" disables it).
	GRPCAddr string `yaml:"grpc_addr"`
	// HTTPAddr is the OTLP/HTTP listen address ("" disables it).
	HTTPAddr string `yaml:"http_addr"`
	// MaxRequestBytes bounds one request's body, compressed and decompressed alike. Larger
	// requests are refused with 413 (HTTP) or ResourceExhausted (gRPC).
	MaxRequestBytes int64 `yaml:"max_request_bytes"`
	// QueueSize bounds the hand-off between the receivers and the pipeline, in requests. When
	// it is full, exporters are told to retry later.
	QueueSize int `yaml:"queue_size"`
	// AttemptWait is how long provider HTTP attempts wait for their LLM span before a call is
	// made from the attempts alone. The OpenTelemetry SDK exports every 5 s by default, so a
	// parent can come one batch after its children.
	AttemptWait time.Duration `yaml:"attempt_wait"`
	// MaxProviders and MaxModelsPerProvider cap the series tracked; the rest fold into "other"
	// so that hostile input cannot grow memory or metric cardinality.
	MaxProviders         int `yaml:"max_providers"`
	MaxModelsPerProvider int `yaml:"max_models_per_provider"`
	// ProviderHosts adds host names (or host:port) of provider endpoints to the built-in list,
	// mapped to a provider name: a gateway, a self-hosted model, a test server.
	ProviderHosts map[string]string `yaml:"provider_hosts"`
	// FastPath decodes protobuf requests with the single-pass reader (ingest/wire) instead of
	// pdata; on by default. pdata stays the reference, and the way back if the reader is ever
	// suspected of disagreeing with it.
	FastPath bool `yaml:"fast_path"`
}

// DefaultConfig returns the defaults: the OTLP ports 4317 and 4318, 16 MiB requests, a queue of
// 1024 requests, a 6 s wait for LLM parents, 32 providers of 64 models each, the fast path.
func DefaultConfig() Config {
	return Config{
		GRPCAddr:             ":4317",
		HTTPAddr:             ":4318",
		MaxRequestBytes:      16 << 20,
		QueueSize:            1024,
		AttemptWait:          6 * time.Second,
		MaxProviders:         32,
		MaxModelsPerProvider: 64,
		FastPath:             true,
	}
}

// Validate reports every invalid field, each named by its path under "ingest".
func (c Config) Validate() error {
	var errs []error
	bad := func(field, msg string) { errs = append(errs, fmt.Errorf("ingest.%s: %s", field, msg)) }
	if c.GRPCAddr == "" && c.HTTPAddr == "" {
		bad("grpc_addr", "at least one of grpc_addr and http_addr must be set")
	}
	for _, a := range [...]struct{ field, addr string }{{"grpc_addr", c.GRPCAddr}, {"http_addr", c.HTTPAddr}} {
		if _, _, err := net.SplitHostPort(a.addr); a.addr != "" && err != nil {
			bad(a.field, fmt.Sprintf("%q is not host:port: %v", a.addr, err))
		}
	}
	if c.MaxRequestBytes < 1024 {
		bad("max_request_bytes", "must be at least 1024")
	}
	if c.QueueSize < 1 {
		bad("queue_size", "must be at least 1")
	}
	if c.AttemptWait <= 0 || c.AttemptWait > 5*time.Minute {
		bad("attempt_wait", "must be > 0 and at most 5m")
	}
	if c.MaxProviders < 1 {
		bad("max_providers", "must be at least 1")
	}
	if c.MaxModelsPerProvider < 1 {
		bad("max_models_per_provider", "must be at least 1")
	}
	for host, p := range c.ProviderHosts {
		if strings.TrimSpace(host) == "" || strings.TrimSpace(p) == "" {
			bad("provider_hosts", fmt.Sprintf("host %q and provider %q must both be set", host, p))
		}
	}
	return errors.Join(errs...)
}
