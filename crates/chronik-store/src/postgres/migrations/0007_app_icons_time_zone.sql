-- An account's time zone and an app's icon.
-- Same as sqlite/migrations/0009_app_icons_time_zone.sql.
--
-- time_zone: the IANA name (`Europe/Berlin`) dates render in for the account (SPEC.md: settable
-- by the operator, default UTC, reported by /account-info/v3/details). The server checks the
-- name before it is stored; existing accounts get UTC, as before.
ALTER TABLE accounts ADD COLUMN time_zone TEXT NOT NULL DEFAULT 'UTC';

-- An app's icon (seed: timeline events v3, custom icon), one per app: the upload as sent
-- (`original`, of `content_type` image/png or image/svg+xml) and the 30×30 PNG that cards show
-- (`rendition`), which is what the icon route serves. A table of its own keeps the up to 5 MB
-- original out of every read of `apps`.
CREATE TABLE app_icons (
    app_id       BIGINT PRIMARY KEY REFERENCES apps (app_id),
    content_type TEXT NOT NULL,
    original     BYTEA NOT NULL,
    rendition    BYTEA NOT NULL,
    updated_at   BIGINT NOT NULL
);
