//! Reading timeline events on PostgreSQL: one by id, and a page of a record's timeline.
//!
//! A record's page is read from the index `(account_id, object_type_id, object_id,
//! occurred_at_ms, seq)` backwards, so the first page of a record with 10,000 events costs
//! its page and not its history; for a contact, the waiting events of its utks come from
//! `(account_id, utk, occurred_at_ms, seq)` the same way, and the two are merged.

use chronik_domain::crm::object_type::StandardType;
use chronik_domain::timeline::event::EventBody;
use chronik_domain::{AccountId, EventTypeId, ObjectId};
use sqlx::postgres::PgRow;
use sqlx::types::Json;
use sqlx::{PgPool, Postgres, QueryBuilder, Row};

use super::super::{db, from_ms, ms};
use crate::error::stored_type_id;
use crate::timeline::*;
use crate::StoreError;

/// Reads `event_type_id, event_id, object_type_id, object_id, occurred_at_ms, seq, body,
/// created_at`.
fn event_row(r: &PgRow) -> Result<StoredTimelineEvent, StoreError> {
    Ok(StoredTimelineEvent {
        type_id: EventTypeId(r.try_get(0).map_err(db)?),
        id: r.try_get(1).map_err(db)?,
        object_type_id: stored_type_id(r.try_get(2).map_err(db)?)?,
        object_id: r.try_get::<Option<i64>, _>(3).map_err(db)?.map(ObjectId),
        cursor: TimelineCursor {
            occurred_at_ms: r.try_get(4).map_err(db)?,
            seq: r.try_get(5).map_err(db)?,
        },
        body: r.try_get::<Json<EventBody>, _>(6).map_err(db)?.0,
        created_at: from_ms(r.try_get(7).map_err(db)?),
    })
}

/// [`TimelineStore::get_timeline_event`]. A waiting event whose utk a contact now has reads
/// as that contact's.
pub(super) async fn get(
    pool: &PgPool,
    account: AccountId,
    type_id: EventTypeId,
    id: &str,
) -> Result<StoredTimelineEvent, StoreError> {
    let row = sqlx::query(
        "SELECT e.event_type_id, e.event_id, e.object_type_id,
                COALESCE(e.object_id, v.object_id), e.occurred_at_ms, e.seq, e.body,
                e.created_at
         FROM timeline_events e
         LEFT JOIN visitor_tokens v
             ON e.object_id IS NULL AND v.account_id = e.account_id AND v.utk = e.utk
         WHERE e.account_id = $1 AND e.event_type_id = $2 AND e.event_id = $3",
    )
    .bind(account.0)
    .bind(type_id.0)
    .bind(id)
    .fetch_one(pool)
    .await
    .map_err(db)?;
    event_row(&row)
}

/// The conditions both halves of a page share: types, times, cursor, live types.
fn push_filters(sql: &mut QueryBuilder<Postgres>, query: &TimelineQuery) {
    if !query.type_ids.is_empty() {
        let ids: Vec<i64> = query.type_ids.iter().map(|t| t.0).collect();
        sql.push(" AND e.event_type_id = ANY(")
            .push_bind(ids)
            .push(")");
    }
    if let Some(t) = query.occurred_after {
        sql.push(" AND e.occurred_at_ms >= ").push_bind(ms(t));
    }
    if let Some(t) = query.occurred_before {
        sql.push(" AND e.occurred_at_ms <= ").push_bind(ms(t));
    }
    if let Some(c) = query.before {
        sql.push(" AND (e.occurred_at_ms, e.seq) < (")
            .push_bind(c.occurred_at_ms)
            .push(", ")
            .push_bind(c.seq)
            .push(")");
    }
    // A scalar subquery, run for each row the index scan yields, and not NOT EXISTS: the
    // planner turns that into an anti join whose row estimate (from the types' statistics,
    // or none) can make it read and sort the record's whole history instead of stopping at
    // the limit (10 ms instead of 1 ms for a contact with 10,000 events).
    sql.push(
        " AND (SELECT t.deleted_at FROM timeline_event_types t
               WHERE t.event_type_id = e.event_type_id) IS NULL",
    );
}

/// [`TimelineStore::query_timeline_events`].
pub(super) async fn query(
    pool: &PgPool,
    account: AccountId,
    query: &TimelineQuery,
) -> Result<TimelinePage, StoreError> {
    let (type_id, ObjectId(object_id)) = query.record;
    let limit = query.limit as i64 + 1;
    let mut sql: QueryBuilder<Postgres> = QueryBuilder::new(
        "SELECT * FROM ((
             SELECT e.event_type_id, e.event_id, e.object_type_id, e.object_id,
                    e.occurred_at_ms, e.seq, e.body, e.created_at
             FROM timeline_events e
             WHERE e.account_id = ",
    );
    sql.push_bind(account.0)
        .push(" AND e.object_type_id = ")
        .push_bind(type_id.to_string())
        .push(" AND e.object_id = ")
        .push_bind(object_id);
    push_filters(&mut sql, query);
    sql.push(" ORDER BY e.occurred_at_ms DESC, e.seq DESC LIMIT ")
        .push_bind(limit)
        .push(")");
    if type_id == StandardType::Contacts.type_id() {
        // The events still waiting for a utk this contact now has.
        sql.push(
            " UNION ALL (
             SELECT e.event_type_id, e.event_id, e.object_type_id, v.object_id,
                    e.occurred_at_ms, e.seq, e.body, e.created_at
             FROM visitor_tokens v
             JOIN timeline_events e
                 ON e.account_id = v.account_id AND e.utk = v.utk AND e.object_id IS NULL
             WHERE v.account_id = ",
        )
        .push_bind(account.0)
        .push(" AND v.object_id = ")
        .push_bind(object_id);
        push_filters(&mut sql, query);
        sql.push(" ORDER BY e.occurred_at_ms DESC, e.seq DESC LIMIT ")
            .push_bind(limit)
            .push(")");
    }
    sql.push(") page ORDER BY occurred_at_ms DESC, seq DESC LIMIT ")
        .push_bind(limit);
    // Planned with each call's values, never as a prepared statement (a generic plan knows
    // neither the limit nor the record, as postgres/custom_events.rs explains).
    let rows = sql
        .build()
        .persistent(false)
        .fetch_all(pool)
        .await
        .map_err(db)?;
    let mut items = rows.iter().map(event_row).collect::<Result<Vec<_>, _>>()?;
    let more = items.len() > query.limit;
    items.truncate(query.limit);
    Ok(TimelinePage { items, more })
}
