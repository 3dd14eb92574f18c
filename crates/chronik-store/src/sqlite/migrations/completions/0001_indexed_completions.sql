-- The indexed completions (completion_log.rs): the columns of the staged rows, copied by the
-- merger in `seq` order. `seq` is the writer's insert order, the tie-breaker of the time order
-- that keeps cursor paging stable.
CREATE TABLE event_completions (
    seq            INTEGER PRIMARY KEY,
    account_id     INTEGER NOT NULL,
    definition_id  INTEGER NOT NULL,
    object_type_id TEXT NOT NULL,
    object_id      INTEGER NOT NULL,
    occurred_at    INTEGER NOT NULL,
    uuid           BLOB NOT NULL,
    properties     TEXT NOT NULL, -- JSON object of string values
    property_bits  INTEGER        -- property_bits.rs; NULL: unknown, always read
);
-- The idempotency rule (an occurrence id once per event type) and lookups by occurrence id;
-- uuid leads so that `id=` filters without an event type use it too.
CREATE UNIQUE INDEX event_completions_by_uuid
    ON event_completions (account_id, uuid, definition_id);
-- A record's timeline in time order (SQLite appends the rowid `seq` to every index entry).
CREATE INDEX event_completions_by_record
    ON event_completions (account_id, object_type_id, object_id, occurred_at);
-- An event type's completions in time order, with the property bits after the whole
-- (occurred_at, seq) order: a query filtering by property values checks them in the index.
CREATE INDEX event_completions_by_type
    ON event_completions (account_id, definition_id, occurred_at, seq, property_bits);

-- How far the merger got: the last staged `seq` copied and the last purge applied.
CREATE TABLE merge_state (
    merged_through INTEGER NOT NULL,
    purged_through INTEGER NOT NULL
);
INSERT INTO merge_state (merged_through, purged_through) VALUES (0, 0);
