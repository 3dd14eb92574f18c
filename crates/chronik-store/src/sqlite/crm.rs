//! SQLite SQL for [`CrmStore`].
//!
//! Writes run on the single writer thread, so a record's update never races another write:
//! reading a row and writing it back in one job is serialized by construction. Uniqueness is
//! still the primary key of `crm_unique_values`: a claim is an `INSERT … ON CONFLICT DO
//! NOTHING` whose change count says whether it was won.
//!
//! `create_objects` is the bulk path (one million contacts in batches of 100): the whole call is
//! one writer job, the batch's ids come from one `UPDATE id_sequences … RETURNING`, every
//! statement is cached, and an input whose claim fails is cleaned up by deleting what it wrote
//! instead of wrapping each input in a savepoint.

use std::collections::BTreeMap;

use chronik_domain::crm::object::UniqueValue;
use chronik_domain::crm::object_type::ObjectTypeId;
use chronik_domain::crm::property::PropertyDefinition;
use chronik_domain::crm::schema::SchemaDefinition;
use chronik_domain::{AccountId, ObjectId};
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension, Row};

use super::app_objects::installed_app_object;
use super::{
    account_exists, db, from_json, from_ms, json_error, ms, next_id, type_id_column, SqliteStore,
};
use crate::crm::*;
use crate::history::{self, HistoryMap};
use crate::StoreError;

/// The outcome of one item of a batch: the outer `Result` of a batch method fails the call,
/// this one fails only the item.
pub(super) type Item<T> = Result<T, StoreError>;

const OBJECT_COLUMNS: &str =
    "object_id, object_type_id, properties, created_at, updated_at, archived_at";

fn to_json<T: serde::Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(StoreError::internal)
}

/// Reads [`OBJECT_COLUMNS`].
fn object_row(r: &Row<'_>) -> rusqlite::Result<StoredObject> {
    Ok(StoredObject {
        id: ObjectId(r.get(0)?),
        type_id: type_id_column(r, 1)?,
        properties: from_json(r, 2)?,
        created_at: from_ms(r.get(3)?),
        updated_at: from_ms(r.get(4)?),
        archived_at: r.get::<_, Option<i64>>(5)?.map(from_ms),
    })
}

/// Reads `definition, created_at, updated_at, archived_at`.
fn property_row(r: &Row<'_>) -> rusqlite::Result<StoredProperty> {
    Ok(StoredProperty {
        definition: from_json(r, 0)?,
        created_at: from_ms(r.get(1)?),
        updated_at: from_ms(r.get(2)?),
        archived_at: r.get::<_, Option<i64>>(3)?.map(from_ms),
    })
}

const SCHEMA_COLUMNS: &str = "object_type_id, definition, created_at, updated_at, archived_at";

/// Reads [`SCHEMA_COLUMNS`]; associations are added by [`with_associations`].
fn schema_row(r: &Row<'_>) -> rusqlite::Result<StoredSchema> {
    let type_id = type_id_column(r, 0)?;
    Ok(StoredSchema {
        id: type_id.number().to_string(),
        type_id,
        definition: from_json(r, 1)?,
        created_at: from_ms(r.get(2)?),
        updated_at: from_ms(r.get(3)?),
        archived_at: r.get::<_, Option<i64>>(4)?.map(from_ms),
        associations: Vec::new(),
    })
}

const ASSOCIATION_COLUMNS: &str =
    "association_id, from_type_id, to_type_id, name, created_at, updated_at";

fn association_row(r: &Row<'_>) -> rusqlite::Result<StoredAssociation> {
    Ok(StoredAssociation {
        id: r.get::<_, i64>(0)?.to_string(),
        from_type_id: type_id_column(r, 1)?,
        to_type_id: type_id_column(r, 2)?,
        name: r.get(3)?,
        created_at: from_ms(r.get(4)?),
        updated_at: from_ms(r.get(5)?),
    })
}

/// Fills in each schema's association definitions, oldest first.
fn with_associations(
    conn: &Connection,
    account: AccountId,
    mut schemas: Vec<StoredSchema>,
) -> Result<Vec<StoredSchema>, StoreError> {
    let mut stmt = conn
        .prepare_cached(&format!(
            "SELECT {ASSOCIATION_COLUMNS} FROM crm_schema_associations
             WHERE account_id = ?1 AND from_type_id = ?2 ORDER BY association_id"
        ))
        .map_err(db)?;
    for schema in &mut schemas {
        schema.associations = stmt
            .query_map(
                params![account.0, schema.type_id.to_string()],
                association_row,
            )
            .map_err(db)?
            .collect::<Result<_, _>>()
            .map_err(db)?;
    }
    Ok(schemas)
}

/// `NotFound` unless the account has a live schema for custom type `type_id`.
fn live_schema(conn: &Connection, account: AccountId, type_id: &str) -> Result<(), StoreError> {
    conn.prepare_cached(
        "SELECT 1 FROM crm_schemas
         WHERE account_id = ?1 AND object_type_id = ?2 AND archived_at IS NULL",
    )
    .map_err(db)?
    .query_row(params![account.0, type_id], |_| Ok(()))
    .map_err(db)
}

/// The record holding `claim`, if any.
fn holder(
    conn: &Connection,
    account: AccountId,
    type_id: &str,
    claim: &UniqueValue,
) -> Result<Option<i64>, StoreError> {
    conn.prepare_cached(
        "SELECT object_id FROM crm_unique_values
         WHERE account_id = ?1 AND object_type_id = ?2 AND property = ?3 AND value = ?4",
    )
    .map_err(db)?
    .query_row(
        params![account.0, type_id, claim.property, claim.value],
        |r| r.get(0),
    )
    .optional()
    .map_err(db)
}

/// Claims every value of `claims` for record `id`. When one is held by another record, the
/// claims this call made are deleted again and the item fails with `Conflict` naming the
/// holder. A value the record already holds counts as claimed (and is left alone).
fn claim_all(
    conn: &Connection,
    account: AccountId,
    type_id: &str,
    id: i64,
    claims: &[UniqueValue],
) -> Result<Item<()>, StoreError> {
    let mut insert = conn
        .prepare_cached(
            "INSERT INTO crm_unique_values (account_id, object_type_id, property, value, object_id)
             VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
        )
        .map_err(db)?;
    let mut made: Vec<&UniqueValue> = Vec::with_capacity(claims.len());
    for claim in claims {
        if insert
            .execute(params![account.0, type_id, claim.property, claim.value, id])
            .map_err(db)?
            == 1
        {
            made.push(claim);
            continue;
        }
        let held_by = holder(conn, account, type_id, claim)?;
        if held_by == Some(id) {
            continue;
        }
        let mut delete = conn
            .prepare_cached(
                "DELETE FROM crm_unique_values
                 WHERE account_id = ?1 AND object_type_id = ?2 AND property = ?3 AND value = ?4",
            )
            .map_err(db)?;
        for undo in made {
            delete
                .execute(params![account.0, type_id, undo.property, undo.value])
                .map_err(db)?;
        }
        return Ok(Err(StoreError::Conflict {
            constraint: "unique",
            existing_id: held_by.map(|h| h.to_string()),
        }));
    }
    Ok(Ok(()))
}

/// Turns a primary-key or unique violation into `Conflict` on `constraint`.
fn conflict_on(constraint: &'static str) -> impl Fn(rusqlite::Error) -> StoreError {
    move |e| match db(e) {
        StoreError::Conflict { existing_id, .. } => StoreError::Conflict {
            constraint,
            existing_id,
        },
        e => e,
    }
}

fn archived_flag(archived: bool) -> i64 {
    i64::from(archived)
}

#[async_trait::async_trait]
impl CrmStore for SqliteStore {
    #[tracing::instrument(skip_all, fields(account = %account))]
    async fn create_objects(
        &self,
        account: AccountId,
        object_type: ObjectTypeId,
        inputs: Vec<NewObject>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Result<StoredObject, StoreError>>, StoreError> {
        let type_id = object_type.to_string();
        self.write(move |conn| {
            account_exists(conn, account)?;
            if object_type.is_custom() {
                live_schema(conn, account, &type_id)?;
            }
            if let ObjectTypeId::App(n) = object_type {
                installed_app_object(conn, account, n)?;
            }
            if inputs.is_empty() {
                return Ok(Vec::new());
            }
            let count = i64::try_from(inputs.len()).map_err(StoreError::internal)?;
            let last: i64 = conn
                .prepare_cached(
                    "UPDATE id_sequences SET last_value = last_value + ?2 WHERE name = ?1
                     RETURNING last_value",
                )
                .map_err(db)?
                .query_row(params!["object", count], |r| r.get(0))
                .map_err(db)?;
            let mut insert = conn
                .prepare_cached(
                    "INSERT INTO crm_objects
                         (account_id, object_id, object_type_id, properties, created_at, updated_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
                )
                .map_err(db)?;
            let at = from_ms(ms(now));
            let mut results = Vec::with_capacity(inputs.len());
            for (id, input) in (last - count + 1..).zip(inputs) {
                insert
                    .execute(params![
                        account.0,
                        id,
                        type_id,
                        to_json(&input.properties)?,
                        ms(now)
                    ])
                    .map_err(db)?;
                match claim_all(conn, account, &type_id, id, &input.unique)? {
                    Ok(()) => results.push(Ok(StoredObject {
                        id: ObjectId(id),
                        type_id: object_type,
                        properties: input.properties,
                        created_at: at,
                        updated_at: at,
                        archived_at: None,
                    })),
                    Err(conflict) => {
                        // The record was written before its claims (the foreign key wants it
                        // first); nothing else refers to it yet.
                        conn.prepare_cached(
                            "DELETE FROM crm_objects WHERE account_id = ?1 AND object_id = ?2",
                        )
                        .map_err(db)?
                        .execute(params![account.0, id])
                        .map_err(db)?;
                        results.push(Err(conflict));
                    }
                }
            }
            Ok(results)
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(account = %account))]
    async fn update_objects(
        &self,
        account: AccountId,
        object_type: ObjectTypeId,
        updates: Vec<ObjectUpdate>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Result<StoredObject, StoreError>>, StoreError> {
        self.write(move |conn| {
            let mut results = Vec::with_capacity(updates.len());
            for update in updates {
                results.push(update_one(conn, account, object_type, update, now)?);
            }
            Ok(results)
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(account = %account))]
    async fn archive_objects(
        &self,
        account: AccountId,
        object_type: ObjectTypeId,
        ids: Vec<ObjectId>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Result<(), StoreError>>, StoreError> {
        let type_id = object_type.to_string();
        self.write(move |conn| {
            let mut archive = conn
                .prepare_cached(
                    "UPDATE crm_objects SET archived_at = ?4, updated_at = ?4
                     WHERE account_id = ?1 AND object_id = ?2 AND object_type_id = ?3
                       AND archived_at IS NULL",
                )
                .map_err(db)?;
            let mut release = conn
                .prepare_cached(
                    "DELETE FROM crm_unique_values WHERE account_id = ?1 AND object_id = ?2",
                )
                .map_err(db)?;
            let mut results = Vec::with_capacity(ids.len());
            for id in ids {
                if archive
                    .execute(params![account.0, id.0, type_id, ms(now)])
                    .map_err(db)?
                    == 0
                {
                    results.push(Err(StoreError::NotFound));
                    continue;
                }
                release.execute(params![account.0, id.0]).map_err(db)?;
                results.push(Ok(()));
            }
            Ok(results)
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(account = %account))]
    async fn get_objects(
        &self,
        account: AccountId,
        object_type: ObjectTypeId,
        ids: &[ObjectId],
        archived: bool,
    ) -> Result<Vec<StoredObject>, StoreError> {
        let type_id = object_type.to_string();
        // Nothing to look up (search asks for ids and unique values at once): skip the database.
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let (type_id, ids) = (type_id.to_owned(), ids.to_vec());
        self.read(move |conn| {
            let mut stmt = conn
                .prepare_cached(&format!(
                    "SELECT {OBJECT_COLUMNS} FROM crm_objects
                     WHERE account_id = ?1 AND object_id = ?2 AND object_type_id = ?3
                       AND (archived_at IS NOT NULL) = ?4"
                ))
                .map_err(db)?;
            let mut found = Vec::with_capacity(ids.len());
            for id in ids {
                if let Some(o) = stmt
                    .query_row(
                        params![account.0, id.0, type_id, archived_flag(archived)],
                        object_row,
                    )
                    .optional()
                    .map_err(db)?
                {
                    found.push(o);
                }
            }
            Ok(found)
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(account = %account))]
    async fn find_by_unique(
        &self,
        account: AccountId,
        object_type: ObjectTypeId,
        values: &[UniqueValue],
    ) -> Result<Vec<StoredObject>, StoreError> {
        let type_id = object_type.to_string();
        if values.is_empty() {
            return Ok(Vec::new());
        }
        let (type_id, values) = (type_id.to_owned(), values.to_vec());
        self.read(move |conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT o.object_id, o.object_type_id, o.properties, o.created_at,
                            o.updated_at, o.archived_at
                     FROM crm_unique_values u
                     JOIN crm_objects o ON o.account_id = u.account_id AND o.object_id = u.object_id
                     WHERE u.account_id = ?1 AND u.object_type_id = ?2 AND u.property = ?3
                       AND u.value = ?4 AND o.archived_at IS NULL",
                )
                .map_err(db)?;
            let mut found = Vec::with_capacity(values.len());
            for v in values {
                if let Some(o) = stmt
                    .query_row(params![account.0, type_id, v.property, v.value], object_row)
                    .optional()
                    .map_err(db)?
                {
                    found.push(o);
                }
            }
            Ok(found)
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(account = %account))]
    async fn list_objects(
        &self,
        account: AccountId,
        object_type: ObjectTypeId,
        after: Option<ObjectId>,
        limit: usize,
        archived: bool,
    ) -> Result<Vec<StoredObject>, StoreError> {
        let type_id = object_type.to_string();
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.read_scan(account, move |conn| {
            let mut stmt = conn
                .prepare_cached(&format!(
                    "SELECT {OBJECT_COLUMNS} FROM crm_objects
                     WHERE account_id = ?1 AND object_type_id = ?2 AND object_id > ?3
                       AND (archived_at IS NOT NULL) = ?4
                     ORDER BY object_id LIMIT ?5"
                ))
                .map_err(db)?;
            let after = after.map_or(i64::MIN, |a| a.0);
            let rows = stmt
                .query_map(
                    params![account.0, type_id, after, archived_flag(archived), limit],
                    object_row,
                )
                .map_err(db)?;
            rows.collect::<Result<Vec<_>, _>>().map_err(db)
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(account = %account))]
    async fn object_history(
        &self,
        account: AccountId,
        object_type: ObjectTypeId,
        id: ObjectId,
    ) -> Result<BTreeMap<String, Vec<HistoryEntry>>, StoreError> {
        let type_id = object_type.to_string();
        self.read(move |conn| {
            let (properties, stored, created_ms) = conn
                .prepare_cached(
                    "SELECT properties, history, created_at FROM crm_objects
                     WHERE account_id = ?1 AND object_id = ?2 AND object_type_id = ?3",
                )
                .map_err(db)?
                .query_row(params![account.0, id.0, type_id], history_row)
                .map_err(db)?;
            let map = stored.unwrap_or_else(|| history::derive(&properties, created_ms));
            Ok(history::entries(map))
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(account = %account))]
    async fn create_property(
        &self,
        account: AccountId,
        object_type: ObjectTypeId,
        definition: &PropertyDefinition,
        now: DateTime<Utc>,
    ) -> Result<StoredProperty, StoreError> {
        let type_id = object_type.to_string();
        let (type_id, definition) = (type_id.to_owned(), definition.clone());
        self.write(move |conn| {
            conn.prepare_cached(
                "INSERT INTO crm_properties
                     (account_id, object_type_id, name, definition, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
            )
            .map_err(db)?
            .execute(params![
                account.0,
                type_id,
                definition.name,
                to_json(&definition)?,
                ms(now)
            ])
            .map_err(conflict_on("property name"))?;
            Ok(StoredProperty {
                definition,
                created_at: from_ms(ms(now)),
                updated_at: from_ms(ms(now)),
                archived_at: None,
            })
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(account = %account))]
    async fn list_properties(
        &self,
        account: AccountId,
        object_type: ObjectTypeId,
        archived: bool,
    ) -> Result<Vec<StoredProperty>, StoreError> {
        let type_id = object_type.to_string();
        self.read(move |conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT definition, created_at, updated_at, archived_at FROM crm_properties
                     WHERE account_id = ?1 AND object_type_id = ?2
                       AND (archived_at IS NOT NULL) = ?3
                     ORDER BY name",
                )
                .map_err(db)?;
            let rows = stmt
                .query_map(
                    params![account.0, type_id, archived_flag(archived)],
                    property_row,
                )
                .map_err(db)?;
            rows.collect::<Result<Vec<_>, _>>().map_err(db)
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(account = %account))]
    async fn update_property(
        &self,
        account: AccountId,
        object_type: ObjectTypeId,
        definition: &PropertyDefinition,
        now: DateTime<Utc>,
    ) -> Result<StoredProperty, StoreError> {
        let type_id = object_type.to_string();
        let (type_id, definition) = (type_id.to_owned(), definition.clone());
        self.write(move |conn| {
            let created_ms: i64 = conn
                .prepare_cached(
                    "UPDATE crm_properties SET definition = ?4, updated_at = ?5
                     WHERE account_id = ?1 AND object_type_id = ?2 AND name = ?3
                       AND archived_at IS NULL
                     RETURNING created_at",
                )
                .map_err(db)?
                .query_row(
                    params![
                        account.0,
                        type_id,
                        definition.name,
                        to_json(&definition)?,
                        ms(now)
                    ],
                    |r| r.get(0),
                )
                .map_err(db)?;
            Ok(StoredProperty {
                definition,
                created_at: from_ms(created_ms),
                updated_at: from_ms(ms(now)),
                archived_at: None,
            })
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(account = %account))]
    async fn archive_property(
        &self,
        account: AccountId,
        object_type: ObjectTypeId,
        name: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let type_id = object_type.to_string();
        let (type_id, name) = (type_id.to_owned(), name.to_owned());
        self.write(move |conn| {
            let archived = conn
                .prepare_cached(
                    "UPDATE crm_properties SET archived_at = ?4, updated_at = ?4
                     WHERE account_id = ?1 AND object_type_id = ?2 AND name = ?3
                       AND archived_at IS NULL",
                )
                .map_err(db)?
                .execute(params![account.0, type_id, name, ms(now)])
                .map_err(db)?;
            if archived == 0 {
                return Err(StoreError::NotFound);
            }
            Ok(())
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(account = %account))]
    async fn create_schema(
        &self,
        account: AccountId,
        definition: &SchemaDefinition,
        properties: &[PropertyDefinition],
        now: DateTime<Utc>,
    ) -> Result<StoredSchema, StoreError> {
        let (definition, properties) = (definition.clone(), properties.to_vec());
        self.write(move |conn| {
            account_exists(conn, account)?;
            let n = next_id(conn, "object_type")?;
            let object_type = ObjectTypeId::Custom(n);
            let type_id = object_type.to_string();
            let inserted = conn
                .prepare_cached(
                    "INSERT INTO crm_schemas
                         (account_id, object_type_id, name, definition, created_at, updated_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
                )
                .map_err(db)?
                .execute(params![
                    account.0,
                    type_id,
                    definition.name,
                    to_json(&definition)?,
                    ms(now)
                ])
                .map_err(db);
            if let Err(StoreError::Conflict { .. }) = inserted {
                let existing: Option<String> = conn
                    .query_row(
                        "SELECT object_type_id FROM crm_schemas WHERE account_id = ?1 AND name = ?2",
                        params![account.0, definition.name],
                        |r| r.get(0),
                    )
                    .optional()
                    .map_err(db)?;
                return Err(StoreError::Conflict {
                    constraint: "schema name",
                    existing_id: existing,
                });
            }
            inserted?;
            let mut insert = conn
                .prepare_cached(
                    "INSERT INTO crm_properties
                         (account_id, object_type_id, name, definition, created_at, updated_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
                )
                .map_err(db)?;
            for p in &properties {
                insert
                    .execute(params![account.0, type_id, p.name, to_json(p)?, ms(now)])
                    .map_err(conflict_on("property name"))?;
            }
            let associations = definition
                .associated_objects
                .iter()
                .map(|to| insert_association(conn, account, object_type, *to, None, now))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(StoredSchema {
                id: object_type.number().to_string(),
                type_id: object_type,
                definition,
                created_at: from_ms(ms(now)),
                updated_at: from_ms(ms(now)),
                archived_at: None,
                associations,
            })
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(account = %account))]
    async fn list_schemas(
        &self,
        account: AccountId,
        archived: bool,
    ) -> Result<Vec<StoredSchema>, StoreError> {
        self.read(move |conn| {
            let schemas = conn
                .prepare_cached(&format!(
                    "SELECT {SCHEMA_COLUMNS} FROM crm_schemas
                     WHERE account_id = ?1 AND (archived_at IS NOT NULL) = ?2
                     ORDER BY created_at, CAST(substr(object_type_id, 3) AS INTEGER)"
                ))
                .map_err(db)?
                .query_map(params![account.0, archived_flag(archived)], schema_row)
                .map_err(db)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(db)?;
            with_associations(conn, account, schemas)
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(account = %account))]
    async fn get_schema(
        &self,
        account: AccountId,
        key: &SchemaKey,
    ) -> Result<StoredSchema, StoreError> {
        let key = key.clone();
        self.read(move |conn| {
            let (column, value) = match &key {
                SchemaKey::TypeId(t) => ("object_type_id", t.to_string()),
                SchemaKey::Name(n) => ("name", n.clone()),
            };
            let schema = conn
                .prepare_cached(&format!(
                    "SELECT {SCHEMA_COLUMNS} FROM crm_schemas
                     WHERE account_id = ?1 AND {column} = ?2 AND archived_at IS NULL"
                ))
                .map_err(db)?
                .query_row(params![account.0, value], schema_row)
                .map_err(db)?;
            let mut schemas = with_associations(conn, account, vec![schema])?;
            schemas.pop().ok_or(StoreError::NotFound)
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(account = %account))]
    async fn update_schema(
        &self,
        account: AccountId,
        object_type: ObjectTypeId,
        definition: &SchemaDefinition,
        now: DateTime<Utc>,
    ) -> Result<StoredSchema, StoreError> {
        let type_id = object_type.to_string();
        let (type_id, definition) = (type_id.to_owned(), definition.clone());
        self.write(move |conn| {
            // The stored name wins over the one in `definition`: a schema is never renamed.
            let schema = conn
                .prepare_cached(&format!(
                    "UPDATE crm_schemas SET definition = json_set(?3, '$.name', name), updated_at = ?4
                     WHERE account_id = ?1 AND object_type_id = ?2 AND archived_at IS NULL
                     RETURNING {SCHEMA_COLUMNS}"
                ))
                .map_err(db)?
                .query_row(
                    params![account.0, type_id, to_json(&definition)?, ms(now)],
                    schema_row,
                )
                .map_err(db)?;
            let mut schemas = with_associations(conn, account, vec![schema])?;
            schemas.pop().ok_or(StoreError::NotFound)
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(account = %account))]
    async fn archive_schema(
        &self,
        account: AccountId,
        object_type: ObjectTypeId,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let type_id = object_type.to_string();
        self.write(move |conn| {
            live_schema(conn, account, &type_id)?;
            let live_records: bool = conn
                .prepare_cached(
                    "SELECT EXISTS (SELECT 1 FROM crm_objects
                     WHERE account_id = ?1 AND object_type_id = ?2 AND archived_at IS NULL)",
                )
                .map_err(db)?
                .query_row(params![account.0, type_id], |r| r.get(0))
                .map_err(db)?;
            if live_records {
                return Err(StoreError::Conflict {
                    constraint: "live records",
                    existing_id: None,
                });
            }
            conn.prepare_cached(
                "UPDATE crm_schemas SET archived_at = ?3, updated_at = ?3
                 WHERE account_id = ?1 AND object_type_id = ?2",
            )
            .map_err(db)?
            .execute(params![account.0, type_id, ms(now)])
            .map_err(db)?;
            Ok(())
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(account = %account))]
    async fn create_schema_association(
        &self,
        account: AccountId,
        object_type: ObjectTypeId,
        to_type_id: ObjectTypeId,
        name: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<StoredAssociation, StoreError> {
        let name = name.map(str::to_owned);
        self.write(move |conn| {
            live_schema(conn, account, &object_type.to_string())?;
            insert_association(conn, account, object_type, to_type_id, name, now)
        })
        .await
    }
}

/// Adds one association definition of a schema.
fn insert_association(
    conn: &Connection,
    account: AccountId,
    from_type_id: ObjectTypeId,
    to_type_id: ObjectTypeId,
    name: Option<String>,
    now: DateTime<Utc>,
) -> Result<StoredAssociation, StoreError> {
    let id = next_id(conn, "association")?;
    conn.prepare_cached(
        "INSERT INTO crm_schema_associations
             (account_id, association_id, from_type_id, to_type_id, name, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
    )
    .map_err(db)?
    .execute(params![
        account.0,
        id,
        from_type_id.to_string(),
        to_type_id.to_string(),
        name,
        ms(now)
    ])
    .map_err(db)?;
    Ok(StoredAssociation {
        id: id.to_string(),
        from_type_id,
        to_type_id,
        name,
        created_at: from_ms(ms(now)),
        updated_at: from_ms(ms(now)),
    })
}

type HistoryRow = (BTreeMap<String, String>, Option<HistoryMap>, i64);

/// Reads `properties, history, created_at`.
fn history_row(r: &Row<'_>) -> rusqlite::Result<HistoryRow> {
    let stored: Option<String> = r.get(1)?;
    let history = stored
        .map(|raw| serde_json::from_str(&raw).map_err(|e| json_error(1, e)))
        .transpose()?;
    Ok((from_json(r, 0)?, history, r.get(2)?))
}

/// One item of `update_objects`: claims first (so a taken value fails the item before anything
/// changed), then the old claims of the same properties and the released ones are deleted, the
/// values and history are written back. Timeline stamps set properties through it too.
pub(super) fn update_one(
    conn: &Connection,
    account: AccountId,
    object_type: ObjectTypeId,
    update: ObjectUpdate,
    now: DateTime<Utc>,
) -> Result<Item<StoredObject>, StoreError> {
    let type_id = object_type.to_string();
    let type_id = type_id.as_str();
    let id = update.id.0;
    let Some((mut properties, stored, created_ms)) = conn
        .prepare_cached(
            "SELECT properties, history, created_at FROM crm_objects
             WHERE account_id = ?1 AND object_id = ?2 AND object_type_id = ?3
               AND archived_at IS NULL",
        )
        .map_err(db)?
        .query_row(params![account.0, id, type_id], history_row)
        .optional()
        .map_err(db)?
    else {
        return Ok(Err(StoreError::NotFound));
    };
    if let Err(conflict) = claim_all(conn, account, type_id, id, &update.unique)? {
        return Ok(Err(conflict));
    }
    let mut replaced = conn
        .prepare_cached(
            "DELETE FROM crm_unique_values
             WHERE account_id = ?1 AND object_id = ?2 AND object_type_id = ?3 AND property = ?4
               AND value <> ?5",
        )
        .map_err(db)?;
    for claim in &update.unique {
        replaced
            .execute(params![account.0, id, type_id, claim.property, claim.value])
            .map_err(db)?;
    }
    let mut released = conn
        .prepare_cached(
            "DELETE FROM crm_unique_values
             WHERE account_id = ?1 AND object_id = ?2 AND object_type_id = ?3 AND property = ?4",
        )
        .map_err(db)?;
    for property in &update.released {
        if update.unique.iter().all(|c| &c.property != property) {
            released
                .execute(params![account.0, id, type_id, property])
                .map_err(db)?;
        }
    }
    let history = history::apply(
        &mut properties,
        stored,
        created_ms,
        &update.set,
        &update.clear,
        ms(now),
    );
    let updated_ms = ms(now);
    conn.prepare_cached(
        "UPDATE crm_objects SET properties = ?3, history = ?4, updated_at = ?5
         WHERE account_id = ?1 AND object_id = ?2",
    )
    .map_err(db)?
    .execute(params![
        account.0,
        id,
        to_json(&properties)?,
        to_json(&history)?,
        updated_ms
    ])
    .map_err(db)?;
    Ok(Ok(StoredObject {
        id: update.id,
        type_id: object_type,
        properties,
        created_at: from_ms(created_ms),
        updated_at: from_ms(updated_ms),
        archived_at: None,
    }))
}
