// Package rules holds what store/postgres and store/sqlite must agree on, so that both stores
// behave identically: how a Change is validated and merged into a stored incident, the outbox
// dedup keys, the duplicate-event window, list limits and the precision of stored times.
//
// It does no I/O and knows no SQL.
package rules
