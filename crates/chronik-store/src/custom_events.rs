//! [`CustomEventStore`]: custom behavioral event definitions and their completions (seed:
//! custom events).
//!
//! Both backends keep definitions in `event_definitions`, keyed by `(account_id, name)`, with the
//! [`EventDefinition`] as JSON (JSONB in PostgreSQL). Deleting a definition only sets its
//! `deleted_at`, so the row keeps its name taken for ever, and deletes its completions.
//! Ids come from a database-wide counter. Definitions are not records: `reset_account` leaves
//! them in place (and deletes the completions).
//!
//! Completions live in `event_completions`, one narrow row each: account, definition id, record
//! (type id and object id), occurrence time in epoch milliseconds, the occurrence id in the
//! compact form of `occurrence_id.rs`, the properties as one JSON object, and an insert
//! sequence number that breaks ties in time order. Three indexes serve the writes and the reads
//! (by occurrence id, by record, by event type); `event_usage` counts each account's
//! completions per calendar month for the quota. On SQLite a completion is first staged without
//! indexes and copied into `event_completions` in the background (`sqlite/completion_log.rs`);
//! reads see both.

use std::collections::BTreeMap;

use chronik_domain::association::RecordRef;
use chronik_domain::crm::object_type::ObjectTypeId;
use chronik_domain::custom_events::definition::EventDefinition;
use chronik_domain::{AccountId, DomainError, EventDefinitionId, ObjectId};
use chrono::{DateTime, Utc};

use crate::{SettingsVersion, StoreError};

/// An event definition as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEventDefinition {
    /// Its id (unique in the database).
    pub id: EventDefinitionId,
    /// The definition.
    pub definition: EventDefinition,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// A change to a definition: the new definition made from the stored one, or the reason it is
/// refused. Its name must stay the same.
pub type DefinitionChange =
    Box<dyn FnOnce(&EventDefinition) -> Result<EventDefinition, DomainError> + Send>;

/// A completion to store, checked by the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCompletion {
    /// The definition's id.
    pub definition_id: EventDefinitionId,
    /// The objectTypeId of the definition's primary object.
    pub object_type_id: ObjectTypeId,
    /// Its record.
    pub record: RecordRef,
    /// When it happened.
    pub occurred_at: DateTime<Utc>,
    /// Its occurrence id (`uuid`), unique per event type.
    pub uuid: String,
    /// Its properties, a JSON object of string values.
    pub properties_json: String,
}

/// What `store_completions` did with a batch that it accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StoredBatch {
    /// Completions stored.
    pub stored: u64,
    /// Completions whose uuid the event type already had: nothing stored for them.
    pub duplicates: u64,
    /// Contacts created for emails no contact had.
    pub contacts_created: u64,
}

/// Why a batch was refused as a whole; nothing of it is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchRefusal {
    /// These inputs (by index) name records that do not exist (or are archived).
    RecordsNotFound(Vec<usize>),
    /// The account's settings changed after the version the caller checked the batch against
    /// (a definition changed or a token was revoked): check it again with the current ones.
    SettingsChanged,
}

/// A point in the time order of completions: `(occurred_at, seq)`. Paging continues strictly
/// after (or before) it, so pages stay stable while completions arrive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct CompletionCursor {
    /// Occurrence time, epoch milliseconds.
    pub occurred_at_ms: i64,
    /// Insert sequence number.
    pub seq: i64,
}

/// Which completions to read.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CompletionQuery {
    /// Only this definition's.
    pub definition_id: Option<EventDefinitionId>,
    /// Only this record's: `(objectTypeId, id)`.
    pub record: Option<(ObjectTypeId, ObjectId)>,
    /// Only these occurrence ids (empty: any).
    pub uuids: Vec<String>,
    /// Every one of these `(property, value)` pairs must match exactly.
    pub properties: Vec<(String, String)>,
    /// Occurred at or after.
    pub occurred_after: Option<DateTime<Utc>>,
    /// Occurred at or before.
    pub occurred_before: Option<DateTime<Utc>>,
    /// Newest first when set, else oldest first.
    pub descending: bool,
    /// Page size.
    pub limit: usize,
    /// Continue after this point in the sort order.
    pub after: Option<CompletionCursor>,
    /// Or: the page that ends just before this point in the sort order.
    pub before: Option<CompletionCursor>,
}

/// A stored completion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCompletion {
    /// Where it sits in the time order.
    pub cursor: CompletionCursor,
    /// The definition's id.
    pub definition_id: EventDefinitionId,
    /// The record's objectTypeId.
    pub object_type_id: ObjectTypeId,
    /// The record's id.
    pub object_id: ObjectId,
    /// Its occurrence id.
    pub uuid: String,
    /// Its properties.
    pub properties: BTreeMap<String, String>,
}

impl StoredCompletion {
    /// When it happened.
    pub fn occurred_at(&self) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(self.cursor.occurred_at_ms).unwrap_or_default()
    }
}

/// A page of completions in the query's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompletionPage {
    /// The completions, in the requested order.
    pub items: Vec<StoredCompletion>,
    /// Whether more match beyond the page in the direction of travel (after the last item when
    /// paging forward, before the first when paging back with `before`).
    pub more: bool,
}

/// Custom behavioral events of one account.
#[async_trait::async_trait]
pub trait CustomEventStore: Send + Sync {
    /// Creates a definition. `Conflict` when the account has or ever had a definition of that
    /// name (a deleted name is never reused); `QuotaExceeded { quota: "event definitions",
    /// limit }` when the account already has `max_definitions` live definitions; `NotFound`
    /// when the account does not exist. The count and the insert are one atomic step, so
    /// concurrent creates on any number of nodes never exceed the quota.
    async fn create_event_definition(
        &self,
        account: AccountId,
        definition: &EventDefinition,
        max_definitions: u64,
        now: DateTime<Utc>,
    ) -> Result<StoredEventDefinition, StoreError>;

    /// The account's live definitions, by name.
    async fn list_event_definitions(
        &self,
        account: AccountId,
    ) -> Result<Vec<StoredEventDefinition>, StoreError>;

    /// One live definition by internal name; `NotFound` when none.
    async fn get_event_definition(
        &self,
        account: AccountId,
        name: &str,
    ) -> Result<StoredEventDefinition, StoreError>;

    /// Applies `change` to the live definition `name` and stores the result, as one atomic
    /// step: concurrent changes run one after the other, each on the other's result, so none is
    /// lost. `Ok(Err(e))` when `change` refuses (nothing is stored); `NotFound` when there is no
    /// live definition of that name.
    async fn modify_event_definition(
        &self,
        account: AccountId,
        name: &str,
        change: DefinitionChange,
        now: DateTime<Utc>,
    ) -> Result<Result<StoredEventDefinition, DomainError>, StoreError>;

    /// Deletes a live definition and its completions; its name stays taken for ever.
    /// `NotFound` when none.
    async fn delete_event_definition(
        &self,
        account: AccountId,
        name: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Stores a batch of completions in one atomic step. Each record is resolved first; when
    /// any is missing the batch is refused (`Ok(Err(RecordsNotFound))`) and nothing is written.
    /// Then contacts are created for unknown emails, and each completion is stored unless its
    /// event type already has its uuid (the first one stays; a later one, in this batch or
    /// after, counts as a duplicate and stores nothing). The completions stored count against
    /// the account's calendar month (UTC, of `now`): past `monthly_quota` the whole batch is
    /// rolled back with `QuotaExceeded { quota: "monthly completions", limit }`. `NotFound`
    /// when the account does not exist. At most [`MAX_COMPLETIONS_PER_CALL`] completions.
    ///
    /// With `checked: Some(version)` (the settings version the caller checked the completions
    /// against), the batch is refused with `Ok(Err(SettingsChanged))` and nothing is written
    /// when the account's settings version is another one by the time of the write; a change
    /// of settings waits for the writes under way and is seen by every write after it.
    async fn store_completions(
        &self,
        account: AccountId,
        completions: Vec<NewCompletion>,
        monthly_quota: u64,
        now: DateTime<Utc>,
        checked: Option<SettingsVersion>,
    ) -> Result<Result<StoredBatch, BatchRefusal>, StoreError>;

    /// A page of the account's completions matching `query`, ordered by `(occurred_at, seq)`.
    async fn query_completions(
        &self,
        account: AccountId,
        query: &CompletionQuery,
    ) -> Result<CompletionPage, StoreError>;

    /// How many completions the account stored in the calendar month (UTC) of `at`.
    async fn monthly_completions(
        &self,
        account: AccountId,
        at: DateTime<Utc>,
    ) -> Result<u64, StoreError>;
}

/// The most completions one [`CustomEventStore::store_completions`] call takes (HubSpot's batch
/// limit); the PostgreSQL quota check counts on it.
pub const MAX_COMPLETIONS_PER_CALL: usize =
    chronik_domain::custom_events::completion::MAX_BATCH_INPUTS;

/// The quota name of [`CustomEventStore::store_completions`].
pub const MONTHLY_COMPLETIONS_QUOTA: &str = "monthly completions";

/// The key of a calendar month in `event_usage`: `yyyymm` (UTC).
pub fn month_key(at: DateTime<Utc>) -> i64 {
    use chrono::Datelike;
    i64::from(at.year()) * 100 + i64::from(at.month())
}

/// How both backends walk the time order for a [`CompletionQuery`]: which way, from where, and
/// how to turn the rows fetched (one more than the page) into a [`CompletionPage`].
pub(crate) struct QueryPlan {
    /// The point to continue from, strictly.
    pub cursor: Option<CompletionCursor>,
    /// Whether the rows are fetched newest first.
    travel_descending: bool,
    /// Whether the rows are fetched against the requested order (paging back with `before`)
    /// and must be reversed.
    backward: bool,
}

impl QueryPlan {
    pub fn new(query: &CompletionQuery) -> Self {
        let backward = query.after.is_none() && query.before.is_some();
        QueryPlan {
            cursor: query.after.or(query.before),
            travel_descending: query.descending != backward,
            backward,
        }
    }

    /// The comparison that keeps rows strictly beyond the cursor in the direction of travel.
    pub fn cmp(&self) -> &'static str {
        if self.travel_descending {
            "<"
        } else {
            ">"
        }
    }

    /// The SQL direction of the fetch.
    pub fn dir(&self) -> &'static str {
        if self.travel_descending {
            "DESC"
        } else {
            "ASC"
        }
    }

    /// Puts rows fetched from several places into the order of travel.
    pub fn sort(&self, items: &mut [StoredCompletion]) {
        items.sort_unstable_by_key(|c| (c.cursor.occurred_at_ms, c.cursor.seq));
        if self.travel_descending {
            items.reverse();
        }
    }

    /// The page from rows fetched with `LIMIT limit + 1`.
    pub fn page(&self, mut items: Vec<StoredCompletion>, limit: usize) -> CompletionPage {
        let more = items.len() > limit;
        items.truncate(limit);
        if self.backward {
            items.reverse();
        }
        CompletionPage { items, more }
    }
}

/// Runs `change` on `current`, refusing (as an internal error) a result under another name:
/// names are immutable, and the row is keyed by the name.
pub(crate) fn apply_change(
    current: &EventDefinition,
    change: DefinitionChange,
) -> Result<Result<EventDefinition, DomainError>, StoreError> {
    match change(current) {
        Ok(next) if next.name != current.name => Err(StoreError::internal(
            "a definition change tried to rename the definition",
        )),
        other => Ok(other),
    }
}
