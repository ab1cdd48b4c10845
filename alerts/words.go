package alerts

import (
	"fmt"
	"strings"
	"time"
)

// The words every target's messages share (Slack, Alertmanager, webhooks), so that they say the
// same thing the same way.

// Duration shows d to the second below an hour, to the minute below a day, then to the hour:
// "45s", "6m 30s", "2h 5m", "1d 3h".
func Duration(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(max(d, 0).Round(time.Second)/time.Second))
	case d < time.Hour && d%time.Minute >= time.Second:
		return fmt.Sprintf("%dm %ds", int(d/time.Minute), int(d%time.Minute/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d/time.Minute))
	case d < 24*time.Hour:
		return fmt.Sprintf("%dh %dm", int(d/time.Hour), int(d%time.Hour/time.Minute))
	default:
		return fmt.Sprintf("%dd %dh", int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour))
	}
}

// Failures names what a detector's observed rate counts: "errors", "truncated", "429s",
// "slow calls", else "failures".
func Failures(detector string) string {
	switch {
	case strings.HasPrefix(detector, "error_rate"):
		return "errors"
	case detector == "truncation":
		return "truncated"
	case detector == "rate_limit":
		return "429s"
	case detector == "ttft" || detector == "latency":
		return "slow calls"
	default:
		return "failures"
	}
}
