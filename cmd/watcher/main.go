// Command watcher is the outagewatch daemon: it receives OTLP traces, recognises the LLM calls in
// them, and serves what it learns on its API port.
//
// Exit codes: 0 after a clean shutdown (or -h, -config.check); 1 when a part failed, at start
// or while running, or a shutdown step failed; 2 when the configuration or the command line is
// invalid; 3 when a second SIGINT or SIGTERM cut the shutdown short.
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
	ctx, cancel := context.WithCancel(context.Background())
	signals := make(chan os.Signal, 2)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-signals
		cancel() // the first signal starts the ordered shutdown
		<-signals
		fmt.Fprintln(os.Stderr, "watcher: second signal, exiting now")
		os.Exit(exitForced)
	}()
	// SIGHUP reloads the configuration (systemd's ExecReload, kill -HUP), as Prometheus does.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, nil, hup)
	os.Exit(exitCode(err))
}

const (
	exitFailed = 1
	exitConfig = 2
	exitForced = 3
)

// exitCode maps run's error to the exit code, printing it unless the daemon's log has it.
func exitCode(err error) int {
	var cfgErr configError
	var logged loggedError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &logged):
		return exitFailed
	case errors.As(err, &cfgErr):
		fmt.Fprintln(os.Stderr, "watcher:", err)
		return exitConfig
	default:
		fmt.Fprintln(os.Stderr, "watcher:", err)
		return exitFailed
	}
}
