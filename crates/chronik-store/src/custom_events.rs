//! [`CustomEventStore`]: custom behavioral event definitions (seed: custom events). Completions
//! follow in the same trait.
//!
//! Both backends keep definitions in `event_definitions`, keyed by `(account_id, name)`, with the
//! [`EventDefinition`] as JSON (JSONB in PostgreSQL). Deleting a definition only sets its
//! `deleted_at`, so the row keeps its name taken for ever. Ids come from a database-wide counter.
//! Definitions are not records: `reset_account` leaves them in place.

use chronik_domain::custom_events::definition::EventDefinition;
use chronik_domain::AccountId;
use chrono::{DateTime, Utc};

use crate::StoreError;

/// An event definition as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEventDefinition {
    /// Its id (numeric, unique in the database).
    pub id: String,
    /// The definition.
    pub definition: EventDefinition,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
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

    /// Replaces a live definition (same name); `NotFound` when none.
    async fn update_event_definition(
        &self,
        account: AccountId,
        definition: &EventDefinition,
        now: DateTime<Utc>,
    ) -> Result<StoredEventDefinition, StoreError>;

    /// Deletes a live definition; its name stays taken for ever. `NotFound` when none.
    async fn delete_event_definition(
        &self,
        account: AccountId,
        name: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;
}
