-- Custom behavioral events; see sqlite/migrations/0003_custom_events.sql. Definitions are JSONB
-- here. The quota (live definitions per account) is counted under a row lock on the account,
-- so concurrent creates on any number of nodes are serialized per account.

CREATE SEQUENCE event_definition_ids START WITH 1001;

CREATE TABLE event_definitions (
    account_id    BIGINT NOT NULL REFERENCES accounts (account_id),
    name          TEXT NOT NULL,
    definition_id BIGINT NOT NULL DEFAULT nextval('event_definition_ids'),
    definition    JSONB NOT NULL,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    deleted_at    BIGINT,
    PRIMARY KEY (account_id, name)
);
