// Package migrations holds the database schema of outagewatch as goose SQL migrations, one
// directory per dialect (postgres/, sqlite/), embedded into the binary so that the store applies
// them at start.
//
// The two directories describe the same schema and move in step: every version exists in both.
// This package holds SQL only; the store packages run it (under a lock on Postgres).
package migrations
