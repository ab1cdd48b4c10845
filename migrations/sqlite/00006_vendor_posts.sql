-- The provider's own post of an incident on its status page (issue 25): the status page's ID,
-- name and URL of the post linked to the incident ('' until one is), when the provider posted it
-- and when it resolved it there. Times are INTEGER unix nanoseconds (UTC), as in 00001; NULL
-- until known.

-- +goose Up
ALTER TABLE incidents ADD COLUMN vendor_incident_id TEXT NOT NULL DEFAULT '';
ALTER TABLE incidents ADD COLUMN vendor_incident_name TEXT NOT NULL DEFAULT '';
ALTER TABLE incidents ADD COLUMN vendor_incident_url TEXT NOT NULL DEFAULT '';
ALTER TABLE incidents ADD COLUMN vendor_posted_at INTEGER;
ALTER TABLE incidents ADD COLUMN vendor_resolved_at INTEGER;

-- +goose Down
ALTER TABLE incidents DROP COLUMN vendor_resolved_at;
ALTER TABLE incidents DROP COLUMN vendor_posted_at;
ALTER TABLE incidents DROP COLUMN vendor_incident_url;
ALTER TABLE incidents DROP COLUMN vendor_incident_name;
ALTER TABLE incidents DROP COLUMN vendor_incident_id;
