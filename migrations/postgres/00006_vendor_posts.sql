-- The provider's own post of an incident on its status page (issue 25): the status page's ID,
-- name and URL of the post linked to the incident ('' until one is), when the provider posted it
-- and when it resolved it there (NULL until known).

-- +goose Up
ALTER TABLE incidents
    ADD COLUMN vendor_incident_id   text        NOT NULL DEFAULT '',
    ADD COLUMN vendor_incident_name text        NOT NULL DEFAULT '',
    ADD COLUMN vendor_incident_url  text        NOT NULL DEFAULT '',
    ADD COLUMN vendor_posted_at     timestamptz,
    ADD COLUMN vendor_resolved_at   timestamptz;

-- +goose Down
ALTER TABLE incidents
    DROP COLUMN vendor_resolved_at,
    DROP COLUMN vendor_posted_at,
    DROP COLUMN vendor_incident_url,
    DROP COLUMN vendor_incident_name,
    DROP COLUMN vendor_incident_id;
