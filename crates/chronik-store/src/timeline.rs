//! [`TimelineStore`]: app timeline event types (v3 event templates, v4 app event types: one
//! model, `chronik_domain::timeline`) and the timeline events installed apps add to records.
//!
//! Both backends keep:
//! - `timeline_event_types`: one row per type, keyed by its database-wide id, with its app, the
//!   [`EventTypeDefinition`] as JSON (JSONB in PostgreSQL), a `version` that every change
//!   increments, and `deleted_at`. A deleted type keeps its row: its events stay readable by id.
//! - `timeline_events`: one row per event, keyed `(account_id, event_type_id, event_id)` (the
//!   first event of an id is kept; a later one is refused), with the record
//!   (`object_type_id`, `object_id`; no `object_id` while the event waits for a contact to get
//!   its `utk`), the time in epoch milliseconds, an insert sequence number that breaks ties, and
//!   the [`EventBody`] as JSON.
//! - `timeline_stamps`: per record and CRM property, the newest event (by time, then sequence)
//!   that stamped it and its value. A stamp replaces the row only when its event is newer, in the
//!   same statement, and only then sets the CRM property: the newest event wins whatever the
//!   arrival order, on any number of nodes.
//!
//! A record's timeline is its events plus, for a contact, the waiting events whose utk is now
//! linked to it (`visitor_tokens`), minus the events of deleted types.

use chronik_domain::crm::object_type::ObjectTypeId;
use chronik_domain::timeline::event::{CheckedEvent, EventBody};
use chronik_domain::timeline::event_type::EventTypeDefinition;
use chronik_domain::{AccountId, AppId, DomainError, EventTypeId, ObjectId};
use chrono::{DateTime, Utc};

use crate::StoreError;

/// The quota name of [`TimelineStore::create_event_type`].
pub const EVENT_TYPES_QUOTA: &str = "event templates per app";

/// An event type as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEventType {
    /// Its id (unique in the database).
    pub id: EventTypeId,
    /// The app that defined it.
    pub app: AppId,
    /// The definition.
    pub definition: EventTypeDefinition,
    /// Starts at 1; every change adds one. Compiled templates are cached per version, and
    /// events are checked against one ([`NewTimelineEvent::type_version`]).
    pub version: i64,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// When it was deleted: no new events, its events leave record timelines.
    pub deleted_at: Option<DateTime<Utc>>,
}

/// A change to a type: the new definition made from the stored one, or the reason it is
/// refused. Its object type must stay the same.
pub type EventTypeChange =
    Box<dyn FnOnce(&EventTypeDefinition) -> Result<EventTypeDefinition, DomainError> + Send>;

/// An event to store, checked by the caller against version `type_version` of its type.
#[derive(Debug, Clone, PartialEq)]
pub struct NewTimelineEvent {
    /// Its type.
    pub type_id: EventTypeId,
    /// The version of the type it was checked against.
    pub type_version: i64,
    /// The type's object type.
    pub object_type_id: ObjectTypeId,
    /// The event.
    pub event: CheckedEvent,
}

/// What happened to one event of a [`TimelineStore::store_timeline_events`] call that was
/// carried out.
#[derive(Debug, Clone, PartialEq)]
pub enum EventWrite {
    /// Stored as this.
    Stored(Box<StoredTimelineEvent>),
    /// Its type already has an event with this id (stored before, or earlier in the call):
    /// nothing stored, the first one stays.
    DuplicateId,
    /// The record it names does not exist (`objectId`, or a utk for a non-contact type).
    RecordNotFound,
    /// Its type was deleted: no new events.
    TypeDeleted,
    /// A stamped CRM property the record's object type does not have in this account: nothing
    /// stored for the event.
    UnknownProperty(String),
    /// The event would change its contact's email to this one, which another contact has:
    /// nothing stored for the event.
    EmailTaken(String),
}

/// Why a call was not carried out; nothing of it is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TimelineRefusal {
    /// A type changed after the version the events were checked against: check them again.
    TypeChanged(EventTypeId),
}

/// A stored timeline event.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredTimelineEvent {
    /// Its type.
    pub type_id: EventTypeId,
    /// Its id, unique per type and account.
    pub id: String,
    /// The record's object type.
    pub object_type_id: ObjectTypeId,
    /// The record; `None` while no contact has the event's utk (once one has, reads give that
    /// contact).
    pub object_id: Option<ObjectId>,
    /// Where it sits in the time order.
    pub cursor: TimelineCursor,
    /// What it carries.
    pub body: EventBody,
    /// When it was stored.
    pub created_at: DateTime<Utc>,
}

impl StoredTimelineEvent {
    /// When it happened.
    pub fn occurred_at(&self) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(self.cursor.occurred_at_ms).unwrap_or_default()
    }
}

/// A point in the time order of timeline events: `(occurred_at, seq)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TimelineCursor {
    /// Occurrence time, epoch milliseconds.
    pub occurred_at_ms: i64,
    /// Insert sequence number (unique in the database).
    pub seq: i64,
}

/// Which of a record's timeline events to read, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimelineQuery {
    /// The record: `(objectTypeId, id)`.
    pub record: (ObjectTypeId, ObjectId),
    /// Only events of these types (empty: any).
    pub type_ids: Vec<EventTypeId>,
    /// Occurred at or after.
    pub occurred_after: Option<DateTime<Utc>>,
    /// Occurred at or before.
    pub occurred_before: Option<DateTime<Utc>>,
    /// Page size.
    pub limit: usize,
    /// Continue with the events strictly older than this point.
    pub before: Option<TimelineCursor>,
}

/// A page of a record's timeline events, newest first.
#[derive(Debug, Clone, PartialEq)]
pub struct TimelinePage {
    /// The events.
    pub items: Vec<StoredTimelineEvent>,
    /// Whether older ones match beyond the page.
    pub more: bool,
}

/// App timeline event types and events.
#[async_trait::async_trait]
pub trait TimelineStore: Send + Sync {
    /// Creates an event type of `app`. `QuotaExceeded { quota: EVENT_TYPES_QUOTA, limit }` when
    /// the app already has `max_per_app` live types (count and insert are one atomic step);
    /// `NotFound` when the app does not exist.
    async fn create_event_type(
        &self,
        app: AppId,
        definition: &EventTypeDefinition,
        max_per_app: u64,
        now: DateTime<Utc>,
    ) -> Result<StoredEventType, StoreError>;

    /// The app's live event types, by id.
    async fn list_event_types(&self, app: AppId) -> Result<Vec<StoredEventType>, StoreError>;

    /// One event type by id, deleted ones included (`deleted_at` set); `NotFound` when none.
    async fn get_event_type(&self, id: EventTypeId) -> Result<StoredEventType, StoreError>;

    /// Applies `change` to the live type `id` of `app` and stores the result with the next
    /// version, as one atomic step (concurrent changes run one after the other, none lost).
    /// `Ok(Err(e))` when `change` refuses (nothing stored); `NotFound` when `app` has no live
    /// type `id`.
    async fn modify_event_type(
        &self,
        app: AppId,
        id: EventTypeId,
        change: EventTypeChange,
        now: DateTime<Utc>,
    ) -> Result<Result<StoredEventType, DomainError>, StoreError>;

    /// Deletes the live type `id` of `app` (its row stays, with `deleted_at`). `NotFound` when
    /// none.
    async fn delete_event_type(
        &self,
        app: AppId,
        id: EventTypeId,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Stores events in `account`, in one transaction, each on its own: the answer has one
    /// [`EventWrite`] per event, in order. Each event's record is resolved with
    /// `chronik_domain::association::resolve` (`Priority::TimelineV3`): a contact is created
    /// for an unknown email, a contact's email changed or a utk linked to it as the outcome
    /// says, and an event whose utk no contact has is stored waiting (`object_id` none). Then
    /// its stamps are applied to the record, newest event winning; a waiting event stamps
    /// nothing (it has no record, and linking its utk later does not replay it).
    /// `Ok(Err(TypeChanged))` and nothing written when a type is no longer at the version its
    /// events were checked against; `NotFound` when the account does not exist. At most
    /// `chronik_domain::timeline::event::MAX_BATCH_INPUTS` events.
    async fn store_timeline_events(
        &self,
        account: AccountId,
        events: Vec<NewTimelineEvent>,
        now: DateTime<Utc>,
    ) -> Result<Result<Vec<EventWrite>, TimelineRefusal>, StoreError>;

    /// One event by type and id, whatever became of its type; `NotFound` when none.
    async fn get_timeline_event(
        &self,
        account: AccountId,
        type_id: EventTypeId,
        id: &str,
    ) -> Result<StoredTimelineEvent, StoreError>;

    /// A page of a record's timeline events, newest first (see the module doc for which).
    async fn query_timeline_events(
        &self,
        account: AccountId,
        query: &TimelineQuery,
    ) -> Result<TimelinePage, StoreError>;
}
