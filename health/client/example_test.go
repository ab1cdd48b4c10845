package client_test

import (
	"context"
	"log/slog"
	"os"
	"time"

	"github.com/outagewatch/outagewatch/health/client"
)

// A router follows outagewatch in the background and asks it on every request.
func ExampleClient() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	health, err := client.New("http://127.0.0.1:9317", client.Options{Logger: logger})
	if err != nil {
		logger.Error("bad outagewatch client options", "err", err)
		return
	}
	go func() { _ = health.Run(ctx) }()

	// Optional: wait a little for the first answer; until then every series is usable.
	select {
	case <-health.Ready():
	case <-time.After(2 * time.Second):
	}

	model := "claude-sonnet-4-5"
	if !health.Usable("anthropic", model) {
		model = "gpt-4o" // route to the fallback
	}
	_ = model
	if health.Staleness() > 5*time.Minute {
		logger.Warn("outagewatch answer is old") // decide whether to keep trusting it
	}
}
