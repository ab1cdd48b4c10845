// Package sqlite is the embedded incident store: one SQLite file (pure Go, modernc.org/sqlite),
// the default when no Postgres DSN is configured. It behaves exactly like store/postgres, which
// the shared contract suite (store/storetest) checks.
//
// The store uses one connection in WAL mode, and every transaction begins IMMEDIATE (takes the
// write lock at once), so writers are serialised: the locks that Postgres takes row by row are
// implied. Several processes may share the file thanks to busy_timeout, but the embedded store is
// meant for one daemon; migrations in particular are not guarded against two processes starting
// on a new file at the same instant.
//
// Times are stored as INTEGER unix nanoseconds at microsecond precision, sets and documents as
// JSON text (see migrations/sqlite).
package sqlite
