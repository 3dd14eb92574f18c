-- Custom behavioral event completions, designed for volume: one narrow row each, no foreign
-- keys (the writer resolves every record in the same job before it inserts), times as epoch
-- milliseconds, the occurrence id in its compact form (16 bytes for a UUID, see
-- occurrence_id.rs) and the properties as one JSON object. `seq` is the rowid: insert order,
-- the tie-breaker of the time order that keeps cursor paging stable.
CREATE TABLE event_completions (
    seq            INTEGER PRIMARY KEY,
    account_id     INTEGER NOT NULL,
    definition_id  INTEGER NOT NULL,
    object_type_id TEXT NOT NULL,
    object_id      INTEGER NOT NULL,
    occurred_at    INTEGER NOT NULL,
    uuid           BLOB NOT NULL,
    properties     TEXT NOT NULL -- JSON object of string values
);
-- The idempotency rule (a uuid once per event type) and lookups by occurrence id; uuid leads
-- so that `id=` filters without an event type use it too.
CREATE UNIQUE INDEX event_completions_by_uuid
    ON event_completions (account_id, uuid, definition_id);
-- A record's timeline, and an event type's completions, in time order (SQLite appends the
-- rowid `seq` to every index entry, so both end in (occurred_at, seq)).
CREATE INDEX event_completions_by_record
    ON event_completions (account_id, object_type_id, object_id, occurred_at);
CREATE INDEX event_completions_by_type
    ON event_completions (account_id, definition_id, occurred_at);

-- Completions stored per account and calendar month (UTC, `yyyymm`), for the monthly quota.
CREATE TABLE event_usage (
    account_id  INTEGER NOT NULL,
    month       INTEGER NOT NULL,
    completions INTEGER NOT NULL,
    PRIMARY KEY (account_id, month)
) WITHOUT ROWID;
