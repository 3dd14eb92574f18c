-- CRM definitions: the account's custom properties, custom object schemas and their
-- association definitions. Definitions are JSON of the domain types (`PropertyDefinition`,
-- `SchemaDefinition`), checked by chronik-domain before they get here; the columns beside the
-- JSON are the keys the database enforces. Archived definitions stay, so their names stay taken
-- (HubSpot refuses to reuse an archived property's or schema's name).

-- Custom object type ids are `2-<n>` and association ids plain numbers, both unique across the
-- database like HubSpot's. Starting at 1000 keeps them clear of HubSpot's built-in association
-- type ids and looks like the ids HubSpot hands out.
INSERT INTO id_sequences (name, last_value) VALUES ('object_type', 1000), ('association', 1000);

CREATE TABLE crm_properties (
    account_id     INTEGER NOT NULL REFERENCES accounts (account_id),
    object_type_id TEXT NOT NULL,
    name           TEXT NOT NULL,
    definition     TEXT NOT NULL, -- JSON PropertyDefinition
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    archived_at    INTEGER,
    PRIMARY KEY (account_id, object_type_id, name)
) WITHOUT ROWID;

CREATE TABLE crm_schemas (
    account_id     INTEGER NOT NULL REFERENCES accounts (account_id),
    object_type_id TEXT NOT NULL, -- 2-<n>
    name           TEXT NOT NULL, -- lower-case short name, also inside `definition`
    definition     TEXT NOT NULL, -- JSON SchemaDefinition
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    archived_at    INTEGER,
    PRIMARY KEY (account_id, object_type_id),
    CONSTRAINT crm_schemas_name_unique UNIQUE (account_id, name)
) WITHOUT ROWID;

CREATE TABLE crm_schema_associations (
    account_id     INTEGER NOT NULL,
    association_id INTEGER NOT NULL,
    from_type_id   TEXT NOT NULL,
    to_type_id     TEXT NOT NULL,
    name           TEXT,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    PRIMARY KEY (account_id, association_id),
    FOREIGN KEY (account_id, from_type_id) REFERENCES crm_schemas (account_id, object_type_id)
) WITHOUT ROWID;
CREATE INDEX crm_schema_associations_by_type
    ON crm_schema_associations (account_id, from_type_id, association_id);
