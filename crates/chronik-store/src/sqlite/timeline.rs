//! SQLite SQL for [`TimelineStore`]: see `crate::timeline` for the model and
//! `migrations/0010_timeline.sql` for the tables.
//!
//! Writes run on the single writer thread, so counting an app's live types and inserting a new
//! one, or reading a type, changing it and writing it back, are one step by construction: no
//! other write runs in between. Storing events is `timeline_events.rs`; reading them is here.

use chronik_domain::crm::object_type::StandardType;
use chronik_domain::timeline::event_type::EventTypeDefinition;
use chronik_domain::{AccountId, AppId, DomainError, EventTypeId, ObjectId};
use chrono::{DateTime, Utc};
use rusqlite::types::Value;
use rusqlite::{params, params_from_iter, Connection, Row};

use super::timeline_events::store_events;
use super::{db, from_json, from_ms, ms, next_id, type_id_column, SqliteStore};
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
        self.write(move |conn| store_events(conn, account, events, now))
            .await
    }

    #[tracing::instrument(skip_all, fields(account = %account))]
    async fn get_timeline_event(
        &self,
        account: AccountId,
        type_id: EventTypeId,
        id: &str,
    ) -> Result<StoredTimelineEvent, StoreError> {
        let id = id.to_owned();
        self.read(move |conn| {
            // A waiting event reads as its contact's once a contact has its utk.
            conn.prepare_cached(
                "SELECT e.seq, e.event_type_id, e.event_id, e.object_type_id,
                        COALESCE(e.object_id, (SELECT v.object_id FROM visitor_tokens v
                                               WHERE v.account_id = e.account_id AND v.utk = e.utk)),
                        e.occurred_at, e.body, e.created_at
                 FROM timeline_events e
                 WHERE e.account_id = ?1 AND e.event_type_id = ?2 AND e.event_id = ?3",
            )
            .map_err(db)?
            .query_row(params![account.0, type_id.0, id], event_row)
            .map_err(db)
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(account = %account))]
    async fn query_timeline_events(
        &self,
        account: AccountId,
        query: &TimelineQuery,
    ) -> Result<TimelinePage, StoreError> {
        let query = query.clone();
        self.read_scan(account, move |conn| {
            // One read transaction: both halves see the same commit.
            let read = conn.unchecked_transaction().map_err(db)?;
            let mut items = select_events(&read, account, &query, Half::Record)?;
            if query.record.0 == StandardType::Contacts.type_id() {
                // Waiting events whose utk the contact now has are the contact's.
                let waiting = select_events(&read, account, &query, Half::Waiting)?;
                items.extend(waiting.into_iter().map(|e| StoredTimelineEvent {
                    object_id: Some(query.record.1),
                    ..e
                }));
                items.sort_by_key(|e| std::cmp::Reverse(e.cursor));
            }
            read.finish().map_err(db)?;
            let more = items.len() > query.limit;
            items.truncate(query.limit);
            Ok(TimelinePage { items, more })
        })
        .await
    }
}

/// The columns [`event_row`] reads (of `timeline_events e`).
const EVENT_COLUMNS: &str = "e.seq, e.event_type_id, e.event_id, e.object_type_id, e.object_id, \
                             e.occurred_at, e.body, e.created_at";

/// Reads [`EVENT_COLUMNS`].
fn event_row(r: &Row<'_>) -> rusqlite::Result<StoredTimelineEvent> {
    Ok(StoredTimelineEvent {
        type_id: EventTypeId(r.get(1)?),
        id: r.get(2)?,
        object_type_id: type_id_column(r, 3)?,
        object_id: r.get::<_, Option<i64>>(4)?.map(ObjectId),
        cursor: TimelineCursor {
            occurred_at_ms: r.get(5)?,
            seq: r.get(0)?,
        },
        body: from_json(r, 6)?,
        created_at: from_ms(r.get(7)?),
    })
}

/// Which of a record's timeline events [`select_events`] reads.
#[derive(Debug, Clone, Copy)]
pub(super) enum Half {
    /// The events stored with the record.
    Record,
    /// The waiting events of the utks linked to the contact.
    Waiting,
}

/// The first `limit + 1` events of one half of a record's timeline, newest first, of live
/// types only.
fn select_events(
    conn: &Connection,
    account: AccountId,
    query: &TimelineQuery,
    half: Half,
) -> Result<Vec<StoredTimelineEvent>, StoreError> {
    let (sql, args) = events_sql(account, query, half);
    let mut stmt = conn.prepare_cached(&sql).map_err(db)?;
    let rows = stmt
        .query_map(params_from_iter(args), event_row)
        .map_err(db)?;
    rows.collect::<Result<Vec<_>, _>>().map_err(db)
}

/// The SQL of [`select_events`] and its arguments.
pub(super) fn events_sql(
    account: AccountId,
    query: &TimelineQuery,
    half: Half,
) -> (String, Vec<Value>) {
    let (type_id, object_id) = query.record;
    // The join order is fixed (CROSS JOIN) and so is the index: the page walks the record's
    // (or utk's) index entries newest first and stops at the limit, whatever the type filter
    // makes the planner guess.
    let (mut sql, mut args) = match half {
        Half::Record => (
            format!(
                "SELECT {EVENT_COLUMNS}
                 FROM timeline_events e INDEXED BY timeline_events_by_record
                 CROSS JOIN timeline_event_types t
                 WHERE e.account_id = ? AND e.object_type_id = ? AND e.object_id = ?
                   AND t.event_type_id = e.event_type_id AND t.deleted_at IS NULL"
            ),
            vec![
                Value::Integer(account.0),
                Value::Text(type_id.to_string()),
                Value::Integer(object_id.0),
            ],
        ),
        Half::Waiting => (
            format!(
                "SELECT {EVENT_COLUMNS}
                 FROM visitor_tokens v
                 CROSS JOIN timeline_events e INDEXED BY timeline_events_waiting
                 CROSS JOIN timeline_event_types t
                 WHERE v.account_id = ? AND v.object_id = ?
                   AND e.account_id = v.account_id AND e.utk = v.utk AND e.object_id IS NULL
                   AND t.event_type_id = e.event_type_id AND t.deleted_at IS NULL"
            ),
            vec![Value::Integer(account.0), Value::Integer(object_id.0)],
        ),
    };
    if !query.type_ids.is_empty() {
        sql.push_str(" AND e.event_type_id IN (");
        sql.push_str(&vec!["?"; query.type_ids.len()].join(", "));
        sql.push(')');
        args.extend(query.type_ids.iter().map(|t| Value::Integer(t.0)));
    }
    if let Some(t) = query.occurred_after {
        sql.push_str(" AND e.occurred_at >= ?");
        args.push(Value::Integer(ms(t)));
    }
    if let Some(t) = query.occurred_before {
        sql.push_str(" AND e.occurred_at <= ?");
        args.push(Value::Integer(ms(t)));
    }
    if let Some(c) = query.before {
        // The first term bounds the index range; the second skips the cursor's own time.
        sql.push_str(" AND e.occurred_at <= ? AND (e.occurred_at < ? OR e.seq < ?)");
        args.extend([
            Value::Integer(c.occurred_at_ms),
            Value::Integer(c.occurred_at_ms),
            Value::Integer(c.seq),
        ]);
    }
    sql.push_str(" ORDER BY e.occurred_at DESC, e.seq DESC LIMIT ?");
    args.push(Value::Integer(
        i64::try_from(query.limit).unwrap_or(i64::MAX - 1) + 1,
    ));
    (sql, args)
}
