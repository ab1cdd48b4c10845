// Package supervisor runs the daemon's long-lived parts under one supervisor and stops them in a
// fixed order. A part that ends with an error stops the daemon; shutdown runs named steps in
// the order they were added, each within its own budget, and a step that overruns is logged by
// name while the next steps still run.
//
// It knows nothing of what the parts are: cmd/watcher registers them. It must not call os.Exit
// or handle signals; the caller's context is the signal.
package supervisor
