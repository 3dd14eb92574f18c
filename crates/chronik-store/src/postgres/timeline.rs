//! [`TimelineStore`] on PostgreSQL: see `crate::timeline` for the model and
//! `migrations/0008_timeline.sql` for the tables. Any number of nodes share the database, so
//! every invariant is kept by the statement or transaction that writes:
//! - The per-app quota: `create_event_type` locks the app's row (`FOR NO KEY UPDATE`, which
//!   conflicts with itself but not with the `KEY SHARE` of foreign keys), so creates of one app
//!   run one after the other, then counts the live types and inserts in a later statement (a
//!   fresh snapshot, which sees the creates it waited for).
//! - Changes of a type read, change and write its row under `FOR UPDATE`; events are written
//!   under `FOR SHARE` on their types' rows, so a change waits for the writes under way and the
//!   writes after it see its version ([`write`]).
//! - Event ids: the primary key, with `ON CONFLICT DO NOTHING` (the first event is kept).
//! - Stamps: a conditional upsert per record and property ([`stamp`]).
//!
//! Event types are here; writing events is [`write`] and [`stamp`], reading them [`read`].

mod read;
mod stamp;
mod write;

#[cfg(test)]
mod tests;

use chronik_domain::timeline::event_type::EventTypeDefinition;
use chronik_domain::{AccountId, AppId, DomainError, EventTypeId};
use chrono::{DateTime, Utc};
use sqlx::postgres::PgRow;
use sqlx::types::Json;
use sqlx::Row;

use super::{db, from_ms, ms, PostgresStore};
use crate::timeline::*;
use crate::StoreError;

/// The columns [`type_row`] reads, for `concat!`.
macro_rules! type_columns {
    () => {
        "event_type_id, app_id, definition, version, created_at, updated_at, deleted_at"
    };
}

/// Reads [`type_columns`].
fn type_row(r: &PgRow) -> Result<StoredEventType, StoreError> {
    Ok(StoredEventType {
        id: EventTypeId(r.try_get(0).map_err(db)?),
        app: AppId(r.try_get(1).map_err(db)?),
        definition: r.try_get::<Json<EventTypeDefinition>, _>(2).map_err(db)?.0,
        version: r.try_get(3).map_err(db)?,
        created_at: from_ms(r.try_get(4).map_err(db)?),
        updated_at: from_ms(r.try_get(5).map_err(db)?),
        deleted_at: r.try_get::<Option<i64>, _>(6).map_err(db)?.map(from_ms),
    })
}

#[async_trait::async_trait]
impl TimelineStore for PostgresStore {
    #[tracing::instrument(skip_all, fields(app = %app))]
    async fn create_event_type(
        &self,
        app: AppId,
        definition: &EventTypeDefinition,
        max_per_app: u64,
        now: DateTime<Utc>,
    ) -> Result<StoredEventType, StoreError> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        // Held until the commit: this app's creates on every node wait here, one at a time.
        sqlx::query("SELECT 1 FROM apps WHERE app_id = $1 FOR NO KEY UPDATE")
            .bind(app.0)
            .fetch_one(&mut *tx)
            .await
            .map_err(db)?;
        // A statement of its own, so that its snapshot sees every create it waited for.
        let live: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM timeline_event_types WHERE app_id = $1 AND deleted_at IS NULL",
        )
        .bind(app.0)
        .fetch_one(&mut *tx)
        .await
        .map_err(db)?;
        if u64::try_from(live).unwrap_or(u64::MAX) >= max_per_app {
            return Err(StoreError::QuotaExceeded {
                quota: EVENT_TYPES_QUOTA,
                limit: max_per_app,
            });
        }
        let row = sqlx::query(concat!(
            "INSERT INTO timeline_event_types (app_id, definition, version, created_at, updated_at)
             VALUES ($1, $2, 1, $3, $3)
             RETURNING ",
            type_columns!()
        ))
        .bind(app.0)
        .bind(Json(definition))
        .bind(ms(now))
        .fetch_one(&mut *tx)
        .await
        .map_err(db)?;
        let stored = type_row(&row)?;
        tx.commit().await.map_err(db)?;
        Self::committed(1);
        Ok(stored)
    }

    #[tracing::instrument(skip_all, fields(app = %app))]
    async fn list_event_types(&self, app: AppId) -> Result<Vec<StoredEventType>, StoreError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            type_columns!(),
            " FROM timeline_event_types
             WHERE app_id = $1 AND deleted_at IS NULL
             ORDER BY event_type_id"
        ))
        .bind(app.0)
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        rows.iter().map(type_row).collect()
    }

    #[tracing::instrument(skip_all, fields(event_type = %id))]
    async fn get_event_type(&self, id: EventTypeId) -> Result<StoredEventType, StoreError> {
        let row = sqlx::query(concat!(
            "SELECT ",
            type_columns!(),
            " FROM timeline_event_types WHERE event_type_id = $1"
        ))
        .bind(id.0)
        .fetch_one(&self.pool)
        .await
        .map_err(db)?;
        type_row(&row)
    }

    #[tracing::instrument(skip_all, fields(app = %app, event_type = %id))]
    async fn modify_event_type(
        &self,
        app: AppId,
        id: EventTypeId,
        change: EventTypeChange,
        now: DateTime<Utc>,
    ) -> Result<Result<StoredEventType, DomainError>, StoreError> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        // FOR UPDATE: concurrent changes of this type on any node wait for this one and then
        // read what it wrote; event writes (FOR SHARE) wait too, and then see the new version.
        let row = sqlx::query(concat!(
            "SELECT ",
            type_columns!(),
            " FROM timeline_event_types
             WHERE event_type_id = $1 AND app_id = $2 AND deleted_at IS NULL
             FOR UPDATE"
        ))
        .bind(id.0)
        .bind(app.0)
        .fetch_one(&mut *tx)
        .await
        .map_err(db)?;
        let current = type_row(&row)?;
        let next = match change(&current.definition) {
            Ok(next) => next,
            Err(refused) => return Ok(Err(refused)),
        };
        if next.object_type.type_id != current.definition.object_type.type_id {
            // Stored events carry the object type: it cannot change under them.
            return Err(StoreError::internal(
                "an event type change tried to change its object type",
            ));
        }
        let row = sqlx::query(concat!(
            "UPDATE timeline_event_types
             SET definition = $2, version = version + 1, updated_at = $3
             WHERE event_type_id = $1
             RETURNING ",
            type_columns!()
        ))
        .bind(id.0)
        .bind(Json(&next))
        .bind(ms(now))
        .fetch_one(&mut *tx)
        .await
        .map_err(db)?;
        let stored = type_row(&row)?;
        tx.commit().await.map_err(db)?;
        Self::committed(1);
        Ok(Ok(stored))
    }

    #[tracing::instrument(skip_all, fields(app = %app, event_type = %id))]
    async fn delete_event_type(
        &self,
        app: AppId,
        id: EventTypeId,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        // The row stays (its events stay readable by id); the version does not change, so a
        // write checked against it finds the type deleted rather than changed.
        let deleted = sqlx::query(
            "UPDATE timeline_event_types SET deleted_at = $3, updated_at = $3
             WHERE event_type_id = $1 AND app_id = $2 AND deleted_at IS NULL",
        )
        .bind(id.0)
        .bind(app.0)
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

    #[tracing::instrument(skip_all, fields(account = %account, count = events.len()))]
    async fn store_timeline_events(
        &self,
        account: AccountId,
        events: Vec<NewTimelineEvent>,
        now: DateTime<Utc>,
    ) -> Result<Result<Vec<EventWrite>, TimelineRefusal>, StoreError> {
        write::store(self, account, events, now).await
    }

    #[tracing::instrument(skip_all, fields(account = %account, event_type = %type_id))]
    async fn get_timeline_event(
        &self,
        account: AccountId,
        type_id: EventTypeId,
        id: &str,
    ) -> Result<StoredTimelineEvent, StoreError> {
        read::get(&self.pool, account, type_id, id).await
    }

    #[tracing::instrument(skip_all, fields(account = %account))]
    async fn query_timeline_events(
        &self,
        account: AccountId,
        query: &TimelineQuery,
    ) -> Result<TimelinePage, StoreError> {
        read::query(&self.pool, account, query).await
    }
}
