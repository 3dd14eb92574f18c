//! SQLite SQL for [`TimelineStore`]: see `crate::timeline` for the model and
//! `migrations/0010_timeline.sql` for the tables.
//!
//! Writes run on the single writer thread, so counting an app's live types and inserting a new
//! one, or reading a type, changing it and writing it back, are one step by construction: no
//! other write runs in between. Storing events is `timeline_events.rs`; reading them is here.

use chronik_domain::timeline::event_type::EventTypeDefinition;
use chronik_domain::{AccountId, AppId, DomainError, EventTypeId};
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, Row};

use super::{db, from_json, from_ms, ms, next_id, SqliteStore};
use crate::timeline::*;
use crate::StoreError;

/// The columns [`type_row`] reads.
const TYPE_COLUMNS: &str =
    "event_type_id, app_id, definition, version, created_at, updated_at, deleted_at";

/// Reads [`TYPE_COLUMNS`].
fn type_row(r: &Row<'_>) -> rusqlite::Result<StoredEventType> {
    Ok(StoredEventType {
        id: EventTypeId(r.get(0)?),
        app: AppId(r.get(1)?),
        definition: from_json(r, 2)?,
        version: r.get(3)?,
        created_at: from_ms(r.get(4)?),
        updated_at: from_ms(r.get(5)?),
        deleted_at: r.get::<_, Option<i64>>(6)?.map(from_ms),
    })
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(StoreError::internal)
}

/// The live type `id` of `app`; `NotFound` when none.
fn live_type(
    conn: &Connection,
    app: AppId,
    id: EventTypeId,
) -> Result<StoredEventType, StoreError> {
    conn.prepare_cached(&format!(
        "SELECT {TYPE_COLUMNS} FROM timeline_event_types
         WHERE event_type_id = ?1 AND app_id = ?2 AND deleted_at IS NULL"
    ))
    .map_err(db)?
    .query_row(params![id.0, app.0], type_row)
    .map_err(db)
}

#[async_trait::async_trait]
impl TimelineStore for SqliteStore {
    #[tracing::instrument(skip_all, fields(app = %app))]
    async fn create_event_type(
        &self,
        app: AppId,
        definition: &EventTypeDefinition,
        max_per_app: u64,
        now: DateTime<Utc>,
    ) -> Result<StoredEventType, StoreError> {
        let definition = definition.clone();
        self.write(move |conn| {
            conn.prepare_cached("SELECT 1 FROM apps WHERE app_id = ?1")
                .map_err(db)?
                .query_row([app.0], |_| Ok(()))
                .map_err(db)?;
            // The single writer runs this job alone: the count and the insert are one step.
            let live: i64 = conn
                .prepare_cached(
                    "SELECT COUNT(*) FROM timeline_event_types
                     WHERE app_id = ?1 AND deleted_at IS NULL",
                )
                .map_err(db)?
                .query_row([app.0], |r| r.get(0))
                .map_err(db)?;
            if u64::try_from(live).unwrap_or(u64::MAX) >= max_per_app {
                return Err(StoreError::QuotaExceeded {
                    quota: EVENT_TYPES_QUOTA,
                    limit: max_per_app,
                });
            }
            let id = next_id(conn, "timeline_event_type")?;
            conn.prepare_cached(
                "INSERT INTO timeline_event_types
                     (event_type_id, app_id, definition, version, created_at, updated_at)
                 VALUES (?1, ?2, ?3, 1, ?4, ?4)",
            )
            .map_err(db)?
            .execute(params![id, app.0, to_json(&definition)?, ms(now)])
            .map_err(db)?;
            Ok(StoredEventType {
                id: EventTypeId(id),
                app,
                definition,
                version: 1,
                created_at: from_ms(ms(now)),
                updated_at: from_ms(ms(now)),
                deleted_at: None,
            })
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(app = %app))]
    async fn list_event_types(&self, app: AppId) -> Result<Vec<StoredEventType>, StoreError> {
        self.read(move |conn| {
            let mut stmt = conn
                .prepare_cached(&format!(
                    "SELECT {TYPE_COLUMNS} FROM timeline_event_types
                     WHERE app_id = ?1 AND deleted_at IS NULL
                     ORDER BY event_type_id"
                ))
                .map_err(db)?;
            let rows = stmt.query_map([app.0], type_row).map_err(db)?;
            rows.collect::<Result<Vec<_>, _>>().map_err(db)
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(id = %id))]
    async fn get_event_type(&self, id: EventTypeId) -> Result<StoredEventType, StoreError> {
        self.read(move |conn| {
            conn.prepare_cached(&format!(
                "SELECT {TYPE_COLUMNS} FROM timeline_event_types WHERE event_type_id = ?1"
            ))
            .map_err(db)?
            .query_row([id.0], type_row)
            .map_err(db)
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(app = %app, id = %id))]
    async fn modify_event_type(
        &self,
        app: AppId,
        id: EventTypeId,
        change: EventTypeChange,
        now: DateTime<Utc>,
    ) -> Result<Result<StoredEventType, DomainError>, StoreError> {
        // The single writer runs this job alone: the read, the change and the write are one
        // step, so concurrent changes apply one after the other.
        self.write(move |conn| {
            let current = live_type(conn, app, id)?;
            let next = match change(&current.definition) {
                Ok(next) => next,
                Err(refused) => return Ok(Err(refused)),
            };
            if next.object_type.type_id != current.definition.object_type.type_id {
                return Err(StoreError::internal(
                    "an event type change must keep its object type",
                ));
            }
            let version = current.version + 1;
            conn.prepare_cached(
                "UPDATE timeline_event_types SET definition = ?2, version = ?3, updated_at = ?4
                 WHERE event_type_id = ?1",
            )
            .map_err(db)?
            .execute(params![id.0, to_json(&next)?, version, ms(now)])
            .map_err(db)?;
            Ok(Ok(StoredEventType {
                definition: next,
                version,
                updated_at: from_ms(ms(now)),
                ..current
            }))
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(app = %app, id = %id))]
    async fn delete_event_type(
        &self,
        app: AppId,
        id: EventTypeId,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.write(move |conn| {
            // The version stays: events of a deleted type are refused as such
            // (`EventWrite::TypeDeleted`), whatever version they were checked against.
            let deleted = conn
                .prepare_cached(
                    "UPDATE timeline_event_types SET deleted_at = ?3, updated_at = ?3
                     WHERE event_type_id = ?1 AND app_id = ?2 AND deleted_at IS NULL",
                )
                .map_err(db)?
                .execute(params![id.0, app.0, ms(now)])
                .map_err(db)?;
            if deleted == 0 {
                return Err(StoreError::NotFound);
            }
            Ok(())
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(account = %account, count = events.len()))]
    async fn store_timeline_events(
        &self,
        account: AccountId,
        events: Vec<NewTimelineEvent>,
        now: DateTime<Utc>,
    ) -> Result<Result<Vec<EventWrite>, TimelineRefusal>, StoreError> {
        let _ = (account, events, now);
        Err(StoreError::internal(
            "timeline events are not stored by this backend yet",
        ))
    }

    #[tracing::instrument(skip_all, fields(account = %account))]
    async fn get_timeline_event(
        &self,
        account: AccountId,
        type_id: EventTypeId,
        id: &str,
    ) -> Result<StoredTimelineEvent, StoreError> {
        let _ = (account, type_id, id);
        Err(StoreError::internal(
            "timeline events are not stored by this backend yet",
        ))
    }

    #[tracing::instrument(skip_all, fields(account = %account))]
    async fn query_timeline_events(
        &self,
        account: AccountId,
        query: &TimelineQuery,
    ) -> Result<TimelinePage, StoreError> {
        let _ = (account, query);
        Err(StoreError::internal(
            "timeline events are not stored by this backend yet",
        ))
    }
}
