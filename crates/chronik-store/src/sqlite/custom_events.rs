//! SQLite SQL for [`CustomEventStore`].
//!
//! Writes run on the single writer thread, so counting an account's live definitions and
//! inserting the new one inside one job is atomic by construction: no other write runs in
//! between. A name is never reused because a deleted definition keeps its row (`deleted_at`
//! set) and the primary key `(account_id, name)` refuses a second insert.

use std::collections::HashMap;

use chronik_domain::association::{resolve, Outcome, Priority, RecordRef};
use chronik_domain::custom_events::definition::EventDefinition;
use chronik_domain::{AccountId, DomainError, EventDefinitionId, ObjectId};
use chrono::{DateTime, Utc};
use rusqlite::types::Value;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension, Row};

use super::completion_log::{self, Occurrence, ATTACHED};
use super::records::RecordLookup;
use super::tenancy::contact_by_email;
use super::{
    account_exists, db, from_json, from_ms, ms, next_id, raise_settings_version, settings_version,
    type_id_column, SqliteStore,
};
use crate::custom_events::*;
use crate::{occurrence_id, property_bits, SettingsVersion, StoreError};

const QUOTA: &str = "event definitions";
const NAME_CONSTRAINT: &str = "event definition name";

/// Read transactions a page of completions starts before it gives up on seeing a deletion
/// whole (each retry follows a deletion committed meanwhile; more than a few never happen).
const MAX_VIEW_ATTEMPTS: usize = 16;

/// The columns [`definition_row`] reads.
const COLUMNS: &str = "definition_id, definition, created_at, updated_at";

/// Reads [`COLUMNS`].
fn definition_row(r: &Row<'_>) -> rusqlite::Result<StoredEventDefinition> {
    let definition = from_json(r, 1)?;
    Ok(StoredEventDefinition {
        id: EventDefinitionId(r.get(0)?),
        definition,
        created_at: from_ms(r.get(2)?),
        updated_at: from_ms(r.get(3)?),
    })
}

fn to_json(definition: &EventDefinition) -> Result<String, StoreError> {
    serde_json::to_string(definition).map_err(StoreError::internal)
}

/// The id of the definition (live or deleted) that holds `name`, if any.
fn holder(conn: &Connection, account: AccountId, name: &str) -> Result<Option<i64>, StoreError> {
    conn.prepare_cached(
        "SELECT definition_id FROM event_definitions WHERE account_id = ?1 AND name = ?2",
    )
    .map_err(db)?
    .query_row(params![account.0, name], |r| r.get(0))
    .optional()
    .map_err(db)
}

#[async_trait::async_trait]
impl CustomEventStore for SqliteStore {
    #[tracing::instrument(skip_all, fields(account = %account))]
    async fn create_event_definition(
        &self,
        account: AccountId,
        definition: &EventDefinition,
        max_definitions: u64,
        now: DateTime<Utc>,
    ) -> Result<StoredEventDefinition, StoreError> {
        let definition = definition.clone();
        self.write(move |conn| {
            account_exists(conn, account)?;
            if let Some(existing) = holder(conn, account, &definition.name)? {
                return Err(StoreError::Conflict {
                    constraint: NAME_CONSTRAINT,
                    existing_id: Some(existing.to_string()),
                });
            }
            // The single writer runs this job alone: the count and the insert are one step.
            let live: i64 = conn
                .prepare_cached(
                    "SELECT COUNT(*) FROM event_definitions
                     WHERE account_id = ?1 AND deleted_at IS NULL",
                )
                .map_err(db)?
                .query_row([account.0], |r| r.get(0))
                .map_err(db)?;
            if u64::try_from(live).unwrap_or(u64::MAX) >= max_definitions {
                return Err(StoreError::QuotaExceeded {
                    quota: QUOTA,
                    limit: max_definitions,
                });
            }
            let id = next_id(conn, "event_definition")?;
            conn.prepare_cached(
                "INSERT INTO event_definitions
                     (account_id, name, definition_id, definition, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
            )
            .map_err(db)?
            .execute(params![
                account.0,
                definition.name,
                id,
                to_json(&definition)?,
                ms(now)
            ])
            .map_err(|e| match db(e) {
                StoreError::Conflict { existing_id, .. } => StoreError::Conflict {
                    constraint: NAME_CONSTRAINT,
                    existing_id,
                },
                e => e,
            })?;
            raise_settings_version(conn, account)?;
            Ok(StoredEventDefinition {
                id: EventDefinitionId(id),
                definition,
                created_at: from_ms(ms(now)),
                updated_at: from_ms(ms(now)),
            })
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(account = %account))]
    async fn list_event_definitions(
        &self,
        account: AccountId,
    ) -> Result<Vec<StoredEventDefinition>, StoreError> {
        self.read(move |conn| {
            let mut stmt = conn
                .prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM event_definitions
                     WHERE account_id = ?1 AND deleted_at IS NULL
                     ORDER BY name"
                ))
                .map_err(db)?;
            let rows = stmt.query_map([account.0], definition_row).map_err(db)?;
            rows.collect::<Result<Vec<_>, _>>().map_err(db)
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(account = %account))]
    async fn get_event_definition(
        &self,
        account: AccountId,
        name: &str,
    ) -> Result<StoredEventDefinition, StoreError> {
        let name = name.to_owned();
        self.read(move |conn| {
            conn.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM event_definitions
                 WHERE account_id = ?1 AND name = ?2 AND deleted_at IS NULL"
            ))
            .map_err(db)?
            .query_row(params![account.0, name], definition_row)
            .map_err(db)
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(account = %account))]
    async fn modify_event_definition(
        &self,
        account: AccountId,
        name: &str,
        change: DefinitionChange,
        now: DateTime<Utc>,
    ) -> Result<Result<StoredEventDefinition, DomainError>, StoreError> {
        let name = name.to_owned();
        // The single writer runs this job alone: the read, the change and the write are one step.
        self.write(move |conn| {
            let current = conn
                .prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM event_definitions
                     WHERE account_id = ?1 AND name = ?2 AND deleted_at IS NULL"
                ))
                .map_err(db)?
                .query_row(params![account.0, name], definition_row)
                .map_err(db)?;
            let next = match apply_change(&current.definition, change)? {
                Ok(next) => next,
                Err(refused) => return Ok(Err(refused)),
            };
            conn.prepare_cached(
                "UPDATE event_definitions SET definition = ?3, updated_at = ?4
                 WHERE account_id = ?1 AND name = ?2 AND deleted_at IS NULL",
            )
            .map_err(db)?
            .execute(params![account.0, name, to_json(&next)?, ms(now)])
            .map_err(db)?;
            raise_settings_version(conn, account)?;
            Ok(Ok(StoredEventDefinition {
                definition: next,
                updated_at: from_ms(ms(now)),
                ..current
            }))
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(account = %account))]
    async fn delete_event_definition(
        &self,
        account: AccountId,
        name: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let name = name.to_owned();
        self.write_staging(move |conn, log| {
            let deleted: Option<i64> = conn
                .prepare_cached(
                    "UPDATE event_definitions SET deleted_at = ?3, updated_at = ?3
                     WHERE account_id = ?1 AND name = ?2 AND deleted_at IS NULL
                     RETURNING definition_id",
                )
                .map_err(db)?
                .query_row(params![account.0, name, ms(now)], |r| r.get(0))
                .optional()
                .map_err(db)?;
            let definition = deleted.ok_or(StoreError::NotFound)?;
            raise_settings_version(conn, account)?;
            completion_log::purge(conn, log, account.0, Some(definition))
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(account = %account, count = completions.len()))]
    async fn store_completions(
        &self,
        account: AccountId,
        completions: Vec<NewCompletion>,
        monthly_quota: u64,
        now: DateTime<Utc>,
        checked: Option<SettingsVersion>,
    ) -> Result<Result<StoredBatch, BatchRefusal>, StoreError> {
        // Off the writer thread: it is the bottleneck.
        let bits: Vec<Option<i64>> = completions
            .iter()
            .map(|c| property_bits::of_json(&c.properties_json))
            .collect();
        self.write_staging(move |conn, log| {
            // The single writer runs this job alone: no change of settings can come between
            // this read and the commit.
            let current = settings_version(conn, account)?;
            if checked.is_some_and(|checked| checked != current) {
                return Ok(Err(BatchRefusal::SettingsChanged));
            }
            let mut batch = StoredBatch::default();
            let records = match resolve_records(conn, account, &completions)? {
                Ok(records) => records,
                Err(refusal) => return Ok(Err(refusal)),
            };
            let mut created: HashMap<String, i64> = HashMap::new();
            let mut stage = conn
                .prepare_cached(
                    "INSERT INTO event_completions_staged
                         (seq, account_id, definition_id, object_type_id, object_id, occurred_at,
                          uuid, properties, property_bits)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                )
                .map_err(db)?;
            for ((completion, record), bits) in completions.iter().zip(records).zip(&bits) {
                let object_id = match record {
                    Resolved::Id(id) => id,
                    Resolved::CreateContact(email) => match created.get(email.folded()) {
                        Some(id) => *id,
                        None => {
                            let (id, made) = contact_by_email(conn, account, email, now)?;
                            batch.contacts_created += u64::from(made);
                            created.insert(email.folded().to_owned(), id);
                            id
                        }
                    },
                };
                let uuid = occurrence_id::encode(&completion.uuid);
                let id = Occurrence::new(account.0, completion.definition_id.0, &uuid);
                if log.knows(conn, &id)? {
                    batch.duplicates += 1;
                    continue;
                }
                let seq = log.stage(&id);
                stage
                    .execute(params![
                        seq,
                        account.0,
                        completion.definition_id.0,
                        completion.object_type_id.to_string(),
                        object_id,
                        ms(completion.occurred_at),
                        uuid,
                        completion.properties_json,
                        bits,
                    ])
                    .map_err(db)?;
                batch.stored += 1;
            }
            if batch.stored > 0 {
                let used: i64 = conn
                    .prepare_cached(
                        "INSERT INTO event_usage (account_id, month, completions) VALUES (?1, ?2, ?3)
                         ON CONFLICT (account_id, month)
                         DO UPDATE SET completions = completions + excluded.completions
                         RETURNING completions",
                    )
                    .map_err(db)?
                    .query_row(
                        params![account.0, month_key(now), batch.stored as i64],
                        |r| r.get(0),
                    )
                    .map_err(db)?;
                if u64::try_from(used).unwrap_or(u64::MAX) > monthly_quota {
                    // Failing the job rolls back everything it wrote.
                    return Err(StoreError::QuotaExceeded {
                        quota: MONTHLY_COMPLETIONS_QUOTA,
                        limit: monthly_quota,
                    });
                }
            }
            Ok(Ok(batch))
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(account = %account))]
    async fn query_completions(
        &self,
        account: AccountId,
        query: &CompletionQuery,
    ) -> Result<CompletionPage, StoreError> {
        let query = query.clone();
        self.read_scan(account, move |conn| {
            let plan = QueryPlan::new(&query);
            // One read transaction: the main file's snapshot first (see completion_log.rs).
            let mut attempts = 0;
            let (read, view) = loop {
                let read = conn.unchecked_transaction().map_err(db)?;
                if let Some(view) = completion_log::reader_view(&read, account.0)? {
                    break (read, view);
                }
                attempts += 1;
                if attempts == MAX_VIEW_ATTEMPTS {
                    return Err(StoreError::Unavailable(
                        "completions are being deleted; try again".into(),
                    ));
                }
            };
            let mut items = select_completions(
                &read,
                &format!("{ATTACHED}.event_completions"),
                account,
                &query,
                &plan,
                Tail::Indexed(&view.purges),
            )?;
            items.extend(select_completions(
                &read,
                "main.event_completions_staged",
                account,
                &query,
                &plan,
                Tail::Staged(view.merged_through),
            )?);
            read.finish().map_err(db)?;
            plan.sort(&mut items);
            items.truncate(query.limit + 1);
            Ok(plan.page(items, query.limit))
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(account = %account))]
    async fn monthly_completions(
        &self,
        account: AccountId,
        at: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        self.read(move |conn| {
            let used: Option<i64> = conn
                .prepare_cached(
                    "SELECT completions FROM event_usage WHERE account_id = ?1 AND month = ?2",
                )
                .map_err(db)?
                .query_row(params![account.0, month_key(at)], |r| r.get(0))
                .optional()
                .map_err(db)?;
            Ok(used.map_or(0, |u| u64::try_from(u).unwrap_or(0)))
        })
        .await
    }
}

/// A completion's record after the read phase of [`CustomEventStore::store_completions`].
enum Resolved<'a> {
    Id(i64),
    CreateContact(&'a chronik_domain::tenancy::Email),
}

/// Finds every completion's record, or the indexes of those whose record does not exist.
fn resolve_records<'a>(
    conn: &Connection,
    account: AccountId,
    completions: &'a [NewCompletion],
) -> Result<Result<Vec<Resolved<'a>>, BatchRefusal>, StoreError> {
    let mut lookup = RecordLookup::new(conn, account)?;
    let mut resolved = Vec::with_capacity(completions.len());
    let mut missing = Vec::new();
    for (index, completion) in completions.iter().enumerate() {
        let object_type = completion.object_type_id;
        let outcome = resolve(
            Priority::CustomEvents,
            &completion.record,
            None,
            None,
            |record| lookup.find(object_type, record),
        )?;
        let found = match outcome {
            Outcome::Record { id, .. } => Some(Resolved::Id(id.0)),
            Outcome::ContactByEmail { .. } => match &completion.record {
                RecordRef::Email(email) => Some(Resolved::CreateContact(email)),
                _ => return Err(StoreError::internal("a contact by email without an email")),
            },
            Outcome::AwaitUtk(_) | Outcome::NotFound => None,
        };
        match found {
            Some(r) => resolved.push(r),
            None => missing.push(index),
        }
    }
    if missing.is_empty() {
        Ok(Ok(resolved))
    } else {
        Ok(Err(BatchRefusal::RecordsNotFound(missing)))
    }
}

/// Which completions of a table [`select_completions`] reads besides the query's.
enum Tail<'a> {
    /// The indexed table, without what purges not yet applied cover (a definition's, or the
    /// account's, up to a `seq`).
    Indexed(&'a [(Option<i64>, i64)]),
    /// The staging table, past the last `seq` merged (a range of its rowid).
    Staged(i64),
}

/// The first `limit + 1` completions of `table` that `query` asks for, in the plan's order.
fn select_completions(
    conn: &Connection,
    table: &str,
    account: AccountId,
    query: &CompletionQuery,
    plan: &QueryPlan,
    tail: Tail<'_>,
) -> Result<Vec<StoredCompletion>, StoreError> {
    let mut sql = format!(
        "SELECT seq, definition_id, object_type_id, object_id, occurred_at, uuid, properties
         FROM {table} WHERE account_id = ?"
    );
    let mut args: Vec<Value> = vec![Value::Integer(account.0)];
    match tail {
        Tail::Indexed(purges) => {
            for (definition, through) in purges {
                match definition {
                    Some(id) => {
                        sql.push_str(" AND NOT (definition_id = ? AND seq <= ?)");
                        args.extend([Value::Integer(*id), Value::Integer(*through)]);
                    }
                    None => {
                        sql.push_str(" AND seq > ?");
                        args.push(Value::Integer(*through));
                    }
                }
            }
        }
        Tail::Staged(merged_through) => {
            sql.push_str(" AND seq > ?");
            args.push(Value::Integer(merged_through));
        }
    }
    if let Some(id) = query.definition_id {
        sql.push_str(" AND definition_id = ?");
        args.push(Value::Integer(id.0));
    }
    if let Some((type_id, id)) = &query.record {
        sql.push_str(" AND object_type_id = ? AND object_id = ?");
        args.push(Value::Text(type_id.to_string()));
        args.push(Value::Integer(id.0));
    }
    if !query.uuids.is_empty() {
        sql.push_str(" AND uuid IN (");
        sql.push_str(&vec!["?"; query.uuids.len()].join(", "));
        sql.push(')');
        args.extend(
            query
                .uuids
                .iter()
                .map(|u| Value::Blob(occurrence_id::encode(u))),
        );
    }
    if !query.properties.is_empty() {
        // Checked in the event-type index, before the row is read.
        let mask = property_bits::of_pairs(
            query
                .properties
                .iter()
                .map(|(n, v)| (n.as_str(), v.as_str())),
        );
        sql.push_str(" AND (property_bits IS NULL OR property_bits & ? = ?)");
        args.extend([Value::Integer(mask), Value::Integer(mask)]);
    }
    for (name, value) in &query.properties {
        sql.push_str(" AND json_extract(properties, ?) = ?");
        args.push(Value::Text(json_path(name)));
        args.push(Value::Text(value.clone()));
    }
    if let Some(t) = query.occurred_after {
        sql.push_str(" AND occurred_at >= ?");
        args.push(Value::Integer(ms(t)));
    }
    if let Some(t) = query.occurred_before {
        sql.push_str(" AND occurred_at <= ?");
        args.push(Value::Integer(ms(t)));
    }
    if let Some(c) = plan.cursor {
        let cmp = plan.cmp();
        sql.push_str(&format!(
            " AND (occurred_at {cmp} ? OR (occurred_at = ? AND seq {cmp} ?))"
        ));
        args.extend([
            Value::Integer(c.occurred_at_ms),
            Value::Integer(c.occurred_at_ms),
            Value::Integer(c.seq),
        ]);
    }
    let dir = plan.dir();
    sql.push_str(&format!(" ORDER BY occurred_at {dir}, seq {dir} LIMIT ?"));
    args.push(Value::Integer(query.limit as i64 + 1));
    let mut stmt = conn.prepare_cached(&sql).map_err(db)?;
    let rows = stmt
        .query_map(params_from_iter(args), completion_row)
        .map_err(db)?;
    rows.collect::<Result<Vec<_>, _>>().map_err(db)
}

/// The SQLite JSON path of a top-level property (names are `a-z0-9_`, checked by the caller;
/// the quotes keep any other name a plain key).
fn json_path(name: &str) -> String {
    format!("$.\"{}\"", name.replace('"', ""))
}

/// Reads the columns of [`CustomEventStore::query_completions`]'s select.
fn completion_row(r: &Row<'_>) -> rusqlite::Result<StoredCompletion> {
    let properties = from_json(r, 6)?;
    let uuid: Vec<u8> = r.get(5)?;
    Ok(StoredCompletion {
        cursor: CompletionCursor {
            occurred_at_ms: r.get(4)?,
            seq: r.get(0)?,
        },
        definition_id: EventDefinitionId(r.get(1)?),
        object_type_id: type_id_column(r, 2)?,
        object_id: ObjectId(r.get(3)?),
        uuid: occurrence_id::decode(&uuid),
        properties,
    })
}
