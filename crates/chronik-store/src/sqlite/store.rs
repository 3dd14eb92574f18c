//! [`Store`] for [`SqliteStore`]: what is not one API family's (the families' traits are in
//! `tenancy.rs`, `crm.rs`, `app_objects.rs`, `custom_events.rs` and `timeline.rs`).

use super::{completion_log, SqliteStore};
use crate::{Store, StoreError};

#[async_trait::async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.read(|conn| {
            conn.query_row("SELECT 1", [], |_| Ok(()))
                .map_err(StoreError::internal)
        })
        .await
    }

    async fn settle(&self) -> Result<(), StoreError> {
        // Through the writer, so that every write answered before is committed.
        let target = self.write(completion_log::merge_target).await?;
        let started = std::time::Instant::now();
        loop {
            let (merged, purged) = self.read(completion_log::merge_progress).await?;
            if merged >= target.0 && purged >= target.1 {
                return Ok(());
            }
            if started.elapsed() > SETTLE_LIMIT {
                return Err(StoreError::Unavailable(
                    "the completion merger did not catch up".into(),
                ));
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }
}

/// How long [`Store::settle`] waits for the merger.
const SETTLE_LIMIT: std::time::Duration = std::time::Duration::from_secs(300);
