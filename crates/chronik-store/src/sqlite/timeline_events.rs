//! [`TimelineStore::store_timeline_events`] on SQLite: one writer job per call, so the type
//! checks, every event's record, its row and its stamps are one transaction.
//!
//! Per call: every distinct type is checked first (a type changed since the events were
//! checked refuses the whole call; a deleted one refuses its events). Per event, in order,
//! every refusal is decided before anything of it is written: a stamped CRM property the
//! object type lacks, a record that does not exist, an email another contact has, and a
//! repeated id (by the insert itself, `ON CONFLICT DO NOTHING`, which comes first among the
//! writes). Then the record is created if need be (`association::resolve`'s outcome), and the
//! event's stamps applied: each replaces the record's stamp row only when the event is newer
//! by `(occurred_at, seq)`, in the upsert itself, and only then sets the CRM property, through
//! `crm::update_one` as CRM updates do (history, last-modified). An event waiting for its
//! utk stamps nothing: it has no record yet, and linking the utk later does not replay it.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use chronik_domain::association::{resolve, Outcome, Priority};
use chronik_domain::crm::object::UniqueValue;
use chronik_domain::crm::object_type::ObjectTypeId;
use chronik_domain::crm::property::{
    custom_object_system_properties, standard_properties, PropertyDefinition,
};
use chronik_domain::tenancy::Email;
use chronik_domain::timeline::event::{Stamp, MAX_BATCH_INPUTS};
use chronik_domain::{AccountId, EventTypeId, ObjectId};
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};

use super::crm::update_one;
use super::records::RecordLookup;
use super::tenancy::{create_contact, link_utk};
use super::{account_exists, db, from_json, from_ms, ms};
use crate::timeline::*;
use crate::{ObjectUpdate, StoreError};

/// The `id_sequences` row that numbers events.
const SEQ: &str = "timeline_seq";

/// The writes of one call.
pub(super) fn store_events(
    conn: &Connection,
    account: AccountId,
    events: Vec<NewTimelineEvent>,
    now: DateTime<Utc>,
) -> Result<Result<Vec<EventWrite>, TimelineRefusal>, StoreError> {
    account_exists(conn, account)?;
    if events.len() > MAX_BATCH_INPUTS {
        return Err(StoreError::internal(format!(
            "{} timeline events in one call; at most {MAX_BATCH_INPUTS}",
            events.len()
        )));
    }
    let deleted = match check_types(conn, &events)? {
        Ok(deleted) => deleted,
        Err(refusal) => return Ok(Err(refusal)),
    };
    let mut writer = EventWriter::new(conn, account, now)?;
    let mut results = Vec::with_capacity(events.len());
    for event in events {
        results.push(if deleted.contains(&event.type_id) {
            EventWrite::TypeDeleted
        } else {
            writer.store(event)?
        });
    }
    writer.finish()?;
    Ok(Ok(results))
}

/// The deleted types among the events', or the first type no longer at the version its
/// events were checked against (a type that does not exist counts as changed: checking again
/// finds it missing).
fn check_types(
    conn: &Connection,
    events: &[NewTimelineEvent],
) -> Result<Result<HashSet<EventTypeId>, TimelineRefusal>, StoreError> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT version, deleted_at IS NOT NULL FROM timeline_event_types
             WHERE event_type_id = ?1",
        )
        .map_err(db)?;
    let mut checked = HashSet::new();
    let mut deleted = HashSet::new();
    for e in events {
        if !checked.insert((e.type_id, e.type_version)) {
            continue;
        }
        let found: Option<(i64, bool)> = stmt
            .query_row([e.type_id.0], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()
            .map_err(db)?;
        match found {
            Some((_, true)) => {
                deleted.insert(e.type_id);
            }
            Some((version, false)) if version == e.type_version => {}
            _ => return Ok(Err(TimelineRefusal::TypeChanged(e.type_id))),
        }
    }
    Ok(Ok(deleted))
}

/// Where an event goes once its refusals are ruled out.
enum Target {
    /// This live record.
    Existing(i64),
    /// A new contact with this email.
    Create(Email),
    /// No record yet: waits for a contact to get this utk.
    Waiting(String),
}

/// The CRM properties an object type's records can be stamped with, by name: the default
/// ones callers may write and the account's live custom ones.
type Stampable = Arc<HashMap<String, PropertyDefinition>>;

/// An `id_sequences` counter read once per call and written back once: the single writer
/// runs the job alone, so no other write takes ids in between.
struct Sequence {
    name: &'static str,
    /// The value read and the last one taken, once read.
    read: Option<(i64, i64)>,
}

impl Sequence {
    fn new(name: &'static str) -> Self {
        Sequence { name, read: None }
    }

    /// The id [`Self::take`] would give.
    fn peek(&mut self, conn: &Connection) -> Result<i64, StoreError> {
        let (_, last) = match self.read {
            Some(read) => read,
            None => {
                let value: i64 = conn
                    .prepare_cached("SELECT last_value FROM id_sequences WHERE name = ?1")
                    .map_err(db)?
                    .query_row([self.name], |r| r.get(0))
                    .map_err(db)?;
                *self.read.insert((value, value))
            }
        };
        Ok(last + 1)
    }

    /// Takes the next id.
    fn take(&mut self, conn: &Connection) -> Result<i64, StoreError> {
        let id = self.peek(conn)?;
        if let Some((_, last)) = &mut self.read {
            *last = id;
        }
        Ok(id)
    }

    /// Writes the last id taken back.
    fn finish(&self, conn: &Connection) -> Result<(), StoreError> {
        if let Some((_, last)) = self.read.filter(|(value, last)| value != last) {
            conn.prepare_cached("UPDATE id_sequences SET last_value = ?2 WHERE name = ?1")
                .map_err(db)?
                .execute(params![self.name, last])
                .map_err(db)?;
        }
        Ok(())
    }
}

struct EventWriter<'c> {
    conn: &'c Connection,
    account: AccountId,
    now: DateTime<Utc>,
    lookup: RecordLookup<'c>,
    /// Events' `seq`.
    seq: Sequence,
    /// The ids of the contacts events create.
    objects: Sequence,
    stampable: HashMap<ObjectTypeId, Stampable>,
}

impl<'c> EventWriter<'c> {
    fn new(
        conn: &'c Connection,
        account: AccountId,
        now: DateTime<Utc>,
    ) -> Result<Self, StoreError> {
        Ok(EventWriter {
            conn,
            account,
            now,
            lookup: RecordLookup::new(conn, account)?,
            seq: Sequence::new(SEQ),
            objects: Sequence::new("object"),
            stampable: HashMap::new(),
        })
    }

    fn finish(self) -> Result<(), StoreError> {
        self.seq.finish(self.conn)?;
        self.objects.finish(self.conn)
    }

    fn store(&mut self, new: NewTimelineEvent) -> Result<EventWrite, StoreError> {
        let NewTimelineEvent {
            type_id,
            object_type_id,
            event,
            ..
        } = new;
        let mut stamps = Vec::with_capacity(event.stamps.len());
        if !event.stamps.is_empty() {
            let stampable = self.stampable(object_type_id)?;
            for stamp in event.stamps {
                match stampable.get(&stamp.property) {
                    Some(def) => stamps.push((stamp, def.clone())),
                    None => return Ok(EventWrite::UnknownProperty(stamp.property)),
                }
            }
        }
        let record = &event.record;
        let lookup = &mut self.lookup;
        let outcome = resolve(
            Priority::TimelineV3,
            &record.primary,
            record.email.as_ref(),
            record.utk.as_deref(),
            |r| lookup.find(object_type_id, r),
        )?;
        let (target, mut change_email, link) = match outcome {
            Outcome::NotFound => return Ok(EventWrite::RecordNotFound),
            Outcome::AwaitUtk(utk) => (Target::Waiting(utk), None, None),
            Outcome::Record {
                id,
                change_email,
                link_utk,
            } => (Target::Existing(id.0), change_email, link_utk),
            Outcome::ContactByEmail { email, link_utk } => {
                match self.holder(object_type_id, "email", email.folded())? {
                    Some(id) => (Target::Existing(id), None, link_utk),
                    None => (Target::Create(email), None, link_utk),
                }
            }
        };
        // Unique values the event would give its record must be free (compared folded).
        if !matches!(target, Target::Waiting(_)) {
            // The record's id; none for a contact this event creates.
            let id = match &target {
                Target::Existing(id) => Some(*id),
                _ => None,
            };
            if let Some(email) = &change_email {
                match self.holder(object_type_id, "email", email.folded())? {
                    // The contact has it already: nothing changes.
                    Some(holder) if Some(holder) == id => change_email = None,
                    Some(_) => return Ok(EventWrite::EmailTaken(email.as_str().to_owned())),
                    None => {}
                }
            }
            for (stamp, def) in &stamps {
                if !def.has_unique_value || stamp.value.is_empty() {
                    continue;
                }
                let claim = UniqueValue::new(&stamp.property, &stamp.value);
                match self.holder(object_type_id, &claim.property, &claim.value)? {
                    Some(holder) if Some(holder) != id => {
                        return Ok(EventWrite::EmailTaken(stamp.value.clone()))
                    }
                    _ => {}
                }
            }
        }
        let (object_id, waiting_utk) = match &target {
            Target::Existing(id) => (Some(*id), None),
            Target::Create(_) => (Some(self.objects.peek(self.conn)?), None),
            Target::Waiting(utk) => (None, Some(utk.as_str())),
        };
        // The insert decides a repeated id (stored before, or earlier in this call), before
        // anything else of the event is written.
        let cursor = TimelineCursor {
            occurred_at_ms: ms(event.occurred_at),
            seq: self.seq.peek(self.conn)?,
        };
        let body = serde_json::to_string(&event.body).map_err(StoreError::internal)?;
        let inserted = self
            .conn
            .prepare_cached(
                "INSERT INTO timeline_events
                     (seq, account_id, event_type_id, event_id, object_type_id, object_id, utk,
                      occurred_at, body, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
                 ON CONFLICT (account_id, event_type_id, event_id) DO NOTHING",
            )
            .map_err(db)?
            .execute(params![
                cursor.seq,
                self.account.0,
                type_id.0,
                event.id,
                object_type_id.to_string(),
                object_id,
                waiting_utk,
                cursor.occurred_at_ms,
                body,
                ms(self.now),
            ])
            .map_err(db)?;
        if inserted == 0 {
            return Ok(EventWrite::DuplicateId);
        }
        self.seq.take(self.conn)?;
        // A contact this event creates is created with its stamped values (it has no stamps
        // yet, so each one wins), unless one is unique: that takes the update path's claims.
        let mut created_stamped = false;
        if let Target::Create(email) = &target {
            let id = self.objects.take(self.conn)?;
            created_stamped = stamps.iter().all(|(_, def)| !def.has_unique_value);
            let mut values = BTreeMap::new();
            if created_stamped {
                for (stamp, def) in &stamps {
                    if let Some(v) = stored_value(def, &stamp.value) {
                        // The first stamp of a property wins, as in the stamps table.
                        values.entry(stamp.property.clone()).or_insert(v);
                    }
                }
            }
            create_contact(self.conn, self.account, id, email, values, self.now)?;
        }
        if let (Some(contact), Some(utk)) = (object_id, &link) {
            link_utk(self.conn, self.account, utk, contact, self.now)?;
        }
        if let Some(id) = object_id {
            let mut update = ObjectUpdate {
                id: ObjectId(id),
                set: BTreeMap::new(),
                clear: Vec::new(),
                unique: Vec::new(),
                released: Vec::new(),
            };
            if let Some(email) = change_email {
                set_value(&mut update, "email", email.as_str().to_owned(), true);
            }
            for (stamp, def) in stamps {
                let replaced =
                    self.stamp(object_type_id, id, type_id, &event.id, cursor, &stamp)?;
                if !replaced || created_stamped {
                    continue;
                }
                match stored_value(&def, &stamp.value) {
                    Some(v) => set_value(&mut update, &stamp.property, v, def.has_unique_value),
                    None => {
                        update.set.remove(&stamp.property);
                        update.unique.retain(|c| c.property != stamp.property);
                        update.clear.push(stamp.property.clone());
                        if def.has_unique_value {
                            update.released.push(stamp.property);
                        }
                    }
                }
            }
            if !update.set.is_empty() || !update.clear.is_empty() {
                // The claims were checked free above, and the record is live (found or made
                // in this job): a failure here is the store's.
                update_one(self.conn, self.account, object_type_id, update, self.now)?
                    .map_err(|e| StoreError::internal(format!("stamping the record: {e}")))?;
            }
        }
        Ok(EventWrite::Stored(Box::new(StoredTimelineEvent {
            type_id,
            id: event.id,
            object_type_id,
            object_id: object_id.map(ObjectId),
            cursor,
            body: event.body,
            created_at: from_ms(ms(self.now)),
        })))
    }

    /// The live record holding unique `value` (folded) of `property`, if any.
    fn holder(
        &self,
        object_type: ObjectTypeId,
        property: &str,
        value: &str,
    ) -> Result<Option<i64>, StoreError> {
        self.conn
            .prepare_cached(
                "SELECT object_id FROM crm_unique_values
                 WHERE account_id = ?1 AND object_type_id = ?2 AND property = ?3 AND value = ?4",
            )
            .map_err(db)?
            .query_row(
                params![self.account.0, object_type.to_string(), property, value],
                |r| r.get(0),
            )
            .optional()
            .map_err(db)
    }

    /// Records `stamp` of the event at `cursor` on record `id`; `true` when it replaced the
    /// stamp before (or was the first), that is when the event is the newest to stamp it.
    fn stamp(
        &self,
        object_type: ObjectTypeId,
        id: i64,
        type_id: EventTypeId,
        event_id: &str,
        cursor: TimelineCursor,
        stamp: &Stamp,
    ) -> Result<bool, StoreError> {
        let changed = self
            .conn
            .prepare_cached(
                "INSERT INTO timeline_stamps
                     (account_id, object_type_id, object_id, property, occurred_at, seq,
                      event_type_id, event_id, value)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
                 ON CONFLICT (account_id, object_type_id, object_id, property) DO UPDATE SET
                     occurred_at = excluded.occurred_at, seq = excluded.seq,
                     event_type_id = excluded.event_type_id, event_id = excluded.event_id,
                     value = excluded.value
                 WHERE (excluded.occurred_at, excluded.seq)
                     > (timeline_stamps.occurred_at, timeline_stamps.seq)",
            )
            .map_err(db)?
            .execute(params![
                self.account.0,
                object_type.to_string(),
                id,
                stamp.property,
                cursor.occurred_at_ms,
                cursor.seq,
                type_id.0,
                event_id,
                stamp.value,
            ])
            .map_err(db)?;
        Ok(changed > 0)
    }

    /// The properties records of `object_type` can be stamped with (read once per call).
    fn stampable(&mut self, object_type: ObjectTypeId) -> Result<Stampable, StoreError> {
        if let Some(s) = self.stampable.get(&object_type) {
            return Ok(Arc::clone(s));
        }
        let own = match object_type.standard() {
            Some(t) => standard_properties(t),
            None => custom_object_system_properties(),
        };
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT definition FROM crm_properties
                 WHERE account_id = ?1 AND object_type_id = ?2 AND archived_at IS NULL",
            )
            .map_err(db)?;
        let custom = stmt
            .query_map(params![self.account.0, object_type.to_string()], |r| {
                from_json::<PropertyDefinition>(r, 0)
            })
            .map_err(db)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(db)?;
        // Read-only properties (`hs_object_id`, the create and last-modified dates) are set by
        // Chronik, never stamped: CRM writes refuse them too.
        let all: HashMap<_, _> = own
            .into_iter()
            .chain(custom)
            .filter(|d| !d.read_only_value)
            .map(|d| (d.name.clone(), d))
            .collect();
        let all = Arc::new(all);
        self.stampable.insert(object_type, Arc::clone(&all));
        Ok(all)
    }
}

/// The stored form of a stamped value for CRM property `def`; `None` for an empty value,
/// which clears it. A value the CRM property's type would refuse is kept as sent: the token's
/// type decided what the event may carry.
fn stored_value(def: &PropertyDefinition, raw: &str) -> Option<String> {
    match def.check_value(&def.name, raw) {
        Ok(v) => v,
        Err(_) => Some(raw.to_owned()),
    }
}

/// Sets `property` to `value` in `update`, claiming it when the property is unique (one claim
/// per property: the last value set).
fn set_value(update: &mut ObjectUpdate, property: &str, value: String, unique: bool) {
    update.clear.retain(|p| p != property);
    update.released.retain(|p| p != property);
    if unique {
        update.unique.retain(|c| c.property != property);
        update.unique.push(UniqueValue::new(property, &value));
    }
    update.set.insert(property.to_owned(), value);
}
