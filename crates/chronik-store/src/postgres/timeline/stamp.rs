//! Stamps of the events one [`TimelineStore::store_timeline_events`] call stored (see
//! `write.rs` for the rest of the call): per record and property the call's newest stamp, in
//! (object type, record, property) order so that concurrent calls never wait on each other in
//! a cycle, through one upsert that replaces a row only for a newer `(occurred_at_ms, seq)` and
//! returns the rows it wrote; only those set the CRM property, with history and last-modified
//! as CRM updates do (a unique property through `crm::update_one`, which moves its claim). A stamp whose row an uncommitted call holds waits for it and then
//! compares with what that call committed, so the newest event wins whatever the arrival order
//! and node.

use std::collections::BTreeMap;

use chronik_domain::crm::object::UniqueValue;
use chronik_domain::crm::object_type::ObjectTypeId;
use chronik_domain::crm::property::PropertyDefinition;
use chronik_domain::{AccountId, ObjectId};
use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use super::super::crm::{lock_records, update_one};
use super::super::tenancy::insert_contacts;
use super::super::{db, ms};
use super::write::{NewContacts, Stampable, Stored};
use crate::crm::ObjectUpdate;
use crate::error::stored_type_id;
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
/// nothing), and writes the records of the contacts the call creates, with their stamped
/// values; returns the rows written.
pub(super) async fn apply(
    conn: &mut PgConnection,
    account: AccountId,
    events: &[NewTimelineEvent],
    stored: &[Stored],
    stampable: &Stampable,
    new_contacts: &mut NewContacts,
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
                // Ties are two tokens of one event stamping one property: the first one wins,
                // as the upsert would decide between two rows.
                Some(held) if (held.at, held.seq) >= (at, s.seq) => {}
                _ => {
                    newest.insert(key, row);
                }
            }
        }
    }
    if newest.is_empty() {
        return insert_contacts(conn, account, new_contacts, now).await;
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
    let won: Vec<(String, i64, String, String)> = sqlx::query_as(
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
         RETURNING object_type_id, object_id, property, value",
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
    let mut changes: BTreeMap<i64, Change> = BTreeMap::new();
    for (t, object, property, value) in won {
        let t = stored_type_id(&t)?;
        let def = stampable
            .get(&(t, property.clone()))
            .ok_or_else(|| StoreError::internal("a stamp of a property not checked"))?;
        let change = changes
            .entry(object)
            .or_insert_with(|| Change::new(t, object));
        change.put(def, &value);
    }
    let (mut plain, mut claiming) = (Vec::new(), Vec::new());
    for change in changes.into_values() {
        let u = &change.update;
        if !u.unique.is_empty() || !u.released.is_empty() {
            claiming.push(change);
        } else if let Some(properties) = new_contacts.get_mut(&u.id.0) {
            // A contact this call creates is written with its stamped values.
            properties.extend(u.set.clone());
            for name in &u.clear {
                properties.remove(name);
            }
        } else {
            plain.push(change);
        }
    }
    let mut rows = stamped + insert_contacts(conn, account, new_contacts, now).await?;
    rows += set_properties(conn, account, &plain, now).await?;
    for change in claiming {
        rows += set_claiming(conn, account, change, now).await?;
    }
    Ok(rows)
}

/// What the winning stamps change on one record.
struct Change {
    object_type: ObjectTypeId,
    update: ObjectUpdate,
}

impl Change {
    fn new(object_type: ObjectTypeId, id: i64) -> Self {
        Change {
            object_type,
            update: ObjectUpdate {
                id: ObjectId(id),
                set: BTreeMap::new(),
                clear: Vec::new(),
                unique: Vec::new(),
                released: Vec::new(),
            },
        }
    }

    /// Sets CRM property `def` to the stored form of `raw` (a value the property's type would
    /// refuse is kept as sent: the token's type decided what the event may carry), or clears
    /// it for an empty value; a unique property's claim moves with it.
    fn put(&mut self, def: &PropertyDefinition, raw: &str) {
        let u = &mut self.update;
        let name = def.name.as_str();
        match def
            .check_value(name, raw)
            .unwrap_or_else(|_| Some(raw.to_owned()))
        {
            Some(value) => {
                if def.has_unique_value {
                    u.unique.push(UniqueValue::new(name, &value));
                }
                u.set.insert(name.to_owned(), value);
            }
            None => {
                u.clear.push(name.to_owned());
                if def.has_unique_value {
                    u.released.push(name.to_owned());
                }
            }
        }
    }
}

/// Sets CRM properties as a CRM update does (values, history, last-modified), for many
/// records in two statements: their rows locked in id order, then written.
async fn set_properties(
    conn: &mut PgConnection,
    account: AccountId,
    changes: &[Change],
    now: DateTime<Utc>,
) -> Result<u64, StoreError> {
    if changes.is_empty() {
        return Ok(0);
    }
    let ids: Vec<i64> = changes.iter().map(|c| c.update.id.0).collect();
    let mut current = lock_records(conn, account, None, &ids).await?;
    let (mut written, mut properties, mut histories) = (Vec::new(), Vec::new(), Vec::new());
    for change in changes {
        let id = change.update.id.0;
        let Some(state) = current.get_mut(&id) else {
            continue;
        };
        let mut props = std::mem::take(&mut state.properties);
        let history = history::apply(
            &mut props,
            state.history.take(),
            state.created_ms,
            &change.update.set,
            &change.update.clear,
            ms(now),
        );
        written.push(id);
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

/// Sets the stamped properties of a record whose unique values change, through the CRM
/// update path (`crm::update_one`), which moves the claims. The values were found free when
/// the event was placed; a record that claimed one since makes the call fail, to be retried.
async fn set_claiming(
    conn: &mut PgConnection,
    account: AccountId,
    change: Change,
    now: DateTime<Utc>,
) -> Result<u64, StoreError> {
    let id = change.update.id.0;
    let type_text = change.object_type.to_string();
    let mut current = lock_records(conn, account, Some(&type_text), &[id]).await?;
    let mut rows = 0;
    match update_one(
        conn,
        account,
        change.object_type,
        &mut current,
        change.update,
        now,
        &mut rows,
    )
    .await?
    {
        Ok(_) | Err(StoreError::NotFound) => Ok(rows),
        Err(StoreError::Conflict { .. }) => Err(StoreError::Unavailable(
            "a unique value a timeline event stamps was claimed by another record meanwhile".into(),
        )),
        Err(e) => Err(e),
    }
}
