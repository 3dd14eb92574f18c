-- App object types: defined by an app's project, seen by every account the app is installed
-- in. `number` is the <n> of the objectTypeId 4-<n>, unique across the database; records of
-- the type are crm_objects rows with object_type_id '4-<n>'.
CREATE TABLE app_object_types (
    number     INTEGER PRIMARY KEY,
    app_id     INTEGER NOT NULL REFERENCES apps (app_id),
    uid        TEXT NOT NULL,
    name       TEXT NOT NULL,  -- upper snake case, also inside `definition`
    definition TEXT NOT NULL,  -- JSON AppObjectDefinition
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    CONSTRAINT app_object_types_uid_unique UNIQUE (app_id, uid),
    CONSTRAINT app_object_types_name_unique UNIQUE (app_id, name)
);
