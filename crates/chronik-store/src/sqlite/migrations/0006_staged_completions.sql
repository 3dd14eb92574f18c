-- Completions are staged here, appended without secondary indexes, and merged into the indexed
-- table of the completions file (completion_log.rs). The rows stored so far are the first
-- staged ones: the merger copies them over.
DROP INDEX event_completions_by_uuid;
DROP INDEX event_completions_by_record;
DROP INDEX event_completions_by_type;
ALTER TABLE event_completions RENAME TO event_completions_staged;

-- Completions to delete from the indexed table: an account's (`definition_id` NULL) or one
-- definition's, up to `through_seq`. The merger applies them in `purge_id` order; readers leave
-- out what the ones it has not applied yet cover.
CREATE TABLE event_purges (
    purge_id      INTEGER PRIMARY KEY,
    account_id    INTEGER NOT NULL,
    definition_id INTEGER,
    through_seq   INTEGER NOT NULL
);
CREATE INDEX event_purges_by_account ON event_purges (account_id, purge_id);
