-- Custom behavioral events: the account's event definitions. `definition` is JSON of the domain
-- type `EventDefinition`, checked by chronik-domain before it gets here. A deleted definition
-- keeps its row (`deleted_at` set), so its name stays taken for ever: the primary key is the
-- rule that a name is never reused.

-- Definition ids are unique across the database; starting at 1000 looks like HubSpot's.
INSERT INTO id_sequences (name, last_value) VALUES ('event_definition', 1000);

CREATE TABLE event_definitions (
    account_id    INTEGER NOT NULL REFERENCES accounts (account_id),
    name          TEXT NOT NULL,
    definition_id INTEGER NOT NULL,
    definition    TEXT NOT NULL, -- JSON EventDefinition
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    deleted_at    INTEGER,
    PRIMARY KEY (account_id, name)
) WITHOUT ROWID;
