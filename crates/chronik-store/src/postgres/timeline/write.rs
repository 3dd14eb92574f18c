//! [`TimelineStore::store_timeline_events`] on PostgreSQL: one transaction per call, a fixed
//! number of statements for the common paths whatever the batch size.
//!
//! In order:
//! 1. The account (`FOR KEY SHARE`) and every type the call names (`FOR SHARE`, in id order):
//!    a change of a type (`FOR UPDATE`) waits for this call or this call for it, and a type no
//!    longer at the version its events were checked against refuses the whole call.
//! 2. What can be decided without writing: deleted types, ids stored before or earlier in the
//!    call, stamped CRM properties the object type does not have (or that are read-only).
//!    Those events write nothing.
//! 3. Records ([`resolve`] with [`Priority::TimelineV3`]): live ids and linked utks are read
//!    in bulk, the contacts of the emails that decide are found or their emails claimed in
//!    bulk (in email order; their records are written after the stamps, with the stamped
//!    values, as a CRM create would write them); then each event in order, keeping what earlier ones did (a utk linked, an email
//!    changed) for the later ones. A unique value the event would stamp or an email it would
//!    set that another record holds refuses it (`EmailTaken`). An email change goes through
//!    the CRM update path (`crm::update_one`: the claim on the email moves, history is kept).
//! 4. The events, in one `INSERT … ON CONFLICT DO NOTHING`: of two calls storing one id on two
//!    nodes, the second waits for the first and then stores nothing.
//! 5. Stamps, in [`stamp`]: the newest event wins, by a conditional upsert.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use chronik_domain::association::{resolve, Outcome, Priority, RecordRef};
use chronik_domain::crm::object::UniqueValue;
use chronik_domain::crm::object_type::{ObjectTypeId, StandardType};
use chronik_domain::crm::property::{
    custom_object_system_properties, standard_properties, PropertyDefinition,
};
use chronik_domain::tenancy::Email;
use chronik_domain::timeline::event::MAX_BATCH_INPUTS;
use chronik_domain::{AccountId, EventTypeId, ObjectId};
use chrono::{DateTime, Utc};
use sqlx::types::Json;
use sqlx::PgConnection;

use super::super::crm::{lock_records, update_one};
use super::super::tenancy::{
    claim_contact_emails, contact_by_email, contacts_by_utk, insert_contacts,
};
use super::super::{account_exists, db, from_ms, ms, PostgresStore};
use super::stamp;
use crate::crm::ObjectUpdate;
use crate::error::stored_type_id;
use crate::timeline::*;
use crate::StoreError;

/// Where an event goes once its record is resolved.
#[derive(Debug, Clone)]
enum Placement {
    /// On this record.
    Record(i64),
    /// Waiting for a contact to get this utk.
    Waiting(String),
}

/// The answer of each event so far: `None` while it is still to be stored.
type Answers = Vec<Option<EventWrite>>;

/// Stores `events` in `account` in one transaction (see the module doc).
pub(super) async fn store(
    store: &PostgresStore,
    account: AccountId,
    events: Vec<NewTimelineEvent>,
    now: DateTime<Utc>,
) -> Result<Result<Vec<EventWrite>, TimelineRefusal>, StoreError> {
    if events.len() > MAX_BATCH_INPUTS {
        return Err(StoreError::internal(format!(
            "store_timeline_events takes at most {MAX_BATCH_INPUTS} events"
        )));
    }
    let mut tx = store.pool.begin().await.map_err(db)?;
    account_exists(&mut tx, account).await?;
    let deleted = match lock_types(&mut tx, &events).await? {
        Ok(deleted) => deleted,
        // Dropping the transaction rolls back: nothing is written.
        Err(refusal) => return Ok(Err(refusal)),
    };
    let mut answers: Answers = events
        .iter()
        .map(|e| {
            deleted
                .contains(&e.type_id.0)
                .then_some(EventWrite::TypeDeleted)
        })
        .collect();
    mark_duplicates(&mut tx, account, &events, &mut answers).await?;
    let stampable = mark_unknown_properties(&mut tx, account, &events, &mut answers).await?;
    let mut rows = 0;
    let Placed {
        events: placed,
        mut new_contacts,
        links,
    } = place(
        &mut tx,
        account,
        &events,
        &stampable,
        &mut answers,
        now,
        &mut rows,
    )
    .await?;
    let stored = insert_events(&mut tx, account, &events, &placed, &mut answers, now).await?;
    rows += stored.len() as u64;
    rows += stamp::apply(
        &mut tx,
        account,
        &events,
        &stored,
        &stampable,
        &mut new_contacts,
        now,
    )
    .await?;
    // After the contacts' records: a link's foreign key needs its contact.
    rows += link_utks(&mut tx, account, &links, now).await?;
    let answers = answers
        .into_iter()
        .map(|a| a.ok_or_else(|| StoreError::internal("a timeline event was left unanswered")))
        .collect::<Result<Vec<_>, _>>()?;
    tx.commit().await.map_err(db)?;
    PostgresStore::committed(rows);
    Ok(Ok(answers))
}

/// Locks the call's types (`FOR SHARE`, in id order) and answers the deleted ones (a type
/// that does not exist counts as deleted: it takes no events), or `TypeChanged` for the first
/// type whose version is not the one its events were checked against.
async fn lock_types(
    conn: &mut PgConnection,
    events: &[NewTimelineEvent],
) -> Result<Result<HashSet<i64>, TimelineRefusal>, StoreError> {
    let mut checked: BTreeMap<i64, BTreeSet<i64>> = BTreeMap::new();
    for e in events {
        checked
            .entry(e.type_id.0)
            .or_default()
            .insert(e.type_version);
    }
    let ids: Vec<i64> = checked.keys().copied().collect();
    let rows: Vec<(i64, i64, bool)> = sqlx::query_as(
        "SELECT event_type_id, version, deleted_at IS NOT NULL FROM timeline_event_types
         WHERE event_type_id = ANY($1)
         ORDER BY event_type_id
         FOR SHARE",
    )
    .bind(&ids)
    .fetch_all(conn)
    .await
    .map_err(db)?;
    let current: HashMap<i64, (i64, bool)> = rows
        .into_iter()
        .map(|(id, version, deleted)| (id, (version, deleted)))
        .collect();
    let mut deleted = HashSet::new();
    for (id, versions) in checked {
        match current.get(&id) {
            None => {
                deleted.insert(id);
            }
            Some((version, _)) if versions.iter().any(|v| v != version) => {
                return Ok(Err(TimelineRefusal::TypeChanged(EventTypeId(id))));
            }
            Some((_, true)) => {
                deleted.insert(id);
            }
            Some((_, false)) => {}
        }
    }
    Ok(Ok(deleted))
}

/// Answers `DuplicateId` for the events whose id their type has already (stored before, or
/// earlier in this call). A concurrent call may still store one first: the insert's `ON
/// CONFLICT` has the last word.
async fn mark_duplicates(
    conn: &mut PgConnection,
    account: AccountId,
    events: &[NewTimelineEvent],
    answers: &mut Answers,
) -> Result<(), StoreError> {
    let mut seen: HashSet<(i64, &str)> = HashSet::new();
    for (e, answer) in events.iter().zip(answers.iter_mut()) {
        if answer.is_none() && !seen.insert((e.type_id.0, e.event.id.as_str())) {
            *answer = Some(EventWrite::DuplicateId);
        }
    }
    let (types, ids): (Vec<i64>, Vec<&str>) = seen.iter().copied().unzip();
    if types.is_empty() {
        return Ok(());
    }
    let found: Vec<(i64, String)> = sqlx::query_as(
        "SELECT k.t, k.i FROM UNNEST($2::bigint[], $3::text[]) AS k(t, i)
         JOIN timeline_events e
             ON e.account_id = $1 AND e.event_type_id = k.t AND e.event_id = k.i",
    )
    .bind(account.0)
    .bind(&types)
    .bind(&ids)
    .fetch_all(conn)
    .await
    .map_err(db)?;
    let found: HashSet<(i64, String)> = found.into_iter().collect();
    for (e, answer) in events.iter().zip(answers.iter_mut()) {
        if answer.is_none() && found.contains(&(e.type_id.0, e.event.id.clone())) {
            *answer = Some(EventWrite::DuplicateId);
        }
    }
    Ok(())
}

/// The CRM properties the call's events stamp, by object type and name, as defined for the
/// account.
pub(super) type Stampable = HashMap<(ObjectTypeId, String), PropertyDefinition>;

/// Answers `UnknownProperty` for the events that stamp a CRM property their object type
/// does not have in this account, or a read-only one (`hs_object_id`, the create and
/// last-modified dates: set by Chronik only, as CRM writes refuse them too); returns the
/// definitions of the properties the others stamp.
async fn mark_unknown_properties(
    conn: &mut PgConnection,
    account: AccountId,
    events: &[NewTimelineEvent],
    answers: &mut Answers,
) -> Result<Stampable, StoreError> {
    let types: HashSet<ObjectTypeId> = events
        .iter()
        .zip(answers.iter())
        .filter(|(e, answer)| answer.is_none() && !e.event.stamps.is_empty())
        .map(|(e, _)| e.object_type_id)
        .collect();
    let mut defined: Stampable = HashMap::new();
    if types.is_empty() {
        return Ok(defined);
    }
    for t in &types {
        let own = match t.standard() {
            Some(standard) => standard_properties(standard),
            None => custom_object_system_properties(),
        };
        defined.extend(own.into_iter().map(|d| ((*t, d.name.clone()), d)));
    }
    let names: Vec<String> = types.iter().map(ToString::to_string).collect();
    let custom: Vec<(String, Json<PropertyDefinition>)> = sqlx::query_as(
        "SELECT object_type_id, definition FROM crm_properties
         WHERE account_id = $1 AND object_type_id = ANY($2) AND archived_at IS NULL",
    )
    .bind(account.0)
    .bind(&names)
    .fetch_all(conn)
    .await
    .map_err(db)?;
    for (t, Json(d)) in custom {
        defined.insert((stored_type_id(&t)?, d.name.clone()), d);
    }
    defined.retain(|_, d| !d.read_only_value);
    for (e, answer) in events.iter().zip(answers.iter_mut()) {
        if answer.is_some() {
            continue;
        }
        let unknown = e
            .event
            .stamps
            .iter()
            .find(|s| !defined.contains_key(&(e.object_type_id, s.property.clone())));
        if let Some(s) = unknown {
            *answer = Some(EventWrite::UnknownProperty(s.property.clone()));
        }
    }
    Ok(defined)
}

/// The first value `event` would stamp on record `id` that is unique for its property and
/// held by another record: an event must not take a value that identifies another record.
async fn taken_unique_value(
    conn: &mut PgConnection,
    account: AccountId,
    event: &NewTimelineEvent,
    id: i64,
    stampable: &Stampable,
) -> Result<Option<String>, StoreError> {
    let claims: Vec<(&str, UniqueValue)> = event
        .event
        .stamps
        .iter()
        .filter(|s| !s.value.is_empty())
        .filter(|s| {
            stampable
                .get(&(event.object_type_id, s.property.clone()))
                .is_some_and(|d| d.has_unique_value)
        })
        .map(|s| (s.value.as_str(), UniqueValue::new(&s.property, &s.value)))
        .collect();
    if claims.is_empty() {
        return Ok(None);
    }
    let properties: Vec<&str> = claims.iter().map(|(_, c)| c.property.as_str()).collect();
    let values: Vec<&str> = claims.iter().map(|(_, c)| c.value.as_str()).collect();
    let held: Vec<(String, String)> = sqlx::query_as(
        "SELECT u.property, u.value FROM crm_unique_values u
         JOIN UNNEST($3::text[], $4::text[]) AS k(p, v) ON u.property = k.p AND u.value = k.v
         WHERE u.account_id = $1 AND u.object_type_id = $2 AND u.object_id <> $5",
    )
    .bind(account.0)
    .bind(event.object_type_id.to_string())
    .bind(&properties)
    .bind(&values)
    .bind(id)
    .fetch_all(conn)
    .await
    .map_err(db)?;
    Ok(claims
        .iter()
        .find(|(_, c)| held.contains(&(c.property.clone(), c.value.clone())))
        .map(|(sent, _)| (*sent).to_owned()))
}

/// The contacts a call creates, by id, with the properties their records get.
pub(super) type NewContacts = BTreeMap<i64, BTreeMap<String, String>>;

/// Where a call's events go, and what their placing leaves to write.
struct Placed {
    /// Per event, its place; `None` for the events answered already.
    events: Vec<Option<Placement>>,
    /// The contacts whose emails were claimed, their records still to be written.
    new_contacts: NewContacts,
    /// The utks to link, to the contacts they go to.
    links: BTreeMap<String, i64>,
}

/// Resolves each event still to be stored to its record (or its wait for a utk), claiming
/// the emails of new contacts and changing emails as the outcome says; answers the events
/// that cannot be placed. The new contacts' records and the utk links are written later.
async fn place(
    tx: &mut PgConnection,
    account: AccountId,
    events: &[NewTimelineEvent],
    stampable: &Stampable,
    answers: &mut Answers,
    now: DateTime<Utc>,
    rows: &mut u64,
) -> Result<Placed, StoreError> {
    let (mut ids, mut utks, mut emails) = (Vec::new(), Vec::new(), Vec::new());
    for (e, answer) in events.iter().zip(answers.iter()) {
        match (&e.event.record.primary, answer) {
            (_, Some(_)) => {}
            (RecordRef::Id(ObjectId(id)), None) => ids.push(*id),
            (RecordRef::Utk(utk), None) => utks.push(utk.as_str()),
            (RecordRef::Email(email), None) => emails.push(email),
            (RecordRef::Unique(_), None) => {}
        }
    }
    let live = live_records(tx, account, &ids).await?;
    let mut by_utk = contacts_by_utk(tx, account, &utks).await?;
    // Every email that decides names its contact whatever the rest of the call does. The new
    // contacts' records are written once the stamps are known, with their stamped values.
    let (mut by_email, claimed) = claim_contact_emails(tx, account, &emails).await?;
    *rows += claimed.len() as u64;
    let mut new_contacts: NewContacts = claimed
        .into_iter()
        .map(|(id, email)| (id, BTreeMap::from([("email".to_owned(), email)])))
        .collect();
    let mut links: BTreeMap<String, i64> = BTreeMap::new();
    let mut placed = vec![None; events.len()];
    for (i, e) in events.iter().enumerate() {
        if answers[i].is_some() {
            continue;
        }
        let record = &e.event.record;
        let outcome = resolve(
            Priority::TimelineV3,
            &record.primary,
            record.email.as_ref(),
            record.utk.as_deref(),
            |r| -> Result<_, StoreError> {
                Ok(match r {
                    RecordRef::Id(ObjectId(id)) => {
                        (live.get(id) == Some(&e.object_type_id)).then_some(ObjectId(*id))
                    }
                    RecordRef::Utk(utk) => by_utk.get(utk).copied().map(ObjectId),
                    RecordRef::Email(_) | RecordRef::Unique(_) => None,
                })
            },
        )?;
        let (id, link) = match outcome {
            Outcome::Record {
                id,
                change_email,
                link_utk,
            } => {
                if let Some(taken) = taken_unique_value(tx, account, e, id.0, stampable).await? {
                    answers[i] = Some(EventWrite::EmailTaken(taken));
                    continue;
                }
                if let Some(email) = change_email {
                    if let Some(properties) = new_contacts.remove(&id.0) {
                        // A contact this call creates: its record first, then the change.
                        let one = BTreeMap::from([(id.0, properties)]);
                        *rows += insert_contacts(tx, account, &one, now).await?;
                    }
                    if let Err(refused) =
                        change_email_of(tx, account, id.0, &email, now, rows).await?
                    {
                        answers[i] = Some(refused);
                        continue;
                    }
                    by_email.insert(email.folded().to_owned(), id.0);
                }
                (id.0, link_utk)
            }
            Outcome::ContactByEmail { email, link_utk } => {
                let id = match by_email.get(email.folded()) {
                    Some(id) => *id,
                    None => {
                        let (id, made) = contact_by_email(tx, account, &email, now).await?;
                        *rows += u64::from(made) * 2;
                        by_email.insert(email.folded().to_owned(), id);
                        id
                    }
                };
                if let Some(taken) = taken_unique_value(tx, account, e, id, stampable).await? {
                    answers[i] = Some(EventWrite::EmailTaken(taken));
                    continue;
                }
                (id, link_utk)
            }
            Outcome::AwaitUtk(utk) => {
                placed[i] = Some(Placement::Waiting(utk));
                continue;
            }
            Outcome::NotFound => {
                answers[i] = Some(EventWrite::RecordNotFound);
                continue;
            }
        };
        if let Some(utk) = link {
            by_utk.insert(utk.clone(), id);
            links.insert(utk, id);
        }
        placed[i] = Some(Placement::Record(id));
    }
    Ok(Placed {
        events: placed,
        new_contacts,
        links,
    })
}

/// The live records among `ids`, with their object types.
async fn live_records(
    conn: &mut PgConnection,
    account: AccountId,
    ids: &[i64],
) -> Result<HashMap<i64, ObjectTypeId>, StoreError> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(i64, String)> = sqlx::query_as(
        "SELECT object_id, object_type_id FROM crm_objects
         WHERE account_id = $1 AND object_id = ANY($2) AND archived_at IS NULL",
    )
    .bind(account.0)
    .bind(ids)
    .fetch_all(conn)
    .await
    .map_err(db)?;
    rows.into_iter()
        .map(|(id, t)| Ok((id, stored_type_id(&t)?)))
        .collect()
}

/// Sets contact `id`'s email to `email` through the CRM update path: its claim on the email
/// moves with it and the history keeps the old one. `EmailTaken` when another contact has
/// it, `RecordNotFound` when the contact is gone.
async fn change_email_of(
    tx: &mut PgConnection,
    account: AccountId,
    id: i64,
    email: &Email,
    now: DateTime<Utc>,
    rows: &mut u64,
) -> Result<Result<(), EventWrite>, StoreError> {
    let contacts = StandardType::Contacts.type_id();
    let mut current = lock_records(tx, account, Some(&contacts.to_string()), &[id]).await?;
    let unchanged = current
        .get(&id)
        .and_then(|c| c.properties.get("email"))
        .is_some_and(|e| e == email.as_str());
    if unchanged {
        return Ok(Ok(()));
    }
    let update = ObjectUpdate {
        id: ObjectId(id),
        set: BTreeMap::from([("email".to_owned(), email.as_str().to_owned())]),
        clear: Vec::new(),
        unique: vec![UniqueValue::new("email", email.as_str())],
        released: Vec::new(),
    };
    match update_one(tx, account, contacts, &mut current, update, now, rows).await? {
        Ok(_) => Ok(Ok(())),
        Err(StoreError::Conflict { .. }) => {
            Ok(Err(EventWrite::EmailTaken(email.as_str().to_owned())))
        }
        Err(StoreError::NotFound) => Ok(Err(EventWrite::RecordNotFound)),
        Err(e) => Err(e),
    }
}

/// Links each utk to its contact (a utk linked elsewhere moves), in utk order.
async fn link_utks(
    conn: &mut PgConnection,
    account: AccountId,
    links: &BTreeMap<String, i64>,
    now: DateTime<Utc>,
) -> Result<u64, StoreError> {
    if links.is_empty() {
        return Ok(0);
    }
    let utks: Vec<&str> = links.keys().map(String::as_str).collect();
    let ids: Vec<i64> = links.values().copied().collect();
    Ok(sqlx::query(
        "INSERT INTO visitor_tokens (account_id, utk, object_id, linked_at)
         SELECT $1, l.u, l.o, $4 FROM UNNEST($2::text[], $3::bigint[]) WITH ORDINALITY AS l(u, o, n)
         ORDER BY l.n
         ON CONFLICT (account_id, utk)
         DO UPDATE SET object_id = excluded.object_id, linked_at = excluded.linked_at",
    )
    .bind(account.0)
    .bind(&utks)
    .bind(&ids)
    .bind(ms(now))
    .execute(conn)
    .await
    .map_err(db)?
    .rows_affected())
}

/// An event the insert stored: its index in the call, record and sequence number.
pub(super) struct Stored {
    pub(super) index: usize,
    pub(super) object_id: Option<i64>,
    pub(super) seq: i64,
}

/// Inserts the placed events in one statement, in call order (so `seq` follows it), and
/// answers each: `Stored`, or `DuplicateId` when a concurrent call stored its id first.
async fn insert_events(
    conn: &mut PgConnection,
    account: AccountId,
    events: &[NewTimelineEvent],
    placed: &[Option<Placement>],
    answers: &mut Answers,
    now: DateTime<Utc>,
) -> Result<Vec<Stored>, StoreError> {
    let mut index = Vec::new();
    let (mut types, mut ids, mut object_types) = (Vec::new(), Vec::new(), Vec::new());
    let (mut objects, mut utks, mut times, mut bodies) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (i, (e, place)) in events.iter().zip(placed).enumerate() {
        let Some(place) = place else { continue };
        index.push(i);
        types.push(e.type_id.0);
        ids.push(e.event.id.as_str());
        object_types.push(e.object_type_id.to_string());
        let (object, utk) = match place {
            Placement::Record(id) => (Some(*id), None),
            Placement::Waiting(utk) => (None, Some(utk.as_str())),
        };
        objects.push(object);
        utks.push(utk);
        times.push(ms(e.event.occurred_at));
        bodies.push(serde_json::to_string(&e.event.body).map_err(StoreError::internal)?);
    }
    if index.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<(i64, String, i64)> = sqlx::query_as(
        "INSERT INTO timeline_events (account_id, event_type_id, event_id, object_type_id,
                                      object_id, utk, occurred_at_ms, body, created_at)
         SELECT $1, k.t, k.i, k.ot, k.o, k.u, k.at, k.b::jsonb, $9
         FROM UNNEST($2::bigint[], $3::text[], $4::text[], $5::bigint[], $6::text[],
                     $7::bigint[], $8::text[]) WITH ORDINALITY AS k(t, i, ot, o, u, at, b, n)
         ORDER BY k.n
         ON CONFLICT DO NOTHING
         RETURNING event_type_id, event_id, seq",
    )
    .bind(account.0)
    .bind(&types)
    .bind(&ids)
    .bind(&object_types)
    .bind(&objects)
    .bind(&utks)
    .bind(&times)
    .bind(&bodies)
    .bind(ms(now))
    .fetch_all(conn)
    .await
    .map_err(db)?;
    // Ids are distinct within the insert (duplicates were answered before).
    let seqs: HashMap<(i64, String), i64> = rows
        .into_iter()
        .map(|(t, id, seq)| ((t, id), seq))
        .collect();
    let mut stored = Vec::with_capacity(seqs.len());
    for (n, i) in index.into_iter().enumerate() {
        let e = &events[i];
        let Some(&seq) = seqs.get(&(e.type_id.0, e.event.id.clone())) else {
            answers[i] = Some(EventWrite::DuplicateId);
            continue;
        };
        let object_id = objects[n];
        answers[i] = Some(EventWrite::Stored(Box::new(StoredTimelineEvent {
            type_id: e.type_id,
            id: e.event.id.clone(),
            object_type_id: e.object_type_id,
            object_id: object_id.map(ObjectId),
            cursor: TimelineCursor {
                occurred_at_ms: times[n],
                seq,
            },
            body: e.event.body.clone(),
            created_at: from_ms(ms(now)),
        })));
        stored.push(Stored {
            index: i,
            object_id,
            seq,
        });
    }
    Ok(stored)
}
