-- Cluster (issue 19): replicas that share this database form one cluster. One of them leads,
-- under a lease with a term that grows at every change of leader (cluster_lease); every
-- replica records itself (cluster_members); the replicas authenticate to each other with a
-- secret the first of them creates (cluster_secret). Every write the leader makes calls
-- outagewatch_fence(term) first, in its transaction: the database refuses the write of a term
-- that no longer holds the lease (a deposed or paused leader), and the row lock it takes makes
-- a takeover wait for the writes under way.

-- +goose Up
CREATE TABLE cluster_lease (
    id         smallint    PRIMARY KEY CHECK (id = 1),
    term       bigint      NOT NULL DEFAULT 0,
    holder     text        NOT NULL DEFAULT '',
    advertise  text        NOT NULL DEFAULT '',
    expires_at timestamptz NOT NULL DEFAULT '-infinity'
);
INSERT INTO cluster_lease (id) VALUES (1);

CREATE TABLE cluster_members (
    id         text        PRIMARY KEY,
    advertise  text        NOT NULL,
    started_at timestamptz NOT NULL,
    seen_at    timestamptz NOT NULL
);

CREATE TABLE cluster_secret (
    id     smallint PRIMARY KEY CHECK (id = 1),
    secret text     NOT NULL
);

-- +goose StatementBegin
CREATE FUNCTION outagewatch_fence(t bigint) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM cluster_lease WHERE id = 1 AND term = t AND expires_at > clock_timestamp() FOR SHARE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'outagewatch fence: term % no longer holds the lease', t USING ERRCODE = 'OWFEN';
    END IF;
END
$$;
-- +goose StatementEnd

-- +goose Down
DROP FUNCTION outagewatch_fence(bigint);
DROP TABLE cluster_secret;
DROP TABLE cluster_members;
DROP TABLE cluster_lease;
