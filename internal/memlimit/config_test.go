package memlimit

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		modify func(*Config)
		want   []string
	}{
		{"defaults", func(*Config) {}, nil},
		{"none", func(c *Config) { c.Limit = None }, nil},
		{"smallest", func(c *Config) { c.Limit = MinLimit }, nil},
		{"soft limit at the ceiling", func(c *Config) { c.SoftLimit = 1 }, nil},
		{"too small", func(c *Config) { c.Limit = 1 << 20 }, []string{"memory.limit: must be at least 64MiB, or none, not 1MiB"}},
		{"negative", func(c *Config) { c.Limit = -5 }, []string{"memory.limit: must not be negative"}},
		{"soft zero", func(c *Config) { c.SoftLimit = 0 }, []string{"memory.soft_limit: must be in (0, 1], not 0"}},
		{"soft above", func(c *Config) { c.SoftLimit = 1.1 }, []string{"memory.soft_limit: must be in (0, 1], not 1.1"}},
		{"shed above", func(c *Config) { c.ShedAbove = 2 }, []string{"memory.shed_above: must be in (0, 1], not 2"}},
		{"no gap", func(c *Config) { c.ShedBelow = c.ShedAbove }, []string{"memory.shed_below: must be > 0 and below memory.shed_above"}},
		{"every error", func(c *Config) { *c = Config{Limit: 1} }, []string{
			"memory.limit:", "memory.soft_limit:", "memory.shed_above:", "memory.shed_below:",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := DefaultConfig()
			tt.modify(&cfg)
			err := cfg.Validate()
			if tt.want == nil {
				require.NoError(t, err)
				return
			}
			for _, want := range tt.want {
				require.ErrorContains(t, err, want)
			}
		})
	}
}
