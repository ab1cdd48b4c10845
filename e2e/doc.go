// Package e2e holds the end-to-end test: the real watcher and loadgen binaries, a real Postgres
// (or the embedded SQLite default) and a Slack stand-in, through an outage and its recovery.
package e2e
