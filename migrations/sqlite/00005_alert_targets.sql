-- Targets besides Slack (issue 24): Alertmanager instances and webhooks. Each destination
-- (alert_targets, registered by the daemon from its configuration) gets its own delivery of
-- every outbox row written while it is registered (alert_deliveries), with its own attempts,
-- lease and outcome, so that one target down holds nothing back for Slack or the others. The
-- outbox row's own delivery columns stay Slack's. Times are INTEGER unix nanoseconds (UTC), as
-- in 00001.

-- +goose Up
CREATE TABLE alert_targets (
    name    TEXT    PRIMARY KEY,
    -- When the daemon last registered it: one not registered for an hour is dropped.
    seen_at INTEGER NOT NULL
) STRICT;

CREATE TABLE alert_deliveries (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    target          TEXT    NOT NULL REFERENCES alert_targets (name) ON DELETE CASCADE,
    outbox_id       INTEGER NOT NULL REFERENCES alert_outbox (id) ON DELETE CASCADE,
    -- The outbox row's, copied so that the head of each incident's queue is found by index.
    incident_id     INTEGER NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    created_at      INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    claims          INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    -- A worker's lease: nobody else claims the delivery until then.
    claimed_until   INTEGER,
    delivered_at    INTEGER,
    last_error      TEXT    NOT NULL DEFAULT '',
    permanent       INTEGER NOT NULL DEFAULT 0 CHECK (permanent IN (0, 1)),
    UNIQUE (target, outbox_id)
) STRICT;
-- Pending deliveries of a target: the head (lowest outbox row) of each incident's queue, and
-- the backlog.
CREATE INDEX alert_deliveries_pending ON alert_deliveries (target, incident_id, outbox_id)
    WHERE delivered_at IS NULL AND permanent = 0;
-- Due deliveries of a target.
CREATE INDEX alert_deliveries_due ON alert_deliveries (target, next_attempt_at)
    WHERE delivered_at IS NULL AND permanent = 0;

-- +goose Down
DROP TABLE alert_deliveries;
DROP TABLE alert_targets;
