-- Tenancy: accounts, apps, private apps, installs, OAuth codes and tokens.
-- Same tables as sqlite/migrations/0001_tenancy.sql. Credentials are stored only as SHA-256
-- hex (`*_hash`). Times are milliseconds since the Unix epoch (UTC), as in SQLite, so both
-- backends compare and page the same way.

-- HubSpot's portal and app ids are six digits or more; starting there keeps ids realistic.
CREATE SEQUENCE account_ids START WITH 100001;
CREATE SEQUENCE app_ids START WITH 1000001;
CREATE SEQUENCE private_app_ids;
CREATE SEQUENCE object_ids;

CREATE TABLE accounts (
    account_id BIGINT PRIMARY KEY DEFAULT nextval('account_ids'),
    name       TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE apps (
    app_id             BIGINT PRIMARY KEY DEFAULT nextval('app_ids'),
    name               TEXT NOT NULL,
    developer_key_hash TEXT NOT NULL,
    client_id          TEXT NOT NULL,
    client_secret_hash TEXT NOT NULL,
    created_at         BIGINT NOT NULL,
    CONSTRAINT apps_developer_key_unique UNIQUE (developer_key_hash),
    CONSTRAINT apps_client_id_unique UNIQUE (client_id)
);

CREATE TABLE private_apps (
    account_id     BIGINT NOT NULL REFERENCES accounts (account_id),
    private_app_id BIGINT NOT NULL DEFAULT nextval('private_app_ids'),
    name           TEXT NOT NULL,
    token_hash     TEXT NOT NULL,
    scopes         TEXT NOT NULL, -- JSON array of strings
    created_at     BIGINT NOT NULL,
    PRIMARY KEY (account_id, private_app_id),
    CONSTRAINT private_apps_token_unique UNIQUE (token_hash)
);

CREATE TABLE installs (
    account_id BIGINT NOT NULL REFERENCES accounts (account_id),
    app_id     BIGINT NOT NULL REFERENCES apps (app_id),
    scopes     TEXT NOT NULL,
    user_email TEXT NOT NULL,
    user_id    BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (account_id, app_id)
);

-- Tokens are looked up by hash before the account is known, so their key is the hash.
CREATE TABLE refresh_tokens (
    token_hash TEXT PRIMARY KEY,
    account_id BIGINT NOT NULL,
    app_id     BIGINT NOT NULL,
    scopes     TEXT NOT NULL,
    user_email TEXT NOT NULL,
    user_id    BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT,
    FOREIGN KEY (account_id, app_id) REFERENCES installs (account_id, app_id)
);

CREATE TABLE access_tokens (
    token_hash         TEXT PRIMARY KEY,
    account_id         BIGINT NOT NULL,
    app_id             BIGINT NOT NULL,
    refresh_token_hash TEXT NOT NULL REFERENCES refresh_tokens (token_hash),
    scopes             TEXT NOT NULL,
    user_email         TEXT NOT NULL,
    user_id            BIGINT NOT NULL,
    expires_at         BIGINT NOT NULL,
    created_at         BIGINT NOT NULL
);
CREATE INDEX access_tokens_by_refresh ON access_tokens (refresh_token_hash);

CREATE TABLE authorization_codes (
    code_hash    TEXT PRIMARY KEY,
    account_id   BIGINT NOT NULL REFERENCES accounts (account_id),
    app_id       BIGINT NOT NULL REFERENCES apps (app_id),
    scopes       TEXT NOT NULL,
    user_email   TEXT NOT NULL,
    user_id      BIGINT NOT NULL,
    redirect_uri TEXT NOT NULL,
    expires_at   BIGINT NOT NULL,
    redeemed_at  BIGINT,
    created_at   BIGINT NOT NULL
);

-- CRM records; see the SQLite migration. `properties` and `history` are JSONB here.
CREATE TABLE crm_objects (
    account_id     BIGINT NOT NULL REFERENCES accounts (account_id),
    object_id      BIGINT NOT NULL,
    object_type_id TEXT NOT NULL,
    properties     JSONB NOT NULL,
    history        JSONB,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    archived_at    BIGINT,
    PRIMARY KEY (account_id, object_id)
);
CREATE INDEX crm_objects_by_type ON crm_objects (account_id, object_type_id, object_id);

CREATE TABLE crm_unique_values (
    account_id     BIGINT NOT NULL,
    object_type_id TEXT NOT NULL,
    property       TEXT NOT NULL,
    value          TEXT NOT NULL,
    object_id      BIGINT NOT NULL,
    PRIMARY KEY (account_id, object_type_id, property, value),
    -- Deferred: values are claimed first (ON CONFLICT DO NOTHING decides the race between two
    -- creates of one value), then the record rows are written in the same transaction.
    FOREIGN KEY (account_id, object_id) REFERENCES crm_objects (account_id, object_id)
        DEFERRABLE INITIALLY DEFERRED
);
CREATE INDEX crm_unique_values_by_object ON crm_unique_values (account_id, object_id);

CREATE TABLE visitor_tokens (
    account_id BIGINT NOT NULL,
    utk        TEXT NOT NULL,
    object_id  BIGINT NOT NULL,
    linked_at  BIGINT NOT NULL,
    PRIMARY KEY (account_id, utk),
    FOREIGN KEY (account_id, object_id) REFERENCES crm_objects (account_id, object_id)
);
