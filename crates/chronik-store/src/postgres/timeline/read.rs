//! Reading timeline events on PostgreSQL: one by id, and a record's timeline.

use chronik_domain::{AccountId, EventTypeId};
use sqlx::PgPool;

use crate::timeline::*;
use crate::StoreError;

/// [`TimelineStore::get_timeline_event`].
pub(super) async fn get(
    _pool: &PgPool,
    _account: AccountId,
    _type_id: EventTypeId,
    _id: &str,
) -> Result<StoredTimelineEvent, StoreError> {
    Err(StoreError::internal(
        "timeline events are not read by this backend yet",
    ))
}

/// [`TimelineStore::query_timeline_events`].
pub(super) async fn query(
    _pool: &PgPool,
    _account: AccountId,
    _query: &TimelineQuery,
) -> Result<TimelinePage, StoreError> {
    Err(StoreError::internal(
        "timeline events are not read by this backend yet",
    ))
}
