//! PostgreSQL SQL for [`CustomEventStore`].
//!
//! The quota holds across any number of nodes: `create_event_definition` first locks the
//! account's row (`SELECT … FOR NO KEY UPDATE`), so creates in one account run one after the
//! other, then counts the live definitions and inserts, all in one transaction. `NO KEY UPDATE`
//! conflicts with itself but not with the `KEY SHARE` locks that foreign keys and other writes
//! take, so the rest of the account's traffic never waits on it. A name is never reused because
//! a deleted definition keeps its row (`deleted_at` set) and the primary key `(account_id, name)`
//! refuses a second insert.

use chronik_domain::custom_events::definition::EventDefinition;
use chronik_domain::AccountId;
use chrono::{DateTime, Utc};
use sqlx::postgres::PgRow;
use sqlx::types::Json;
use sqlx::Row;

use super::{db, from_ms, ms, PostgresStore};
use crate::custom_events::*;
use crate::StoreError;

const QUOTA: &str = "event definitions";
const NAME_CONSTRAINT: &str = "event definition name";

/// Reads `definition_id, definition, created_at, updated_at`.
fn definition_row(r: &PgRow) -> Result<StoredEventDefinition, StoreError> {
    Ok(StoredEventDefinition {
        id: r.try_get::<i64, _>(0).map_err(db)?.to_string(),
        definition: r.try_get::<Json<EventDefinition>, _>(1).map_err(db)?.0,
        created_at: from_ms(r.try_get(2).map_err(db)?),
        updated_at: from_ms(r.try_get(3).map_err(db)?),
    })
}

fn name_taken(existing: i64) -> StoreError {
    StoreError::Conflict {
        constraint: NAME_CONSTRAINT,
        existing_id: Some(existing.to_string()),
    }
}

#[async_trait::async_trait]
impl CustomEventStore for PostgresStore {
    #[tracing::instrument(skip_all, fields(account = %account))]
    async fn create_event_definition(
        &self,
        account: AccountId,
        definition: &EventDefinition,
        max_definitions: u64,
        now: DateTime<Utc>,
    ) -> Result<StoredEventDefinition, StoreError> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        // Serializes this account's creates on every node until the commit.
        sqlx::query("SELECT 1 FROM accounts WHERE account_id = $1 FOR NO KEY UPDATE")
            .bind(account.0)
            .fetch_one(&mut *tx)
            .await
            .map_err(db)?;
        let (holder, live): (Option<i64>, i64) = sqlx::query_as(
            "SELECT (SELECT definition_id FROM event_definitions
                     WHERE account_id = $1 AND name = $2),
                    (SELECT COUNT(*) FROM event_definitions
                     WHERE account_id = $1 AND deleted_at IS NULL)",
        )
        .bind(account.0)
        .bind(&definition.name)
        .fetch_one(&mut *tx)
        .await
        .map_err(db)?;
        if let Some(existing) = holder {
            return Err(name_taken(existing));
        }
        if u64::try_from(live).unwrap_or(u64::MAX) >= max_definitions {
            return Err(StoreError::QuotaExceeded {
                quota: QUOTA,
                limit: max_definitions,
            });
        }
        // The primary key stays the last word on the name: a holder that slipped in would make
        // this insert return no row instead of writing a second one.
        let row = sqlx::query(
            "INSERT INTO event_definitions (account_id, name, definition, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $4)
             ON CONFLICT (account_id, name) DO NOTHING
             RETURNING definition_id, definition, created_at, updated_at",
        )
        .bind(account.0)
        .bind(&definition.name)
        .bind(Json(definition))
        .bind(ms(now))
        .fetch_optional(&mut *tx)
        .await
        .map_err(db)?;
        let Some(row) = row else {
            let existing: i64 = sqlx::query_scalar(
                "SELECT definition_id FROM event_definitions WHERE account_id = $1 AND name = $2",
            )
            .bind(account.0)
            .bind(&definition.name)
            .fetch_one(&mut *tx)
            .await
            .map_err(db)?;
            return Err(name_taken(existing));
        };
        let stored = definition_row(&row)?;
        tx.commit().await.map_err(db)?;
        Self::committed(1);
        Ok(stored)
    }

    #[tracing::instrument(skip_all, fields(account = %account))]
    async fn list_event_definitions(
        &self,
        account: AccountId,
    ) -> Result<Vec<StoredEventDefinition>, StoreError> {
        let rows = sqlx::query(
            "SELECT definition_id, definition, created_at, updated_at FROM event_definitions
             WHERE account_id = $1 AND deleted_at IS NULL
             ORDER BY name",
        )
        .bind(account.0)
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        rows.iter().map(definition_row).collect()
    }

    #[tracing::instrument(skip_all, fields(account = %account))]
    async fn get_event_definition(
        &self,
        account: AccountId,
        name: &str,
    ) -> Result<StoredEventDefinition, StoreError> {
        let row = sqlx::query(
            "SELECT definition_id, definition, created_at, updated_at FROM event_definitions
             WHERE account_id = $1 AND name = $2 AND deleted_at IS NULL",
        )
        .bind(account.0)
        .bind(name)
        .fetch_one(&self.pool)
        .await
        .map_err(db)?;
        definition_row(&row)
    }

    #[tracing::instrument(skip_all, fields(account = %account))]
    async fn update_event_definition(
        &self,
        account: AccountId,
        definition: &EventDefinition,
        now: DateTime<Utc>,
    ) -> Result<StoredEventDefinition, StoreError> {
        let row = sqlx::query(
            "UPDATE event_definitions SET definition = $3, updated_at = $4
             WHERE account_id = $1 AND name = $2 AND deleted_at IS NULL
             RETURNING definition_id, definition, created_at, updated_at",
        )
        .bind(account.0)
        .bind(&definition.name)
        .bind(Json(definition))
        .bind(ms(now))
        .fetch_one(&self.pool)
        .await
        .map_err(db)?;
        Self::committed(1);
        definition_row(&row)
    }

    #[tracing::instrument(skip_all, fields(account = %account))]
    async fn delete_event_definition(
        &self,
        account: AccountId,
        name: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let deleted = sqlx::query(
            "UPDATE event_definitions SET deleted_at = $3, updated_at = $3
             WHERE account_id = $1 AND name = $2 AND deleted_at IS NULL",
        )
        .bind(account.0)
        .bind(name)
        .bind(ms(now))
        .execute(&self.pool)
        .await
        .map_err(db)?
        .rows_affected();
        if deleted == 0 {
            return Err(StoreError::NotFound);
        }
        Self::committed(deleted);
        Ok(())
    }
}
