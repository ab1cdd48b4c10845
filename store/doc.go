// Package store is the home of outagewatch's persistence. Its own code opens the configured
// database (Open, OpenInBackground) and hands it to the daemon through Lazy, which answers
// ErrNotOpen until the database could be opened.
//
// What lives where:
//
//   - store/postgres: the production store on PostgreSQL (pgx), for one or several replicas
//     sharing a database. Row locks and FOR UPDATE SKIP LOCKED make concurrent writers and alert
//     workers safe.
//   - store/sqlite: the embedded default store, a single file under the data directory (pure Go
//     SQLite, WAL mode, one writer connection). Meant for one process per file.
//   - store/storetest: the contract suite both stores pass, so that they behave identically.
//   - store/internal/rules: the merge and validation rules both stores share.
//   - migrations/ (outside this tree): the schema of each dialect, applied by Open with goose.
//
// Both stores implement incidents.Store and incidents.Query, keep the detectors' baselines,
// serve the alert outbox (Claim, Complete, Retry, Fail, SetThread, Backlog) to the Slack worker,
// and keep the silences (AddSilence, Silences, DeleteSilence) that mute its notifications.
// Stores never log per row and never call Slack; they return errors instead of logging them.
package store
