-- Local incidents (issue 18): an incident of one caller's calls to a provider, while the
-- provider's other callers stay at their baseline. caller is the caller's text form
-- ("service:batch-jobs", "endpoint:eu.api.example.com"), '' for a provider incident.

-- +goose Up
ALTER TABLE incidents ADD COLUMN caller TEXT NOT NULL DEFAULT '';
-- One active incident per provider, group and caller: a provider incident and the local
-- incidents of its callers are under way side by side.
DROP INDEX incidents_active_key;
CREATE UNIQUE INDEX incidents_active_key ON incidents (provider, group_key, caller)
    WHERE state IN ('open', 'acknowledged');

-- +goose Down
-- Fails while a local incident and its provider's incident are both active: resolve one first.
DROP INDEX incidents_active_key;
CREATE UNIQUE INDEX incidents_active_key ON incidents (provider, group_key)
    WHERE state IN ('open', 'acknowledged');
ALTER TABLE incidents DROP COLUMN caller;
