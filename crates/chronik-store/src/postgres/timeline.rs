//! [`TimelineStore`] on PostgreSQL: see `crate::timeline` for the model.
//! Provisional: every method answers an internal error until the tables exist.

use chronik_domain::{AccountId, AppId, DomainError, EventTypeId};
use chrono::{DateTime, Utc};

use super::PostgresStore;
use crate::timeline::*;
use crate::StoreError;

fn missing() -> StoreError {
    StoreError::internal("timeline events are not stored by this backend yet")
}

#[async_trait::async_trait]
impl TimelineStore for PostgresStore {
    async fn create_event_type(
        &self,
        _app: AppId,
        _definition: &chronik_domain::timeline::event_type::EventTypeDefinition,
        _max_per_app: u64,
        _now: DateTime<Utc>,
    ) -> Result<StoredEventType, StoreError> {
        Err(missing())
    }

    async fn list_event_types(&self, _app: AppId) -> Result<Vec<StoredEventType>, StoreError> {
        Err(missing())
    }

    async fn get_event_type(&self, _id: EventTypeId) -> Result<StoredEventType, StoreError> {
        Err(missing())
    }

    async fn modify_event_type(
        &self,
        _app: AppId,
        _id: EventTypeId,
        _change: EventTypeChange,
        _now: DateTime<Utc>,
    ) -> Result<Result<StoredEventType, DomainError>, StoreError> {
        Err(missing())
    }

    async fn delete_event_type(
        &self,
        _app: AppId,
        _id: EventTypeId,
        _now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        Err(missing())
    }

    async fn store_timeline_events(
        &self,
        _account: AccountId,
        _events: Vec<NewTimelineEvent>,
        _now: DateTime<Utc>,
    ) -> Result<Result<Vec<EventWrite>, TimelineRefusal>, StoreError> {
        Err(missing())
    }

    async fn get_timeline_event(
        &self,
        _account: AccountId,
        _type_id: EventTypeId,
        _id: &str,
    ) -> Result<StoredTimelineEvent, StoreError> {
        Err(missing())
    }

    async fn query_timeline_events(
        &self,
        _account: AccountId,
        _query: &TimelineQuery,
    ) -> Result<TimelinePage, StoreError> {
        Err(missing())
    }
}
