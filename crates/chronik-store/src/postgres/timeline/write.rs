//! [`TimelineStore::store_timeline_events`] on PostgreSQL.

use chronik_domain::AccountId;
use chrono::{DateTime, Utc};

use super::super::PostgresStore;
use crate::timeline::*;
use crate::StoreError;

/// Stores `events` in `account` in one transaction.
pub(super) async fn store(
    _store: &PostgresStore,
    _account: AccountId,
    _events: Vec<NewTimelineEvent>,
    _now: DateTime<Utc>,
) -> Result<Result<Vec<EventWrite>, TimelineRefusal>, StoreError> {
    Err(StoreError::internal(
        "timeline events are not stored by this backend yet",
    ))
}
