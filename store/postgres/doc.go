// Package postgres is the production incident store on PostgreSQL, through a pgx connection
// pool. Several replicas may share one database: the partial unique index on active incidents,
// row locks (SELECT ... FOR UPDATE) and the unique outbox dedup keys keep them from opening an
// incident twice or queueing a notification twice, and Claim's FOR UPDATE SKIP LOCKED keeps two
// alert workers from sending the same row.
//
// Open applies the migrations of package migrations with goose, under a Postgres session
// advisory lock, so that replicas starting together migrate once. The package owns the schema's
// use, not its definition, and never talks to Slack: it only queues and hands out outbox rows.
package postgres
