//! Stamps of the events one [`TimelineStore::store_timeline_events`] call stored (see
//! `write.rs` for the rest of the call): per record and property the call's newest stamp, in
//! (object type, record, property) order so that concurrent calls never wait on each other in
//! a cycle, through one upsert that replaces a row only for a newer `(occurred_at_ms, seq)` and
//! returns the rows it wrote; only those set the CRM property, with history and last-modified
//! as CRM updates do. A stamp whose row an uncommitted call holds waits for it and then
//! compares with what that call committed, so the newest event wins whatever the arrival order
//! and node.

use std::collections::BTreeMap;

use chronik_domain::AccountId;
use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use super::super::crm::lock_records;
use super::super::{db, ms};
use super::write::Stored;
use crate::history;
use crate::timeline::*;
use crate::StoreError;

/// One stamp row: the newest of the call for its record and property.
struct StampRow<'a> {
    at: i64,
    seq: i64,
    event_type: i64,
    event_id: &'a str,
    value: &'a str,
}

/// Applies the stamps of the stored events that have a record (waiting events stamp
/// nothing); returns the rows written.
pub(super) async fn apply(
    conn: &mut PgConnection,
    account: AccountId,
    events: &[NewTimelineEvent],
    stored: &[Stored],
    now: DateTime<Utc>,
) -> Result<u64, StoreError> {
    // Keyed (object type, record, property): the order rows are locked in.
    let mut newest: BTreeMap<(String, i64, &str), StampRow<'_>> = BTreeMap::new();
    for s in stored {
        let Some(object_id) = s.object_id else {
            continue;
        };
        let e = &events[s.index];
        let at = ms(e.event.occurred_at);
        for st in &e.event.stamps {
            let row = StampRow {
                at,
                seq: s.seq,
                event_type: e.type_id.0,
                event_id: &e.event.id,
                value: &st.value,
            };
            let key = (
                e.object_type_id.to_string(),
                object_id,
                st.property.as_str(),
            );
            match newest.get(&key) {
                Some(held) if (held.at, held.seq) > (at, s.seq) => {}
                _ => {
                    newest.insert(key, row);
                }
            }
        }
    }
    if newest.is_empty() {
        return Ok(0);
    }
    let (mut types, mut objects, mut properties) = (Vec::new(), Vec::new(), Vec::new());
    let (mut times, mut seqs, mut event_types, mut event_ids, mut values) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for ((t, o, p), r) in &newest {
        types.push(t.as_str());
        objects.push(*o);
        properties.push(*p);
        times.push(r.at);
        seqs.push(r.seq);
        event_types.push(r.event_type);
        event_ids.push(r.event_id);
        values.push(r.value);
    }
    let won: Vec<(i64, String, String)> = sqlx::query_as(
        "INSERT INTO timeline_stamps AS s (account_id, object_type_id, object_id, property,
                                          occurred_at_ms, seq, event_type_id, event_id, value)
         SELECT $1, k.t, k.o, k.p, k.at, k.seq, k.et, k.ei, k.v
         FROM UNNEST($2::text[], $3::bigint[], $4::text[], $5::bigint[], $6::bigint[],
                     $7::bigint[], $8::text[], $9::text[])
             WITH ORDINALITY AS k(t, o, p, at, seq, et, ei, v, n)
         ORDER BY k.n
         ON CONFLICT (account_id, object_type_id, object_id, property) DO UPDATE
         SET occurred_at_ms = excluded.occurred_at_ms, seq = excluded.seq,
             event_type_id = excluded.event_type_id, event_id = excluded.event_id,
             value = excluded.value
         WHERE (excluded.occurred_at_ms, excluded.seq) > (s.occurred_at_ms, s.seq)
         RETURNING object_id, property, value",
    )
    .bind(account.0)
    .bind(&types)
    .bind(&objects)
    .bind(&properties)
    .bind(&times)
    .bind(&seqs)
    .bind(&event_types)
    .bind(&event_ids)
    .bind(&values)
    .fetch_all(&mut *conn)
    .await
    .map_err(db)?;
    let stamped = won.len() as u64;
    let mut set: BTreeMap<i64, BTreeMap<String, String>> = BTreeMap::new();
    for (object, property, value) in won {
        set.entry(object).or_default().insert(property, value);
    }
    Ok(stamped + set_properties(conn, account, &set, now).await?)
}

/// Sets CRM properties as a CRM update does (values, history, last-modified), for many
/// records in two statements: their rows locked in id order, then written.
async fn set_properties(
    conn: &mut PgConnection,
    account: AccountId,
    set: &BTreeMap<i64, BTreeMap<String, String>>,
    now: DateTime<Utc>,
) -> Result<u64, StoreError> {
    if set.is_empty() {
        return Ok(0);
    }
    let ids: Vec<i64> = set.keys().copied().collect();
    let mut current = lock_records(conn, account, None, &ids).await?;
    let (mut written, mut properties, mut histories) = (Vec::new(), Vec::new(), Vec::new());
    for (id, values) in set {
        let Some(state) = current.get_mut(id) else {
            continue;
        };
        let mut props = std::mem::take(&mut state.properties);
        let history = history::apply(
            &mut props,
            state.history.take(),
            state.created_ms,
            values,
            &[],
            ms(now),
        );
        written.push(*id);
        properties.push(serde_json::to_string(&props).map_err(StoreError::internal)?);
        histories.push(serde_json::to_string(&history).map_err(StoreError::internal)?);
    }
    Ok(sqlx::query(
        "UPDATE crm_objects o SET properties = u.p::jsonb, history = u.h::jsonb, updated_at = $5
         FROM UNNEST($2::bigint[], $3::text[], $4::text[]) AS u(id, p, h)
         WHERE o.account_id = $1 AND o.object_id = u.id",
    )
    .bind(account.0)
    .bind(&written)
    .bind(&properties)
    .bind(&histories)
    .bind(ms(now))
    .execute(conn)
    .await
    .map_err(db)?
    .rows_affected())
}
