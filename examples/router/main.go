// Command router is an example LLM router that never lets its users notice a provider outage.
// It sends every request to a primary model while outagewatch says the model is usable, and to a
// fallback model otherwise; its own provider calls, recorded as OpenTelemetry spans and exported
// to outagewatch, are how outagewatch learns that the primary is down.
//
// It runs self-contained: two fake providers on local ports (anthropic claude-sonnet-4-5 and
// openai gpt-4o) stand in for the real APIs, and the primary is made to fail with 529 overloaded
// on a schedule. With an outagewatch daemon running (go run ./cmd/watcher):
//
//	go run ./examples/router -fail-primary-after 20s -fail-primary-for 20s -duration 90s
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	switch {
	case errors.Is(err, flag.ErrHelp):
	case err != nil:
		fmt.Fprintln(os.Stderr, "router:", err)
		os.Exit(1)
	}
}
