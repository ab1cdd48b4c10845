-- Cluster (issue 19): the cluster's lease, members and secret live in Postgres only
-- (migrations/postgres/00004_cluster.sql). The embedded SQLite store is a single node; this
-- version keeps the two dialects' versions in step.

-- +goose Up
SELECT 1;

-- +goose Down
SELECT 1;
