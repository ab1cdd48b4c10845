-- Silences (maintenance windows) and the outbox's claim count. Times are INTEGER unix
-- nanoseconds (UTC), as in 00001.

-- +goose Up
CREATE TABLE silences (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    provider   TEXT    NOT NULL,
    -- '' silences every model of the provider.
    model      TEXT    NOT NULL DEFAULT '',
    until      INTEGER NOT NULL,
    reason     TEXT    NOT NULL DEFAULT '',
    created_by TEXT    NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL
) STRICT;
-- The active silences: until > now.
CREATE INDEX silences_until ON silences (until);

-- How often a row was handed out by Claim: above 1, a worker may have sent it before dying, and
-- the sender looks for the message before sending it again.
ALTER TABLE alert_outbox ADD COLUMN claims INTEGER NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE alert_outbox DROP COLUMN claims;
DROP TABLE silences;
