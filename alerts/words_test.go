package alerts_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/outagewatch/outagewatch/alerts"
)

func TestWords(t *testing.T) {
	t.Parallel()
	for in, want := range map[time.Duration]string{
		0: "0s", -time.Second: "0s", 42 * time.Second: "42s", 5 * time.Minute: "5m", 90 * time.Second: "1m 30s",
		83*time.Minute + 20*time.Second: "1h 23m", 50 * time.Hour: "2d 2h",
	} {
		require.Equal(t, want, alerts.Duration(in), in)
	}
	for in, want := range map[string]string{
		"error_rate": "errors", "error_rate_down": "errors", "truncation": "truncated", "rate_limit": "429s",
		"ttft": "slow calls", "latency": "slow calls", "silence": "failures",
	} {
		require.Equal(t, want, alerts.Failures(in), in)
	}
}
