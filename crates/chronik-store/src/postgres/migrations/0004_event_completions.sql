-- Custom behavioral event completions; see sqlite/migrations/0004_event_completions.sql for the
-- row design. `seq` comes from a sequence (insert order across nodes, the tie-breaker of the
-- time order). There is no primary key beyond the unique occurrence-id index: every key leads
-- with the account id, so the table can be distributed by account.
CREATE TABLE event_completions (
    account_id     BIGINT NOT NULL,
    seq            BIGINT GENERATED ALWAYS AS IDENTITY,
    definition_id  BIGINT NOT NULL,
    object_type_id TEXT NOT NULL,
    object_id      BIGINT NOT NULL,
    occurred_at    BIGINT NOT NULL,
    uuid           BYTEA NOT NULL,
    properties     JSONB NOT NULL
);
CREATE UNIQUE INDEX event_completions_by_uuid
    ON event_completions (account_id, uuid, definition_id);
CREATE INDEX event_completions_by_record
    ON event_completions (account_id, object_type_id, object_id, occurred_at, seq);
CREATE INDEX event_completions_by_type
    ON event_completions (account_id, definition_id, occurred_at, seq);

-- Completions stored per account and calendar month, split over shards so that concurrent
-- sends to one account do not queue on one row lock; see postgres/custom_events.rs for how the
-- quota stays exact.
CREATE TABLE event_usage (
    account_id  BIGINT NOT NULL,
    month       BIGINT NOT NULL,
    shard       SMALLINT NOT NULL,
    completions BIGINT NOT NULL,
    PRIMARY KEY (account_id, month, shard)
);
