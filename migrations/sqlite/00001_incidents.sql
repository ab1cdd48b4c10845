-- The incident store: incidents, their timelines, the alert outbox and the detectors' baselines.
-- Times are INTEGER unix nanoseconds (UTC), written at microsecond precision like Postgres's
-- timestamptz, so that both stores compare and return the same instants. Sets and documents are
-- JSON text. Tables are STRICT, so a value of the wrong type is an error, not a surprise.

-- +goose Up
CREATE TABLE incidents (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    provider        TEXT    NOT NULL,
    group_key       TEXT    NOT NULL DEFAULT '',
    -- Sorted sets of model names and detector names, as JSON arrays.
    models          TEXT    NOT NULL DEFAULT '[]',
    detectors       TEXT    NOT NULL DEFAULT '[]',
    severity        TEXT    NOT NULL DEFAULT '',
    state           TEXT    NOT NULL DEFAULT 'open'
                            CHECK (state IN ('open', 'acknowledged', 'resolved')),
    opened_at       INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    acknowledged_at INTEGER,
    acknowledged_by TEXT    NOT NULL DEFAULT '',
    resolved_at     INTEGER,
    resolved_by     TEXT    NOT NULL DEFAULT '',
    peak            TEXT    NOT NULL DEFAULT '{}',
    slack_channel   TEXT    NOT NULL DEFAULT '',
    slack_ts        TEXT    NOT NULL DEFAULT ''
) STRICT;

-- One active incident per provider and group: the store inserts with ON CONFLICT on this index
-- and attaches to the winner.
CREATE UNIQUE INDEX incidents_active_key ON incidents (provider, group_key)
    WHERE state IN ('open', 'acknowledged');
CREATE INDEX incidents_opened_at ON incidents (opened_at);

CREATE TABLE incident_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id INTEGER NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    at          INTEGER NOT NULL,
    kind        TEXT    NOT NULL,
    provider    TEXT    NOT NULL DEFAULT '',
    model       TEXT    NOT NULL DEFAULT '',
    from_state  TEXT    NOT NULL DEFAULT '',
    to_state    TEXT    NOT NULL DEFAULT '',
    severity    TEXT    NOT NULL DEFAULT '',
    evidence    TEXT    NOT NULL DEFAULT '{}',
    actor       TEXT    NOT NULL DEFAULT ''
) STRICT;
-- The timeline of an incident, and the duplicate check of Apply.
CREATE INDEX incident_events_incident ON incident_events (incident_id, id);

CREATE TABLE alert_outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id     INTEGER NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    event_id        INTEGER NOT NULL REFERENCES incident_events (id) ON DELETE CASCADE,
    kind            TEXT    NOT NULL,
    -- inc:<incident>:open for the thread root (one per incident, ever), else
    -- inc:<incident>:<kind>:<event>.
    dedup_key       TEXT    NOT NULL UNIQUE,
    created_at      INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    -- A worker's lease: nobody else claims the row until then.
    claimed_until   INTEGER,
    delivered_at    INTEGER,
    last_error      TEXT    NOT NULL DEFAULT '',
    permanent       INTEGER NOT NULL DEFAULT 0 CHECK (permanent IN (0, 1))
) STRICT;
-- Pending rows: the head (lowest id) of each incident's queue, and the backlog.
CREATE INDEX alert_outbox_pending ON alert_outbox (incident_id, id)
    WHERE delivered_at IS NULL AND permanent = 0;
-- Due rows.
CREATE INDEX alert_outbox_due ON alert_outbox (next_attempt_at)
    WHERE delivered_at IS NULL AND permanent = 0;

CREATE TABLE baselines (
    name       TEXT    PRIMARY KEY,
    data       BLOB    NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;

-- +goose Down
DROP TABLE baselines;
DROP TABLE alert_outbox;
DROP TABLE incident_events;
DROP TABLE incidents;
