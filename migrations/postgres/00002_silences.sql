-- Silences (maintenance windows) and the outbox's claim count.

-- +goose Up
CREATE TABLE silences (
    id         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    provider   text        NOT NULL,
    -- '' silences every model of the provider.
    model      text        NOT NULL DEFAULT '',
    until      timestamptz NOT NULL,
    reason     text        NOT NULL DEFAULT '',
    created_by text        NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL
);
-- The active silences: until > now.
CREATE INDEX silences_until ON silences (until);

-- How often a row was handed out by Claim: above 1, a worker may have sent it before dying, and
-- the sender looks for the message before sending it again.
ALTER TABLE alert_outbox ADD COLUMN claims integer NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE alert_outbox DROP COLUMN claims;
DROP TABLE silences;
