// Package watcherproc runs a built watcher binary (cmd/watcher) as a separate process for the
// bench commands (cmd/ingestbench, cmd/hostilebench): on free loopback ports, with a config file
// and data directory of the caller's choosing and an environment cleaned of the OUTAGEWATCH_*
// variables. It reads the bound addresses from the watcher's JSON log, waits for /readyz, keeps
// the tail of its output for error messages, reads its resident set from /proc, and stops it.
//
// It is for commands, not tests: it takes no testing.TB and returns errors (internal/watchertest
// is the test-side counterpart). It must not import any other outagewatch package; it talks to
// the watcher only through its command line, environment, log and HTTP API.
package watcherproc
