//! PostgreSQL SQL for [`CrmStore`].
//!
//! Every batch method is one transaction with a fixed number of round trips, whatever the batch
//! size: rows go in and out as arrays through `UNNEST`. Uniqueness is the primary key of
//! `crm_unique_values`, claimed with `INSERT … ON CONFLICT DO NOTHING RETURNING`: of two
//! transactions claiming one value, the second waits for the first and then sees it taken.
//! Claims are inserted in (property, value) order, so two batches never wait on each other in a
//! cycle.
//!
//! `create_objects` (the bulk path) claims the batch's unique values first and inserts only the
//! records whose claims all succeeded; the foreign key from a claim to its record is deferred to
//! the commit for that reason. Without conflicts a batch costs five round trips: `BEGIN`, the
//! ids, the claims, the records, `COMMIT`.
//!
//! Updates lock their rows with `SELECT … FOR NO KEY UPDATE` (in id order) before reading them,
//! so a record's values and history are never written from a stale read.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chronik_domain::crm::object::UniqueValue;
use chronik_domain::crm::object_type::ObjectTypeId;
use chronik_domain::crm::property::PropertyDefinition;
use chronik_domain::crm::schema::SchemaDefinition;
use chronik_domain::{AccountId, ObjectId};
use chrono::{DateTime, Utc};
use sqlx::postgres::PgRow;
use sqlx::types::Json;
use sqlx::{PgConnection, Row};

use super::app_objects::installed_app_object;
use super::{account_exists, db, from_ms, ms, PostgresStore};
use crate::crm::*;
use crate::error::stored_type_id;
use crate::history::{self, HistoryMap};
use crate::StoreError;

/// The outcome of one item of a batch: the outer `Result` of a batch method fails the call,
/// this one fails only the item.
type Item<T> = Result<T, StoreError>;

fn to_json<T: serde::Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(StoreError::internal)
}

/// Reads `object_id, object_type_id, properties, created_at, updated_at, archived_at`.
fn object_row(r: &PgRow) -> Result<StoredObject, StoreError> {
    Ok(StoredObject {
        id: ObjectId(r.try_get(0).map_err(db)?),
        type_id: stored_type_id(r.try_get(1).map_err(db)?)?,
        properties: r
            .try_get::<Json<BTreeMap<String, String>>, _>(2)
            .map_err(db)?
            .0,
        created_at: from_ms(r.try_get(3).map_err(db)?),
        updated_at: from_ms(r.try_get(4).map_err(db)?),
        archived_at: r.try_get::<Option<i64>, _>(5).map_err(db)?.map(from_ms),
    })
}

/// Reads `definition, created_at, updated_at, archived_at`.
fn property_row(r: &PgRow) -> Result<StoredProperty, StoreError> {
    Ok(StoredProperty {
        definition: r.try_get::<Json<PropertyDefinition>, _>(0).map_err(db)?.0,
        created_at: from_ms(r.try_get(1).map_err(db)?),
        updated_at: from_ms(r.try_get(2).map_err(db)?),
        archived_at: r.try_get::<Option<i64>, _>(3).map_err(db)?.map(from_ms),
    })
}

/// Reads `object_type_id, definition, created_at, updated_at, archived_at`; associations are
/// added by [`with_associations`].
fn schema_row(r: &PgRow) -> Result<StoredSchema, StoreError> {
    let type_id = stored_type_id(r.try_get(0).map_err(db)?)?;
    Ok(StoredSchema {
        id: type_id.number().to_string(),
        type_id,
        definition: r.try_get::<Json<SchemaDefinition>, _>(1).map_err(db)?.0,
        created_at: from_ms(r.try_get(2).map_err(db)?),
        updated_at: from_ms(r.try_get(3).map_err(db)?),
        archived_at: r.try_get::<Option<i64>, _>(4).map_err(db)?.map(from_ms),
        associations: Vec::new(),
    })
}

/// Reads `association_id, from_type_id, to_type_id, name, created_at, updated_at`.
fn association_row(r: &PgRow) -> Result<StoredAssociation, StoreError> {
    Ok(StoredAssociation {
        id: r.try_get::<i64, _>(0).map_err(db)?.to_string(),
        from_type_id: stored_type_id(r.try_get(1).map_err(db)?)?,
        to_type_id: stored_type_id(r.try_get(2).map_err(db)?)?,
        name: r.try_get(3).map_err(db)?,
        created_at: from_ms(r.try_get(4).map_err(db)?),
        updated_at: from_ms(r.try_get(5).map_err(db)?),
    })
}

/// Fills in each schema's association definitions, oldest first, with one query.
async fn with_associations(
    conn: &mut PgConnection,
    account: AccountId,
    mut schemas: Vec<StoredSchema>,
) -> Result<Vec<StoredSchema>, StoreError> {
    if schemas.is_empty() {
        return Ok(schemas);
    }
    let types: Vec<String> = schemas.iter().map(|s| s.type_id.to_string()).collect();
    let rows = sqlx::query(
        "SELECT association_id, from_type_id, to_type_id, name, created_at, updated_at
         FROM crm_schema_associations
         WHERE account_id = $1 AND from_type_id = ANY($2)
         ORDER BY association_id",
    )
    .bind(account.0)
    .bind(&types)
    .fetch_all(conn)
    .await
    .map_err(db)?;
    let mut by_type: HashMap<ObjectTypeId, Vec<StoredAssociation>> = HashMap::new();
    for row in &rows {
        let a = association_row(row)?;
        by_type.entry(a.from_type_id).or_default().push(a);
    }
    for s in &mut schemas {
        s.associations = by_type.remove(&s.type_id).unwrap_or_default();
    }
    Ok(schemas)
}

/// Turns a unique violation into `Conflict` on `constraint`.
fn conflict_on(constraint: &'static str) -> impl Fn(sqlx::Error) -> StoreError {
    move |e| match db(e) {
        StoreError::Conflict { existing_id, .. } => StoreError::Conflict {
            constraint,
            existing_id,
        },
        e => e,
    }
}

/// One unique value claimed by the record `object_id`.
struct Claim<'a> {
    value: &'a UniqueValue,
    object_id: i64,
}

/// Inserts `claims` (sorted here) with one statement; returns the (property, value, object)
/// triples that were inserted.
async fn insert_claims(
    conn: &mut PgConnection,
    account: AccountId,
    type_id: &str,
    claims: &mut [Claim<'_>],
) -> Result<BTreeSet<(String, String, i64)>, StoreError> {
    // One global order for every writer: no two transactions wait on each other in a cycle.
    claims.sort_by(|a, b| {
        (&a.value.property, &a.value.value, a.object_id).cmp(&(
            &b.value.property,
            &b.value.value,
            b.object_id,
        ))
    });
    let properties: Vec<&str> = claims.iter().map(|c| c.value.property.as_str()).collect();
    let values: Vec<&str> = claims.iter().map(|c| c.value.value.as_str()).collect();
    let objects: Vec<i64> = claims.iter().map(|c| c.object_id).collect();
    let rows = sqlx::query(
        "INSERT INTO crm_unique_values (account_id, object_type_id, property, value, object_id)
         SELECT $1, $2, c.p, c.v, c.o
         FROM UNNEST($3::text[], $4::text[], $5::bigint[]) WITH ORDINALITY AS c(p, v, o, n)
         ORDER BY c.n
         ON CONFLICT DO NOTHING
         RETURNING property, value, object_id",
    )
    .bind(account.0)
    .bind(type_id)
    .bind(&properties)
    .bind(&values)
    .bind(&objects)
    .fetch_all(conn)
    .await
    .map_err(db)?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get(0).map_err(db)?,
                r.try_get(1).map_err(db)?,
                r.try_get(2).map_err(db)?,
            ))
        })
        .collect()
}

/// The records holding `values` now (a fresh statement, so it sees what the claim that lost
/// waited for).
async fn holders(
    conn: &mut PgConnection,
    account: AccountId,
    type_id: &str,
    values: &[&UniqueValue],
) -> Result<HashMap<(String, String), i64>, StoreError> {
    let properties: Vec<&str> = values.iter().map(|v| v.property.as_str()).collect();
    let folded: Vec<&str> = values.iter().map(|v| v.value.as_str()).collect();
    let rows = sqlx::query(
        "SELECT u.property, u.value, u.object_id
         FROM UNNEST($3::text[], $4::text[]) AS c(p, v)
         JOIN crm_unique_values u
           ON u.account_id = $1 AND u.object_type_id = $2 AND u.property = c.p AND u.value = c.v",
    )
    .bind(account.0)
    .bind(type_id)
    .bind(&properties)
    .bind(&folded)
    .fetch_all(conn)
    .await
    .map_err(db)?;
    rows.iter()
        .map(|r| {
            Ok((
                (r.try_get(0).map_err(db)?, r.try_get(1).map_err(db)?),
                r.try_get(2).map_err(db)?,
            ))
        })
        .collect()
}

/// Deletes every claim of these records.
async fn release_all(
    conn: &mut PgConnection,
    account: AccountId,
    objects: &[i64],
) -> Result<u64, StoreError> {
    Ok(
        sqlx::query("DELETE FROM crm_unique_values WHERE account_id = $1 AND object_id = ANY($2)")
            .bind(account.0)
            .bind(objects)
            .execute(conn)
            .await
            .map_err(db)?
            .rows_affected(),
    )
}

#[async_trait::async_trait]
impl CrmStore for PostgresStore {
    #[tracing::instrument(skip_all, fields(account = %account))]
    async fn create_objects(
        &self,
        account: AccountId,
        object_type: ObjectTypeId,
        inputs: Vec<NewObject>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Result<StoredObject, StoreError>>, StoreError> {
        let type_id_text = object_type.to_string();
        let type_id = type_id_text.as_str();
        let mut tx = self.pool.begin().await.map_err(db)?;
        if object_type.is_custom() {
            // KEY SHARE: archive_schema locks the row FOR UPDATE, so it waits for this batch
            // (and then sees its records), or this batch waits for it (and finds no schema).
            sqlx::query(
                "SELECT 1 FROM crm_schemas
                 WHERE account_id = $1 AND object_type_id = $2 AND archived_at IS NULL
                 FOR KEY SHARE",
            )
            .bind(account.0)
            .bind(type_id)
            .fetch_one(&mut *tx)
            .await
            .map_err(db)?;
        }
        if let ObjectTypeId::App(n) = object_type {
            installed_app_object(&mut tx, account, n).await?;
        }
        if inputs.is_empty() {
            account_exists(&mut tx, account).await?;
            return Ok(Vec::new());
        }
        let count = i64::try_from(inputs.len()).map_err(StoreError::internal)?;
        let mut ids: Vec<i64> =
            sqlx::query_scalar("SELECT nextval('object_ids') FROM generate_series(1, $1)")
                .bind(count)
                .fetch_all(&mut *tx)
                .await
                .map_err(db)?;
        if ids.len() != inputs.len() {
            return Err(StoreError::internal("the id sequence returned too few ids"));
        }
        // Ascending in input order, as in SQLite; the claim rounds below rely on the first
        // input having the lowest id.
        ids.sort_unstable();
        let index: HashMap<i64, usize> = ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();

        // Claim in rounds. An input that loses a value to another input of this batch which
        // itself failed (on a value held elsewhere) claims again once that input's claims are
        // gone, as if the inputs had been stored one after another. Each round the lowest
        // retried input wins every value it contends for, so the rounds end.
        let mut conflicts: Vec<Option<Option<i64>>> = vec![None; inputs.len()];
        let mut pending: Vec<usize> = (0..inputs.len())
            .filter(|&i| !inputs[i].unique.is_empty())
            .collect();
        let mut rows = 0u64;
        while !pending.is_empty() {
            let mut claims: Vec<Claim<'_>> = pending
                .iter()
                .flat_map(|&i| {
                    let object_id = ids[i];
                    inputs[i]
                        .unique
                        .iter()
                        .map(move |value| Claim { value, object_id })
                })
                .collect();
            let won = insert_claims(&mut tx, account, type_id, &mut claims).await?;
            rows += won.len() as u64;
            let lost: Vec<&Claim<'_>> = claims
                .iter()
                .filter(|c| {
                    !won.contains(&(c.value.property.clone(), c.value.value.clone(), c.object_id))
                })
                .collect();
            if lost.is_empty() {
                break;
            }
            let lost_values: Vec<&UniqueValue> = lost.iter().map(|c| c.value).collect();
            let held = holders(&mut tx, account, type_id, &lost_values).await?;
            let mut failed: BTreeMap<usize, Vec<Option<i64>>> = BTreeMap::new();
            for c in &lost {
                let holder = held
                    .get(&(c.value.property.clone(), c.value.value.clone()))
                    .copied();
                // The same value twice in one input: its own claim.
                if holder != Some(c.object_id) {
                    failed.entry(index[&c.object_id]).or_default().push(holder);
                }
            }
            if failed.is_empty() {
                break;
            }
            let failed_ids: Vec<i64> = failed.keys().map(|&i| ids[i]).collect();
            rows = rows.saturating_sub(release_all(&mut tx, account, &failed_ids).await?);
            // Held by an input that failed this round (and whose claims are now gone)?
            let by_failed_mate = |i: usize, holder: &Option<i64>| {
                holder
                    .and_then(|h| index.get(&h).copied())
                    .is_some_and(|j| j != i && failed.contains_key(&j))
            };
            pending.clear();
            for (&i, holders) in &failed {
                if holders.iter().all(|h| by_failed_mate(i, h)) {
                    pending.push(i);
                } else {
                    let holder = holders.iter().find(|h| !by_failed_mate(i, h)).copied();
                    conflicts[i] = Some(holder.flatten());
                }
            }
        }

        let stored: Vec<usize> = (0..inputs.len())
            .filter(|&i| conflicts[i].is_none())
            .collect();
        if !stored.is_empty() {
            let object_ids: Vec<i64> = stored.iter().map(|&i| ids[i]).collect();
            let properties: Vec<String> = stored
                .iter()
                .map(|&i| to_json(&inputs[i].properties))
                .collect::<Result<_, _>>()?;
            // The foreign key to accounts refuses an unknown account (NotFound).
            rows += sqlx::query(
                "INSERT INTO crm_objects
                     (account_id, object_id, object_type_id, properties, created_at, updated_at)
                 SELECT $1, t.o, $2, t.p::jsonb, $3, $3
                 FROM UNNEST($4::bigint[], $5::text[]) AS t(o, p)",
            )
            .bind(account.0)
            .bind(type_id)
            .bind(ms(now))
            .bind(&object_ids)
            .bind(&properties)
            .execute(&mut *tx)
            .await
            .map_err(db)?
            .rows_affected();
        }
        tx.commit().await.map_err(db)?;
        Self::committed(rows);

        let at = from_ms(ms(now));
        Ok(inputs
            .into_iter()
            .zip(ids)
            .zip(conflicts)
            .map(|((input, id), conflict)| match conflict {
                Some(holder) => Err(StoreError::Conflict {
                    constraint: "unique",
                    existing_id: holder.map(|h| h.to_string()),
                }),
                None => Ok(StoredObject {
                    id: ObjectId(id),
                    type_id: object_type,
                    properties: input.properties,
                    created_at: at,
                    updated_at: at,
                    archived_at: None,
                }),
            })
            .collect())
    }

    #[tracing::instrument(skip_all, fields(account = %account))]
    async fn update_objects(
        &self,
        account: AccountId,
        object_type: ObjectTypeId,
        updates: Vec<ObjectUpdate>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Result<StoredObject, StoreError>>, StoreError> {
        let type_id_text = object_type.to_string();
        let type_id = type_id_text.as_str();
        let mut tx = self.pool.begin().await.map_err(db)?;
        let ids: Vec<i64> = updates.iter().map(|u| u.id.0).collect();
        let mut current = lock_records(&mut tx, account, Some(type_id), &ids).await?;
        let mut rows = 0;
        let mut results = Vec::with_capacity(updates.len());
        for update in updates {
            let result = update_one(
                &mut tx,
                account,
                object_type,
                &mut current,
                update,
                now,
                &mut rows,
            )
            .await?;
            results.push(result);
        }
        tx.commit().await.map_err(db)?;
        Self::committed(rows);
        Ok(results)
    }

    #[tracing::instrument(skip_all, fields(account = %account))]
    async fn archive_objects(
        &self,
        account: AccountId,
        object_type: ObjectTypeId,
        ids: Vec<ObjectId>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Result<(), StoreError>>, StoreError> {
        let type_id_text = object_type.to_string();
        let type_id = type_id_text.as_str();
        let raw: Vec<i64> = ids.iter().map(|i| i.0).collect();
        // One statement: archive the live ones, release their unique values.
        let rows = sqlx::query(
            "WITH archived AS (
                 UPDATE crm_objects SET archived_at = $4, updated_at = $4
                 WHERE account_id = $1 AND object_type_id = $2 AND object_id = ANY($3)
                   AND archived_at IS NULL
                 RETURNING object_id
             ), released AS (
                 DELETE FROM crm_unique_values u USING archived a
                 WHERE u.account_id = $1 AND u.object_id = a.object_id
                 RETURNING 1
             )
             SELECT object_id, (SELECT count(*) FROM released) FROM archived",
        )
        .bind(account.0)
        .bind(type_id)
        .bind(&raw)
        .bind(ms(now))
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        let mut archived: BTreeSet<i64> = BTreeSet::new();
        let mut released = 0i64;
        for r in &rows {
            archived.insert(r.try_get(0).map_err(db)?);
            released = r.try_get(1).map_err(db)?;
        }
        Self::committed(archived.len() as u64 + u64::try_from(released).unwrap_or(0));
        // A repeated id was archived by its first occurrence; the next ones find it archived.
        Ok(ids
            .iter()
            .map(|id| {
                if archived.remove(&id.0) {
                    Ok(())
                } else {
                    Err(StoreError::NotFound)
                }
            })
            .collect())
    }

    #[tracing::instrument(skip_all, fields(account = %account))]
    async fn get_objects(
        &self,
        account: AccountId,
        object_type: ObjectTypeId,
        ids: &[ObjectId],
        archived: bool,
    ) -> Result<Vec<StoredObject>, StoreError> {
        let type_id_text = object_type.to_string();
        let type_id = type_id_text.as_str();
        // Nothing to look up (search asks for ids and unique values at once): skip the database.
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let raw: Vec<i64> = ids.iter().map(|i| i.0).collect();
        let rows = sqlx::query(
            "SELECT object_id, object_type_id, properties, created_at, updated_at, archived_at
             FROM crm_objects
             WHERE account_id = $1 AND object_type_id = $2 AND object_id = ANY($3)
               AND (archived_at IS NOT NULL) = $4",
        )
        .bind(account.0)
        .bind(type_id)
        .bind(&raw)
        .bind(archived)
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        let mut found: HashMap<i64, StoredObject> = HashMap::with_capacity(rows.len());
        for r in &rows {
            let o = object_row(r)?;
            found.insert(o.id.0, o);
        }
        Ok(ids
            .iter()
            .filter_map(|id| found.get(&id.0).cloned())
            .collect())
    }

    #[tracing::instrument(skip_all, fields(account = %account))]
    async fn find_by_unique(
        &self,
        account: AccountId,
        object_type: ObjectTypeId,
        values: &[UniqueValue],
    ) -> Result<Vec<StoredObject>, StoreError> {
        let type_id_text = object_type.to_string();
        let type_id = type_id_text.as_str();
        if values.is_empty() {
            return Ok(Vec::new());
        }
        let properties: Vec<&str> = values.iter().map(|v| v.property.as_str()).collect();
        let folded: Vec<&str> = values.iter().map(|v| v.value.as_str()).collect();
        let rows = sqlx::query(
            "SELECT o.object_id, o.object_type_id, o.properties, o.created_at, o.updated_at,
                    o.archived_at
             FROM UNNEST($3::text[], $4::text[]) WITH ORDINALITY AS c(p, v, n)
             JOIN crm_unique_values u
               ON u.account_id = $1 AND u.object_type_id = $2 AND u.property = c.p AND u.value = c.v
             JOIN crm_objects o ON o.account_id = u.account_id AND o.object_id = u.object_id
             WHERE o.archived_at IS NULL
             ORDER BY c.n",
        )
        .bind(account.0)
        .bind(type_id)
        .bind(&properties)
        .bind(&folded)
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        rows.iter().map(object_row).collect()
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
        let type_id_text = object_type.to_string();
        let type_id = type_id_text.as_str();
        let rows = sqlx::query(
            "SELECT object_id, object_type_id, properties, created_at, updated_at, archived_at
             FROM crm_objects
             WHERE account_id = $1 AND object_type_id = $2 AND object_id > $3
               AND (archived_at IS NOT NULL) = $4
             ORDER BY object_id LIMIT $5",
        )
        .bind(account.0)
        .bind(type_id)
        .bind(after.map_or(i64::MIN, |a| a.0))
        .bind(archived)
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        rows.iter().map(object_row).collect()
    }

    #[tracing::instrument(skip_all, fields(account = %account))]
    async fn object_history(
        &self,
        account: AccountId,
        object_type: ObjectTypeId,
        id: ObjectId,
    ) -> Result<BTreeMap<String, Vec<HistoryEntry>>, StoreError> {
        let type_id_text = object_type.to_string();
        let type_id = type_id_text.as_str();
        let row = sqlx::query(
            "SELECT properties, history, created_at FROM crm_objects
             WHERE account_id = $1 AND object_id = $2 AND object_type_id = $3",
        )
        .bind(account.0)
        .bind(id.0)
        .bind(type_id)
        .fetch_one(&self.pool)
        .await
        .map_err(db)?;
        let stored = row.try_get::<Option<Json<HistoryMap>>, _>(1).map_err(db)?;
        let map = match stored {
            Some(h) => h.0,
            None => history::derive(
                &row.try_get::<Json<BTreeMap<String, String>>, _>(0)
                    .map_err(db)?
                    .0,
                row.try_get(2).map_err(db)?,
            ),
        };
        Ok(history::entries(map))
    }

    #[tracing::instrument(skip_all, fields(account = %account))]
    async fn create_property(
        &self,
        account: AccountId,
        object_type: ObjectTypeId,
        definition: &PropertyDefinition,
        now: DateTime<Utc>,
    ) -> Result<StoredProperty, StoreError> {
        let type_id_text = object_type.to_string();
        let type_id = type_id_text.as_str();
        sqlx::query(
            "INSERT INTO crm_properties
                 (account_id, object_type_id, name, definition, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $5)",
        )
        .bind(account.0)
        .bind(type_id)
        .bind(&definition.name)
        .bind(Json(definition))
        .bind(ms(now))
        .execute(&self.pool)
        .await
        .map_err(conflict_on("property name"))?;
        Self::committed(1);
        Ok(StoredProperty {
            definition: definition.clone(),
            created_at: from_ms(ms(now)),
            updated_at: from_ms(ms(now)),
            archived_at: None,
        })
    }

    #[tracing::instrument(skip_all, fields(account = %account))]
    async fn list_properties(
        &self,
        account: AccountId,
        object_type: ObjectTypeId,
        archived: bool,
    ) -> Result<Vec<StoredProperty>, StoreError> {
        let type_id_text = object_type.to_string();
        let type_id = type_id_text.as_str();
        let rows = sqlx::query(
            "SELECT definition, created_at, updated_at, archived_at FROM crm_properties
             WHERE account_id = $1 AND object_type_id = $2 AND (archived_at IS NOT NULL) = $3
             ORDER BY name",
        )
        .bind(account.0)
        .bind(type_id)
        .bind(archived)
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        rows.iter().map(property_row).collect()
    }

    #[tracing::instrument(skip_all, fields(account = %account))]
    async fn update_property(
        &self,
        account: AccountId,
        object_type: ObjectTypeId,
        definition: &PropertyDefinition,
        now: DateTime<Utc>,
    ) -> Result<StoredProperty, StoreError> {
        let type_id_text = object_type.to_string();
        let type_id = type_id_text.as_str();
        let row = sqlx::query(
            "UPDATE crm_properties SET definition = $4, updated_at = $5
             WHERE account_id = $1 AND object_type_id = $2 AND name = $3 AND archived_at IS NULL
             RETURNING definition, created_at, updated_at, archived_at",
        )
        .bind(account.0)
        .bind(type_id)
        .bind(&definition.name)
        .bind(Json(definition))
        .bind(ms(now))
        .fetch_one(&self.pool)
        .await
        .map_err(db)?;
        Self::committed(1);
        property_row(&row)
    }

    #[tracing::instrument(skip_all, fields(account = %account))]
    async fn archive_property(
        &self,
        account: AccountId,
        object_type: ObjectTypeId,
        name: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let type_id_text = object_type.to_string();
        let type_id = type_id_text.as_str();
        let archived = sqlx::query(
            "UPDATE crm_properties SET archived_at = $4, updated_at = $4
             WHERE account_id = $1 AND object_type_id = $2 AND name = $3 AND archived_at IS NULL",
        )
        .bind(account.0)
        .bind(type_id)
        .bind(name)
        .bind(ms(now))
        .execute(&self.pool)
        .await
        .map_err(db)?
        .rows_affected();
        if archived == 0 {
            return Err(StoreError::NotFound);
        }
        Self::committed(archived);
        Ok(())
    }

    #[tracing::instrument(skip_all, fields(account = %account))]
    async fn create_schema(
        &self,
        account: AccountId,
        definition: &SchemaDefinition,
        properties: &[PropertyDefinition],
        now: DateTime<Utc>,
    ) -> Result<StoredSchema, StoreError> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        let inserted = sqlx::query(
            "INSERT INTO crm_schemas
                 (account_id, object_type_id, name, definition, created_at, updated_at)
             VALUES ($1, '2-' || nextval('object_type_ids'), $2, $3, $4, $4)
             RETURNING object_type_id, definition, created_at, updated_at, archived_at",
        )
        .bind(account.0)
        .bind(&definition.name)
        .bind(Json(definition))
        .bind(ms(now))
        .fetch_one(&mut *tx)
        .await
        .map_err(db);
        let row = match inserted {
            Ok(row) => row,
            Err(StoreError::Conflict { .. }) => {
                // The transaction is aborted; name the holder from outside it.
                drop(tx);
                let existing: Option<String> = sqlx::query_scalar(
                    "SELECT object_type_id FROM crm_schemas WHERE account_id = $1 AND name = $2",
                )
                .bind(account.0)
                .bind(&definition.name)
                .fetch_optional(&self.pool)
                .await
                .map_err(db)?;
                return Err(StoreError::Conflict {
                    constraint: "schema name",
                    existing_id: existing,
                });
            }
            Err(e) => return Err(e),
        };
        let mut schema = schema_row(&row)?;
        let mut rows = 1;
        if !definition.associated_objects.is_empty() {
            let created = sqlx::query(
                "INSERT INTO crm_schema_associations
                     (account_id, association_id, from_type_id, to_type_id, name, created_at, updated_at)
                 SELECT $1, nextval('association_ids'), $2, t.to_type_id, NULL, $3, $3
                 FROM UNNEST($4::text[]) WITH ORDINALITY AS t(to_type_id, n)
                 ORDER BY t.n
                 RETURNING association_id, from_type_id, to_type_id, name, created_at, updated_at",
            )
            .bind(account.0)
            .bind(schema.type_id.to_string())
            .bind(ms(now))
            .bind(
                definition
                    .associated_objects
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>(),
            )
            .fetch_all(&mut *tx)
            .await
            .map_err(db)?;
            rows += created.len() as u64;
            schema.associations = created
                .iter()
                .map(association_row)
                .collect::<Result<_, _>>()?;
            schema
                .associations
                .sort_by_key(|a| a.id.parse::<i64>().unwrap_or_default());
        }
        if !properties.is_empty() {
            let names: Vec<&str> = properties.iter().map(|p| p.name.as_str()).collect();
            let definitions: Vec<String> =
                properties.iter().map(to_json).collect::<Result<_, _>>()?;
            rows += sqlx::query(
                "INSERT INTO crm_properties
                     (account_id, object_type_id, name, definition, created_at, updated_at)
                 SELECT $1, $2, p.name, p.definition::jsonb, $3, $3
                 FROM UNNEST($4::text[], $5::text[]) AS p(name, definition)",
            )
            .bind(account.0)
            .bind(schema.type_id.to_string())
            .bind(ms(now))
            .bind(&names)
            .bind(&definitions)
            .execute(&mut *tx)
            .await
            .map_err(conflict_on("property name"))?
            .rows_affected();
        }
        tx.commit().await.map_err(db)?;
        Self::committed(rows);
        Ok(schema)
    }

    #[tracing::instrument(skip_all, fields(account = %account))]
    async fn list_schemas(
        &self,
        account: AccountId,
        archived: bool,
    ) -> Result<Vec<StoredSchema>, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(db)?;
        let rows = sqlx::query(
            "SELECT object_type_id, definition, created_at, updated_at, archived_at
             FROM crm_schemas
             WHERE account_id = $1 AND (archived_at IS NOT NULL) = $2
             ORDER BY created_at, CAST(substr(object_type_id, 3) AS BIGINT)",
        )
        .bind(account.0)
        .bind(archived)
        .fetch_all(&mut *conn)
        .await
        .map_err(db)?;
        let schemas = rows.iter().map(schema_row).collect::<Result<Vec<_>, _>>()?;
        with_associations(&mut conn, account, schemas).await
    }

    #[tracing::instrument(skip_all, fields(account = %account))]
    async fn get_schema(
        &self,
        account: AccountId,
        key: &SchemaKey,
    ) -> Result<StoredSchema, StoreError> {
        let (sql, value) = match key {
            SchemaKey::TypeId(t) => (
                "SELECT object_type_id, definition, created_at, updated_at, archived_at
                 FROM crm_schemas
                 WHERE account_id = $1 AND object_type_id = $2 AND archived_at IS NULL",
                t.to_string(),
            ),
            SchemaKey::Name(n) => (
                "SELECT object_type_id, definition, created_at, updated_at, archived_at
                 FROM crm_schemas
                 WHERE account_id = $1 AND name = $2 AND archived_at IS NULL",
                n.clone(),
            ),
        };
        let mut conn = self.pool.acquire().await.map_err(db)?;
        let row = sqlx::query(sql)
            .bind(account.0)
            .bind(value)
            .fetch_one(&mut *conn)
            .await
            .map_err(db)?;
        let schema = schema_row(&row)?;
        let mut schemas = with_associations(&mut conn, account, vec![schema]).await?;
        schemas.pop().ok_or(StoreError::NotFound)
    }

    #[tracing::instrument(skip_all, fields(account = %account))]
    async fn update_schema(
        &self,
        account: AccountId,
        object_type: ObjectTypeId,
        definition: &SchemaDefinition,
        now: DateTime<Utc>,
    ) -> Result<StoredSchema, StoreError> {
        let type_id_text = object_type.to_string();
        let type_id = type_id_text.as_str();
        let mut conn = self.pool.acquire().await.map_err(db)?;
        // The stored name wins over the one in `definition`: a schema is never renamed.
        let row = sqlx::query(
            "UPDATE crm_schemas
             SET definition = jsonb_set($3, '{name}', to_jsonb(name)), updated_at = $4
             WHERE account_id = $1 AND object_type_id = $2 AND archived_at IS NULL
             RETURNING object_type_id, definition, created_at, updated_at, archived_at",
        )
        .bind(account.0)
        .bind(type_id)
        .bind(Json(definition))
        .bind(ms(now))
        .fetch_one(&mut *conn)
        .await
        .map_err(db)?;
        Self::committed(1);
        let schema = schema_row(&row)?;
        let mut schemas = with_associations(&mut conn, account, vec![schema]).await?;
        schemas.pop().ok_or(StoreError::NotFound)
    }

    #[tracing::instrument(skip_all, fields(account = %account))]
    async fn archive_schema(
        &self,
        account: AccountId,
        object_type: ObjectTypeId,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let type_id_text = object_type.to_string();
        let type_id = type_id_text.as_str();
        let mut tx = self.pool.begin().await.map_err(db)?;
        // FOR UPDATE waits for batches creating records of the type (they hold KEY SHARE), so
        // the next statement's snapshot sees their records; later batches wait for this one.
        sqlx::query(
            "SELECT 1 FROM crm_schemas
             WHERE account_id = $1 AND object_type_id = $2 AND archived_at IS NULL
             FOR UPDATE",
        )
        .bind(account.0)
        .bind(type_id)
        .fetch_one(&mut *tx)
        .await
        .map_err(db)?;
        let archived = sqlx::query(
            "UPDATE crm_schemas SET archived_at = $3, updated_at = $3
             WHERE account_id = $1 AND object_type_id = $2
               AND NOT EXISTS (SELECT 1 FROM crm_objects
                               WHERE account_id = $1 AND object_type_id = $2
                                 AND archived_at IS NULL)",
        )
        .bind(account.0)
        .bind(type_id)
        .bind(ms(now))
        .execute(&mut *tx)
        .await
        .map_err(db)?
        .rows_affected();
        if archived == 0 {
            return Err(StoreError::Conflict {
                constraint: "live records",
                existing_id: None,
            });
        }
        tx.commit().await.map_err(db)?;
        Self::committed(archived);
        Ok(())
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
        let type_id_text = object_type.to_string();
        let type_id = type_id_text.as_str();
        let row = sqlx::query(
            "INSERT INTO crm_schema_associations
                 (account_id, association_id, from_type_id, to_type_id, name, created_at, updated_at)
             SELECT $1, nextval('association_ids'), object_type_id, $3, $4, $5, $5
             FROM crm_schemas
             WHERE account_id = $1 AND object_type_id = $2 AND archived_at IS NULL
             RETURNING association_id, from_type_id, to_type_id, name, created_at, updated_at",
        )
        .bind(account.0)
        .bind(type_id)
        .bind(to_type_id.to_string())
        .bind(name)
        .bind(ms(now))
        .fetch_one(&self.pool)
        .await
        .map_err(db)?;
        Self::committed(1);
        association_row(&row)
    }
}

/// Locks the live records `ids` (of `type_id` only, when given) for a read-change-write, all in
/// one statement and in id order (so two writers never wait on each other in a cycle), and
/// reads their state. `FOR NO KEY UPDATE`: writers of a record wait for each other, but not
/// for the `KEY SHARE` that a foreign key to it (a visitor token, a unique value) takes, so a
/// transaction that links a utk to a contact never waits in a cycle with one that updates it.
pub(super) async fn lock_records(
    conn: &mut PgConnection,
    account: AccountId,
    type_id: Option<&str>,
    ids: &[i64],
) -> Result<HashMap<i64, Current>, StoreError> {
    let locked = sqlx::query(
        "SELECT object_id, properties, history, created_at FROM crm_objects
         WHERE account_id = $1 AND ($2::text IS NULL OR object_type_id = $2)
           AND object_id = ANY($3) AND archived_at IS NULL
         ORDER BY object_id
         FOR NO KEY UPDATE",
    )
    .bind(account.0)
    .bind(type_id)
    .bind(ids)
    .fetch_all(conn)
    .await
    .map_err(db)?;
    let mut current: HashMap<i64, Current> = HashMap::with_capacity(locked.len());
    for r in &locked {
        current.insert(
            r.try_get(0).map_err(db)?,
            Current {
                properties: r
                    .try_get::<Json<BTreeMap<String, String>>, _>(1)
                    .map_err(db)?
                    .0,
                history: r
                    .try_get::<Option<Json<HistoryMap>>, _>(2)
                    .map_err(db)?
                    .map(|h| h.0),
                created_ms: r.try_get(3).map_err(db)?,
            },
        );
    }
    Ok(current)
}

/// A locked record's state, updated as the items of a batch apply to it.
pub(super) struct Current {
    pub(super) properties: BTreeMap<String, String>,
    pub(super) history: Option<HistoryMap>,
    pub(super) created_ms: i64,
}

/// One item of `update_objects` on rows locked by the caller: claims first (a taken value
/// fails the item, and the claims it made are deleted again), then one statement releases the
/// replaced and cleared claims and writes the values and history.
pub(super) async fn update_one(
    tx: &mut PgConnection,
    account: AccountId,
    object_type: ObjectTypeId,
    current: &mut HashMap<i64, Current>,
    update: ObjectUpdate,
    now: DateTime<Utc>,
    rows: &mut u64,
) -> Result<Item<StoredObject>, StoreError> {
    let type_id_text = object_type.to_string();
    let type_id = type_id_text.as_str();
    let id = update.id.0;
    let Some(state) = current.get_mut(&id) else {
        return Ok(Err(StoreError::NotFound));
    };
    if !update.unique.is_empty() {
        let mut claims: Vec<Claim<'_>> = update
            .unique
            .iter()
            .map(|value| Claim {
                value,
                object_id: id,
            })
            .collect();
        let won = insert_claims(tx, account, type_id, &mut claims).await?;
        let lost: Vec<&UniqueValue> = update
            .unique
            .iter()
            .filter(|v| !won.contains(&(v.property.clone(), v.value.clone(), id)))
            .collect();
        if !lost.is_empty() {
            let held = holders(tx, account, type_id, &lost).await?;
            let taken = lost.iter().find_map(|v| {
                let holder = held.get(&(v.property.clone(), v.value.clone())).copied();
                (holder != Some(id)).then_some(holder)
            });
            if let Some(holder) = taken {
                if !won.is_empty() {
                    let properties: Vec<&str> = won.iter().map(|w| w.0.as_str()).collect();
                    let values: Vec<&str> = won.iter().map(|w| w.1.as_str()).collect();
                    sqlx::query(
                        "DELETE FROM crm_unique_values u
                         USING UNNEST($3::text[], $4::text[]) AS c(p, v)
                         WHERE u.account_id = $1 AND u.object_type_id = $2
                           AND u.property = c.p AND u.value = c.v",
                    )
                    .bind(account.0)
                    .bind(type_id)
                    .bind(&properties)
                    .bind(&values)
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
                }
                return Ok(Err(StoreError::Conflict {
                    constraint: "unique",
                    existing_id: holder.map(|h| h.to_string()),
                }));
            }
        }
        *rows += won.len() as u64;
    }

    let mut properties = state.properties.clone();
    let history = history::apply(
        &mut properties,
        state.history.take(),
        state.created_ms,
        &update.set,
        &update.clear,
        ms(now),
    );
    // Claims of these properties go unless they are one of the new claims.
    let touched: Vec<&str> = update
        .unique
        .iter()
        .map(|c| c.property.as_str())
        .chain(update.released.iter().map(String::as_str))
        .collect();
    let kept_properties: Vec<&str> = update.unique.iter().map(|c| c.property.as_str()).collect();
    let kept_values: Vec<&str> = update.unique.iter().map(|c| c.value.as_str()).collect();
    let released: i64 = sqlx::query_scalar(
        "WITH released AS (
             DELETE FROM crm_unique_values
             WHERE account_id = $1 AND object_id = $2 AND object_type_id = $3
               AND property = ANY($4)
               AND (property, value) NOT IN (
                   SELECT k.p, k.v FROM UNNEST($5::text[], $6::text[]) AS k(p, v))
             RETURNING 1
         )
         UPDATE crm_objects SET properties = $7, history = $8, updated_at = $9
         WHERE account_id = $1 AND object_id = $2
         RETURNING (SELECT count(*) FROM released)",
    )
    .bind(account.0)
    .bind(id)
    .bind(type_id)
    .bind(&touched)
    .bind(&kept_properties)
    .bind(&kept_values)
    .bind(Json(&properties))
    .bind(Json(&history))
    .bind(ms(now))
    .fetch_one(&mut *tx)
    .await
    .map_err(db)?;
    *rows += 1 + u64::try_from(released).unwrap_or(0);
    let created_ms = state.created_ms;
    state.properties = properties.clone();
    state.history = Some(history);
    Ok(Ok(StoredObject {
        id: update.id,
        type_id: object_type,
        properties,
        created_at: from_ms(created_ms),
        updated_at: from_ms(ms(now)),
        archived_at: None,
    }))
}
