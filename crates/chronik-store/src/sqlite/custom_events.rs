//! SQLite SQL for [`CustomEventStore`].
//!
//! Writes run on the single writer thread, so counting an account's live definitions and
//! inserting the new one inside one job is atomic by construction: no other write runs in
//! between. A name is never reused because a deleted definition keeps its row (`deleted_at`
//! set) and the primary key `(account_id, name)` refuses a second insert.

use chronik_domain::custom_events::definition::EventDefinition;
use chronik_domain::AccountId;
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension, Row};

use super::{account_exists, db, from_ms, ms, next_id, SqliteStore};
use crate::custom_events::*;
use crate::StoreError;

const QUOTA: &str = "event definitions";
const NAME_CONSTRAINT: &str = "event definition name";

/// The columns [`definition_row`] reads.
const COLUMNS: &str = "definition_id, definition, created_at, updated_at";

/// Reads [`COLUMNS`].
fn definition_row(r: &Row<'_>) -> rusqlite::Result<StoredEventDefinition> {
    let raw: String = r.get(1)?;
    let definition = serde_json::from_str(&raw).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(1, rusqlite::types::Type::Text, Box::new(e))
    })?;
    Ok(StoredEventDefinition {
        id: r.get::<_, i64>(0)?.to_string(),
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
            Ok(StoredEventDefinition {
                id: id.to_string(),
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
    async fn update_event_definition(
        &self,
        account: AccountId,
        definition: &EventDefinition,
        now: DateTime<Utc>,
    ) -> Result<StoredEventDefinition, StoreError> {
        let definition = definition.clone();
        self.write(move |conn| {
            let (id, created_ms): (i64, i64) = conn
                .prepare_cached(
                    "UPDATE event_definitions SET definition = ?3, updated_at = ?4
                     WHERE account_id = ?1 AND name = ?2 AND deleted_at IS NULL
                     RETURNING definition_id, created_at",
                )
                .map_err(db)?
                .query_row(
                    params![account.0, definition.name, to_json(&definition)?, ms(now)],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .map_err(db)?;
            Ok(StoredEventDefinition {
                id: id.to_string(),
                definition,
                created_at: from_ms(created_ms),
                updated_at: from_ms(ms(now)),
            })
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
        self.write(move |conn| {
            let deleted = conn
                .prepare_cached(
                    "UPDATE event_definitions SET deleted_at = ?3, updated_at = ?3
                     WHERE account_id = ?1 AND name = ?2 AND deleted_at IS NULL",
                )
                .map_err(db)?
                .execute(params![account.0, name, ms(now)])
                .map_err(db)?;
            if deleted == 0 {
                return Err(StoreError::NotFound);
            }
            Ok(())
        })
        .await
    }
}
