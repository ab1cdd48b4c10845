// Command router is an example LLM router that never lets its users notice a provider outage.
// It sends every request to a primary model while outagewatch says the model is usable, and to a
// fallback model otherwise; its own provider calls, recorded as OpenTelemetry spans and exported
// to outagewatch, are how outagewatch learns that the primary is down.
//
// It runs self-contained: two fake providers on local ports (anthropic claude-sonnet-4-5 and
// openai gpt-4o) stand in for the real APIs, and the primary is made to fail with 529 overloaded
// on a schedule. With an outagewatch daemon running (go run ./cmd/watcher), the default run lasts
// 80 s: the primary fails from 10 s to 25 s, the router fails over to the fallback as soon as
// outagewatch says the primary is down, and fails back to it once outagewatch says it is usable
// again (about 30 s after the recovery: the hold-down and the probes' reverse test):
//
//	go run ./examples/router
//	go run ./examples/router -fail-primary-after 20s -fail-primary-for 20s -duration 2m
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
