-- Targets besides Slack (issue 24): Alertmanager instances and webhooks. Each destination
-- (alert_targets, registered by the daemon from its configuration) gets its own delivery of
-- every outbox row written while it is registered (alert_deliveries), with its own attempts,
-- lease and outcome, so that one target down holds nothing back for Slack or the others. The
-- outbox row's own delivery columns stay Slack's.

-- +goose Up
CREATE TABLE alert_targets (
    name    text        PRIMARY KEY,
    -- When the daemon last registered it: one not registered for an hour is dropped.
    seen_at timestamptz NOT NULL
);

CREATE TABLE alert_deliveries (
    id              bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    target          text        NOT NULL REFERENCES alert_targets (name) ON DELETE CASCADE,
    outbox_id       bigint      NOT NULL REFERENCES alert_outbox (id) ON DELETE CASCADE,
    -- The outbox row's, copied so that the head of each incident's queue is found by index.
    incident_id     bigint      NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    created_at      timestamptz NOT NULL,
    attempts        integer     NOT NULL DEFAULT 0,
    claims          integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL,
    -- A worker's lease: nobody else claims the delivery until then.
    claimed_until   timestamptz,
    delivered_at    timestamptz,
    last_error      text        NOT NULL DEFAULT '',
    permanent       boolean     NOT NULL DEFAULT false,
    UNIQUE (target, outbox_id)
);
-- Pending deliveries of a target: the head (lowest outbox row) of each incident's queue, and
-- the backlog.
CREATE INDEX alert_deliveries_pending ON alert_deliveries (target, incident_id, outbox_id)
    WHERE delivered_at IS NULL AND NOT permanent;
-- Due deliveries of a target.
CREATE INDEX alert_deliveries_due ON alert_deliveries (target, next_attempt_at)
    WHERE delivered_at IS NULL AND NOT permanent;

-- +goose Down
DROP TABLE alert_deliveries;
DROP TABLE alert_targets;
