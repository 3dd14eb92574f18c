-- Tenancy: accounts, apps, private apps, installs, OAuth codes and tokens.
-- Credentials are stored only as SHA-256 hex (`*_hash`); the plain values are shown once.
-- Times are milliseconds since the Unix epoch (UTC), the same in both backends.

-- Counters for ids that are unique across the database (portalId, appId, objectId, ...).
-- Only the single writer thread touches it, so read-increment-write is race free here;
-- PostgreSQL uses real sequences.
CREATE TABLE id_sequences (
    name       TEXT PRIMARY KEY,
    last_value INTEGER NOT NULL
) WITHOUT ROWID;
-- HubSpot's portal and app ids are six digits or more; starting there keeps ids realistic.
INSERT INTO id_sequences (name, last_value) VALUES
    ('account', 100000), ('app', 1000000), ('private_app', 0), ('object', 0);

CREATE TABLE accounts (
    account_id INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE apps (
    app_id             INTEGER PRIMARY KEY,
    name               TEXT NOT NULL,
    developer_key_hash TEXT NOT NULL,
    client_id          TEXT NOT NULL,
    client_secret_hash TEXT NOT NULL,
    created_at         INTEGER NOT NULL,
    CONSTRAINT apps_developer_key_unique UNIQUE (developer_key_hash),
    CONSTRAINT apps_client_id_unique UNIQUE (client_id)
);

CREATE TABLE private_apps (
    account_id     INTEGER NOT NULL REFERENCES accounts (account_id),
    private_app_id INTEGER NOT NULL,
    name           TEXT NOT NULL,
    token_hash     TEXT NOT NULL,
    scopes         TEXT NOT NULL, -- JSON array of strings
    created_at     INTEGER NOT NULL,
    PRIMARY KEY (account_id, private_app_id),
    CONSTRAINT private_apps_token_unique UNIQUE (token_hash)
) WITHOUT ROWID;

CREATE TABLE installs (
    account_id INTEGER NOT NULL REFERENCES accounts (account_id),
    app_id     INTEGER NOT NULL REFERENCES apps (app_id),
    scopes     TEXT NOT NULL,
    user_email TEXT NOT NULL,
    user_id    INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (account_id, app_id)
) WITHOUT ROWID;

-- Tokens are looked up by hash before the account is known, so their key is the hash.
CREATE TABLE refresh_tokens (
    token_hash TEXT PRIMARY KEY,
    account_id INTEGER NOT NULL,
    app_id     INTEGER NOT NULL,
    scopes     TEXT NOT NULL,
    user_email TEXT NOT NULL,
    user_id    INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER,
    FOREIGN KEY (account_id, app_id) REFERENCES installs (account_id, app_id)
) WITHOUT ROWID;

CREATE TABLE access_tokens (
    token_hash         TEXT PRIMARY KEY,
    account_id         INTEGER NOT NULL,
    app_id             INTEGER NOT NULL,
    refresh_token_hash TEXT NOT NULL REFERENCES refresh_tokens (token_hash),
    scopes             TEXT NOT NULL,
    user_email         TEXT NOT NULL,
    user_id            INTEGER NOT NULL,
    expires_at         INTEGER NOT NULL,
    created_at         INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX access_tokens_by_refresh ON access_tokens (refresh_token_hash);

CREATE TABLE authorization_codes (
    code_hash    TEXT PRIMARY KEY,
    account_id   INTEGER NOT NULL REFERENCES accounts (account_id),
    app_id       INTEGER NOT NULL REFERENCES apps (app_id),
    scopes       TEXT NOT NULL,
    user_email   TEXT NOT NULL,
    user_id      INTEGER NOT NULL,
    redirect_uri TEXT NOT NULL,
    expires_at   INTEGER NOT NULL,
    redeemed_at  INTEGER,
    created_at   INTEGER NOT NULL
) WITHOUT ROWID;

-- CRM records of every object type. `properties` holds the values callers set (stored form).
-- `history` is NULL while a record was never updated, which means "each stored property has
-- one entry, at created_at"; the first update materializes it as a JSON object
-- {property: [[value, timestamp_ms], ...]}, newest first. Keeping it NULL makes the bulk
-- create path write nothing beyond the record itself.
CREATE TABLE crm_objects (
    account_id     INTEGER NOT NULL REFERENCES accounts (account_id),
    object_id      INTEGER NOT NULL,
    object_type_id TEXT NOT NULL, -- HubSpot's objectTypeId: 0-1 contacts, 0-2 companies, 2-n custom
    properties     TEXT NOT NULL, -- JSON object of string values
    history        TEXT,          -- JSON, see above; NULL until the first update
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    archived_at    INTEGER,
    PRIMARY KEY (account_id, object_id)
) WITHOUT ROWID;
-- Lists page through one type by ascending id.
CREATE INDEX crm_objects_by_type ON crm_objects (account_id, object_type_id, object_id);

-- Unique values of live records (a contact's email is property `email` of type `0-1`), folded
-- (trimmed, lower-cased) so that comparison is case-insensitive. The primary key is the
-- uniqueness rule; archiving a record deletes its rows, which frees the values.
CREATE TABLE crm_unique_values (
    account_id     INTEGER NOT NULL,
    object_type_id TEXT NOT NULL,
    property       TEXT NOT NULL,
    value          TEXT NOT NULL,
    object_id      INTEGER NOT NULL,
    PRIMARY KEY (account_id, object_type_id, property, value),
    FOREIGN KEY (account_id, object_id) REFERENCES crm_objects (account_id, object_id)
) WITHOUT ROWID;
-- A record's own claims: replaced on update, deleted on archive (and checked by the foreign
-- key when a record row is deleted).
CREATE INDEX crm_unique_values_by_object ON crm_unique_values (account_id, object_id);

-- Visitor tokens (hubspotutk) linked to contacts.
CREATE TABLE visitor_tokens (
    account_id INTEGER NOT NULL,
    utk        TEXT NOT NULL,
    object_id  INTEGER NOT NULL,
    linked_at  INTEGER NOT NULL,
    PRIMARY KEY (account_id, utk),
    FOREIGN KEY (account_id, object_id) REFERENCES crm_objects (account_id, object_id)
) WITHOUT ROWID;
