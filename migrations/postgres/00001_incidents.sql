-- The incident store: incidents, their timelines, the alert outbox and the detectors' baselines.

-- +goose Up
CREATE TABLE incidents (
    id              bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    provider        text        NOT NULL,
    group_key       text        NOT NULL DEFAULT '',
    -- Sorted sets of model names and detector names.
    models          text[]      NOT NULL DEFAULT '{}',
    detectors       text[]      NOT NULL DEFAULT '{}',
    severity        text        NOT NULL DEFAULT '',
    state           text        NOT NULL DEFAULT 'open'
                                CHECK (state IN ('open', 'acknowledged', 'resolved')),
    opened_at       timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    acknowledged_at timestamptz,
    acknowledged_by text        NOT NULL DEFAULT '',
    resolved_at     timestamptz,
    resolved_by     text        NOT NULL DEFAULT '',
    peak            jsonb       NOT NULL DEFAULT '{}',
    slack_channel   text        NOT NULL DEFAULT '',
    slack_ts        text        NOT NULL DEFAULT ''
);

-- One active incident per provider and group, whichever replica opens it: the store inserts with
-- ON CONFLICT on this index and attaches to the winner.
CREATE UNIQUE INDEX incidents_active_key ON incidents (provider, group_key)
    WHERE state IN ('open', 'acknowledged');
CREATE INDEX incidents_opened_at ON incidents (opened_at);

CREATE TABLE incident_events (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    incident_id bigint      NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    at          timestamptz NOT NULL,
    kind        text        NOT NULL,
    provider    text        NOT NULL DEFAULT '',
    model       text        NOT NULL DEFAULT '',
    from_state  text        NOT NULL DEFAULT '',
    to_state    text        NOT NULL DEFAULT '',
    severity    text        NOT NULL DEFAULT '',
    evidence    jsonb       NOT NULL DEFAULT '{}',
    actor       text        NOT NULL DEFAULT ''
);
-- The timeline of an incident, and the duplicate check of Apply.
CREATE INDEX incident_events_incident ON incident_events (incident_id, id);

CREATE TABLE alert_outbox (
    id              bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    incident_id     bigint      NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    event_id        bigint      NOT NULL REFERENCES incident_events (id) ON DELETE CASCADE,
    kind            text        NOT NULL,
    -- inc:<incident>:open for the thread root (one per incident, ever), else
    -- inc:<incident>:<kind>:<event>.
    dedup_key       text        NOT NULL UNIQUE,
    created_at      timestamptz NOT NULL,
    attempts        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL,
    -- A worker's lease: nobody else claims the row until then.
    claimed_until   timestamptz,
    delivered_at    timestamptz,
    last_error      text        NOT NULL DEFAULT '',
    permanent       boolean     NOT NULL DEFAULT false
);
-- Pending rows: the head (lowest id) of each incident's queue, and the backlog.
CREATE INDEX alert_outbox_pending ON alert_outbox (incident_id, id)
    WHERE delivered_at IS NULL AND NOT permanent;
-- Due rows.
CREATE INDEX alert_outbox_due ON alert_outbox (next_attempt_at)
    WHERE delivered_at IS NULL AND NOT permanent;

CREATE TABLE baselines (
    name       text        PRIMARY KEY,
    data       bytea       NOT NULL,
    updated_at timestamptz NOT NULL
);

-- +goose Down
DROP TABLE baselines;
DROP TABLE alert_outbox;
DROP TABLE incident_events;
DROP TABLE incidents;
