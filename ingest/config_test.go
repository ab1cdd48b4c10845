package ingest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestConfigValidateAdmissionAndGRPC(t *testing.T) {
	t.Parallel()
	require.NoError(t, DefaultConfig().Validate())
	tests := []struct {
		name   string
		modify func(*Config)
		want   string
	}{
		{"budget below 3 requests", func(c *Config) { c.Admission.MaxBytesInFlight = 3*c.MaxRequestBytes - 1 }, "ingest.admission.max_bytes_in_flight: must be at least 3 × max_request_bytes"},
		{"negative waiters", func(c *Config) { c.Admission.MaxWaiters = -1 }, "ingest.admission.max_waiters: must not be negative"},
		{"wait too long", func(c *Config) { c.Admission.MaxWait = 2 * time.Minute }, "ingest.admission.max_wait: must be between 0 and 1m"},
		{"no streams", func(c *Config) { c.GRPC.MaxConcurrentStreams = 0 }, "ingest.grpc.max_concurrent_streams: must be at least 1"},
		{"negative age", func(c *Config) { c.GRPC.MaxConnectionAge = -time.Second }, "ingest.grpc.max_connection_age: must not be negative"},
		{"negative grace", func(c *Config) { c.GRPC.MaxConnectionAgeGrace = -time.Second }, "ingest.grpc.max_connection_age_grace: must not be negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := DefaultConfig()
			tt.modify(&c)
			require.ErrorContains(t, c.Validate(), tt.want)
		})
	}
	c := DefaultConfig()
	c.Admission.MaxWaiters, c.Admission.MaxWait = 0, 0
	c.GRPC.MaxConnectionAge, c.GRPC.MaxConnectionIdle = 0, 0
	require.NoError(t, c.Validate(), "0 turns each limit off")
}
