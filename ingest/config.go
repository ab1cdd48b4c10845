package ingest

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/outagewatch/outagewatch/ingest/receiver"
	"github.com/outagewatch/outagewatch/internal/bearer"
	"github.com/outagewatch/outagewatch/internal/tlsfiles"
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
	// Admission bounds the request bytes both receivers hold at once (issue 20).
	Admission AdmissionConfig `yaml:"admission"`
	// GRPC bounds the OTLP gRPC server's streams and connections.
	GRPC GRPCConfig `yaml:"grpc"`

	// TLS serves both receivers over TLS (and mTLS with a client CA), certificates read again
	// when their files change; Auth requires a named bearer token on every OTLP request.
	TLS  tlsfiles.Config `yaml:"tls"`
	Auth bearer.Config   `yaml:"auth"`
	// Security is what the daemon built from TLS and Auth for the receivers; not configuration.
	Security Security `yaml:"-"`
}

// AdmissionConfig is the receivers' byte budget: request bodies, compressed and decompressed,
// are charged before they are allocated; a request over budget waits in line (at most MaxWaiters
// of them, at most MaxWait each) and is then refused with HTTP 429 + Retry-After or gRPC
// ResourceExhausted + RetryInfo, which exporters retry.
type AdmissionConfig struct {
	// MaxBytesInFlight is the budget, in bytes; at least three times max_request_bytes, what a
	// gzip request of the largest size may hold while it is inflated.
	MaxBytesInFlight int64 `yaml:"max_bytes_in_flight"`
	// MaxWaiters bounds the requests waiting for budget.
	MaxWaiters int `yaml:"max_waiters"`
	// MaxWait bounds how long one waits.
	MaxWait time.Duration `yaml:"max_wait"`
	// Shed, when set (by main; not configurable), refuses new requests at once with the same
	// retryable status while it returns true: a process memory ceiling.
	Shed func() bool `yaml:"-"`
}

// GRPCConfig are the OTLP gRPC server's limits. The cluster's services share that server: a
// connection closed at MaxConnectionAge ends their streams gracefully (GOAWAY), and they
// reconnect.
type GRPCConfig struct {
	// MaxConcurrentStreams bounds the streams (requests in flight) of one connection.
	MaxConcurrentStreams uint32 `yaml:"max_concurrent_streams"`
	// KeepaliveMinTime is the shortest interval between a client's pings; a client pinging more
	// often is disconnected. Pings without a stream are permitted.
	KeepaliveMinTime time.Duration `yaml:"keepalive_min_time"`
	// MaxConnectionIdle closes a connection without streams for this long.
	MaxConnectionIdle time.Duration `yaml:"max_connection_idle"`
	// MaxConnectionAge closes a connection after this long (±10%), so that long-lived exporters
	// rebalance across replicas; MaxConnectionAgeGrace is what its streams get to finish.
	MaxConnectionAge      time.Duration `yaml:"max_connection_age"`
	MaxConnectionAgeGrace time.Duration `yaml:"max_connection_age_grace"`
}

// DefaultConfig returns the defaults: the OTLP ports 4317 and 4318, 16 MiB requests, a queue of
// 1024 requests, a 6 s wait for LLM parents, 32 providers of 64 models each, the fast path; a
// budget of 128 MiB of request bytes in flight (a quarter of a 512 MiB container) with at most
// 128 requests waiting up to 2 s; and at most 256 streams per gRPC connection, pings at most
// every 10 s, idle connections closed after 5 m, any connection after 10 m with 30 s of grace.
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
		Admission: AdmissionConfig{
			MaxBytesInFlight: 128 << 20,
			MaxWaiters:       128,
			MaxWait:          2 * time.Second,
		},
		GRPC: GRPCConfig{
			MaxConcurrentStreams:  256,
			KeepaliveMinTime:      10 * time.Second,
			MaxConnectionIdle:     5 * time.Minute,
			MaxConnectionAge:      10 * time.Minute,
			MaxConnectionAgeGrace: 30 * time.Second,
		},
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
	errs = append(errs, c.Admission.validate(c.MaxRequestBytes)...)
	errs = append(errs, c.GRPC.validate()...)
	if err := c.TLS.Validate(); err != nil {
		bad("tls", err.Error())
	}
	if err := c.Auth.Validate(); err != nil {
		bad("auth", err.Error())
	}
	for host, p := range c.ProviderHosts {
		if strings.TrimSpace(host) == "" || strings.TrimSpace(p) == "" {
			bad("provider_hosts", fmt.Sprintf("host %q and provider %q must both be set", host, p))
		}
	}
	return errors.Join(errs...)
}

func (a AdmissionConfig) validate(maxRequestBytes int64) []error {
	var errs []error
	bad := func(field, msg string) { errs = append(errs, fmt.Errorf("ingest.admission.%s: %s", field, msg)) }
	if a.MaxBytesInFlight < 3*maxRequestBytes {
		bad("max_bytes_in_flight", fmt.Sprintf("must be at least 3 × max_request_bytes (%d): a gzip request holds its body compressed and decompressed", 3*maxRequestBytes))
	}
	if a.MaxWaiters < 0 {
		bad("max_waiters", "must not be negative")
	}
	if a.MaxWait < 0 || a.MaxWait > time.Minute {
		bad("max_wait", "must be between 0 and 1m")
	}
	return errs
}

func (g GRPCConfig) validate() []error {
	var errs []error
	bad := func(field, msg string) { errs = append(errs, fmt.Errorf("ingest.grpc.%s: %s", field, msg)) }
	if g.MaxConcurrentStreams < 1 {
		bad("max_concurrent_streams", "must be at least 1")
	}
	for _, d := range [...]struct {
		field string
		v     time.Duration
	}{
		{"keepalive_min_time", g.KeepaliveMinTime}, {"max_connection_idle", g.MaxConnectionIdle},
		{"max_connection_age", g.MaxConnectionAge}, {"max_connection_age_grace", g.MaxConnectionAgeGrace},
	} {
		if d.v < 0 {
			bad(d.field, "must not be negative (0 means no limit)")
		}
	}
	return errs
}

// Security is how the receivers secure their transport and check callers.
type Security struct {
	// TLS, when not nil, serves both receivers over TLS with this configuration.
	TLS *tls.Config
	// Auth, when not nil, requires a valid bearer token on every OTLP request; OpenMethods are
	// gRPC methods (full names or prefixes, such as "/grpc.health.v1.Health/") that need none.
	Auth        receiver.Authenticator
	OpenMethods []string
}
