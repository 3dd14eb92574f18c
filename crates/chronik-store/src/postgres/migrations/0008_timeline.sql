-- App timeline event types (v3 event templates, v4 app event types), their events, and the
-- CRM properties events stamp; see crate::timeline for the model and postgres/timeline.rs for
-- how each invariant is kept across nodes.

-- Types belong to an app, not an account: their ids are unique in the database, and the
-- per-app quota is counted under a row lock on the app.
CREATE SEQUENCE timeline_event_type_ids START WITH 1001;

CREATE TABLE timeline_event_types (
    event_type_id BIGINT PRIMARY KEY DEFAULT nextval('timeline_event_type_ids'),
    app_id        BIGINT NOT NULL REFERENCES apps (app_id),
    definition    JSONB NOT NULL,  -- EventTypeDefinition
    version       BIGINT NOT NULL, -- 1, then one more per change
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    deleted_at    BIGINT           -- the row stays: its events stay readable by id
);
CREATE INDEX timeline_event_types_by_app ON timeline_event_types (app_id, event_type_id);

-- The time order's tie-breaker, across nodes.
CREATE SEQUENCE timeline_event_seq;

-- One row per event; the primary key keeps the first event of an id. `object_id` is NULL (and
-- `utk` set) while the event waits for a contact to get its utk. No foreign key to the type:
-- every write locks its types' rows (FOR SHARE) in its own transaction instead, which costs
-- one statement per call rather than one check per row.
CREATE TABLE timeline_events (
    account_id     BIGINT NOT NULL,
    event_type_id  BIGINT NOT NULL,
    event_id       TEXT NOT NULL,
    object_type_id TEXT NOT NULL,
    object_id      BIGINT,
    utk            TEXT,
    occurred_at_ms BIGINT NOT NULL,
    seq            BIGINT NOT NULL DEFAULT nextval('timeline_event_seq'),
    body           JSONB NOT NULL, -- EventBody
    created_at     BIGINT NOT NULL,
    PRIMARY KEY (account_id, event_type_id, event_id),
    CHECK ((object_id IS NULL) = (utk IS NOT NULL))
);
-- A record's timeline, newest first (read backwards).
CREATE INDEX timeline_events_by_record
    ON timeline_events (account_id, object_type_id, object_id, occurred_at_ms, seq)
    WHERE object_id IS NOT NULL;
-- The waiting events of a utk.
CREATE INDEX timeline_events_waiting
    ON timeline_events (account_id, utk, occurred_at_ms, seq)
    WHERE object_id IS NULL;

-- Per record and CRM property, the newest event that stamped it: replaced only by a newer one
-- (occurred_at_ms, then seq), in the statement that writes it.
CREATE TABLE timeline_stamps (
    account_id     BIGINT NOT NULL,
    object_type_id TEXT NOT NULL,
    object_id      BIGINT NOT NULL,
    property       TEXT NOT NULL,
    occurred_at_ms BIGINT NOT NULL,
    seq            BIGINT NOT NULL,
    event_type_id  BIGINT NOT NULL,
    event_id       TEXT NOT NULL,
    value          TEXT NOT NULL,
    PRIMARY KEY (account_id, object_type_id, object_id, property)
);
