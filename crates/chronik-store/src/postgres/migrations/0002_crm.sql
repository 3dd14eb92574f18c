-- CRM definitions; see sqlite/migrations/0002_crm.sql. Definitions are JSONB here.

CREATE SEQUENCE object_type_ids START WITH 1001;
CREATE SEQUENCE association_ids START WITH 1001;

CREATE TABLE crm_properties (
    account_id     BIGINT NOT NULL REFERENCES accounts (account_id),
    object_type_id TEXT NOT NULL,
    name           TEXT NOT NULL,
    definition     JSONB NOT NULL,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    archived_at    BIGINT,
    PRIMARY KEY (account_id, object_type_id, name)
);

CREATE TABLE crm_schemas (
    account_id     BIGINT NOT NULL REFERENCES accounts (account_id),
    object_type_id TEXT NOT NULL,
    name           TEXT NOT NULL,
    definition     JSONB NOT NULL,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    archived_at    BIGINT,
    PRIMARY KEY (account_id, object_type_id),
    CONSTRAINT crm_schemas_name_unique UNIQUE (account_id, name)
);

CREATE TABLE crm_schema_associations (
    account_id     BIGINT NOT NULL,
    association_id BIGINT NOT NULL,
    from_type_id   TEXT NOT NULL,
    to_type_id     TEXT NOT NULL,
    name           TEXT,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    PRIMARY KEY (account_id, association_id),
    FOREIGN KEY (account_id, from_type_id) REFERENCES crm_schemas (account_id, object_type_id)
);
CREATE INDEX crm_schema_associations_by_type
    ON crm_schema_associations (account_id, from_type_id, association_id);
