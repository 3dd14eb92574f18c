-- App timeline events (crate::timeline): the event types apps define (v3 event templates, v4
-- app event types: one model), the events installed apps add to records, and per record and
-- CRM property the newest event that stamped it.

-- Event type ids are unique across the database, like HubSpot's eventTemplateId (seven
-- digits in its examples). `timeline_seq` numbers events in insert order: ties of
-- `occurred_at` are broken by it, and it is never reused (not after a reset either).
INSERT INTO id_sequences (name, last_value) VALUES
    ('timeline_event_type', 1000000), ('timeline_seq', 0);

-- Types belong to apps, not accounts. A deleted type keeps its row (`deleted_at` set): its
-- events stay readable by id, and its id is never reused. `version` starts at 1 and every
-- change adds one.
CREATE TABLE timeline_event_types (
    event_type_id INTEGER PRIMARY KEY,
    app_id        INTEGER NOT NULL REFERENCES apps (app_id),
    definition    TEXT NOT NULL, -- JSON EventTypeDefinition
    version       INTEGER NOT NULL,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    deleted_at    INTEGER
);
-- An app's live types: the list, and the count the per-app quota is checked against.
CREATE INDEX timeline_event_types_live_by_app
    ON timeline_event_types (app_id, event_type_id) WHERE deleted_at IS NULL;

-- One row per event. `seq` is the rowid, so inserts append to the table. `object_id` is
-- NULL while the event waits for a contact to get its utk; `utk` is set only then.
CREATE TABLE timeline_events (
    seq            INTEGER PRIMARY KEY,
    account_id     INTEGER NOT NULL REFERENCES accounts (account_id),
    event_type_id  INTEGER NOT NULL REFERENCES timeline_event_types (event_type_id),
    event_id       TEXT NOT NULL,
    object_type_id TEXT NOT NULL,
    object_id      INTEGER,
    utk            TEXT,
    occurred_at    INTEGER NOT NULL,
    body           TEXT NOT NULL, -- JSON EventBody
    created_at     INTEGER NOT NULL,
    CONSTRAINT timeline_events_id_unique UNIQUE (account_id, event_type_id, event_id)
);
-- A record's timeline, newest first: (occurred_at, seq) descending from the cursor. The type
-- is in the index so that a type filter and the deleted types are judged before a row is read.
CREATE INDEX timeline_events_by_record
    ON timeline_events (account_id, object_type_id, object_id, occurred_at, seq, event_type_id);
-- The waiting events of a utk (a contact's timeline shows those of its linked utks).
CREATE INDEX timeline_events_waiting
    ON timeline_events (account_id, utk, occurred_at, seq, event_type_id)
    WHERE object_id IS NULL;

-- A contact's linked utks, for its timeline's waiting events (visitor_tokens is keyed by utk).
CREATE INDEX visitor_tokens_by_contact ON visitor_tokens (account_id, object_id);

-- Per record and CRM property, the newest event that stamped it, by (occurred_at, seq), and
-- its value. The upsert replaces a row only when its event is newer, and only then does the
-- CRM property change: the newest event wins whatever the arrival order.
CREATE TABLE timeline_stamps (
    account_id     INTEGER NOT NULL,
    object_type_id TEXT NOT NULL,
    object_id      INTEGER NOT NULL,
    property       TEXT NOT NULL,
    occurred_at    INTEGER NOT NULL,
    seq            INTEGER NOT NULL,
    event_type_id  INTEGER NOT NULL,
    event_id       TEXT NOT NULL,
    value          TEXT NOT NULL,
    PRIMARY KEY (account_id, object_type_id, object_id, property)
) WITHOUT ROWID;
