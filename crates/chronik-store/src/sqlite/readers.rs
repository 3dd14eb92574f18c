//! The read side: read-only connections on the blocking pool, never on a runtime thread.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, OpenFlags};

use super::completion_log;
use super::sql::STATEMENT_CACHE_CAPACITY;
use super::SqliteStore;
use crate::StoreError;

/// Reads that run at once, each on its own blocking thread and connection. More would only
/// queue on two cores while growing the blocking pool and opening connections under load;
/// the rest wait for a permit.
pub(super) const MAX_CONCURRENT_READS: usize = 16;

/// Idle read connections kept open: one per concurrent read.
pub(super) const MAX_IDLE_READERS: usize = MAX_CONCURRENT_READS;

/// Readers map the database file instead of copying each page into their own cache.
pub(super) const READER_MMAP_BYTES: i64 = 256 * 1024 * 1024;

pub(super) struct ReaderPool {
    path: PathBuf,
    indexed_path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl ReaderPool {
    pub(super) fn new(path: PathBuf, indexed_path: PathBuf) -> Self {
        ReaderPool {
            path,
            indexed_path,
            idle: Mutex::new(Vec::new()),
        }
    }

    fn take(&self) -> Result<Connection, StoreError> {
        let pooled = self.idle.lock().map_err(|_| poisoned())?.pop();
        match pooled {
            Some(conn) => Ok(conn),
            None => open_reader(&self.path, &self.indexed_path),
        }
    }

    fn give_back(&self, conn: Connection) {
        if let Ok(mut idle) = self.idle.lock() {
            if idle.len() < MAX_IDLE_READERS {
                idle.push(conn);
            }
        }
    }
}

pub(super) fn poisoned() -> StoreError {
    StoreError::internal("a store lock was poisoned by a panic")
}

/// A read connection on the database file, with the indexed completions' file attached (read
/// only, as the main file) under [`completion_log::ATTACHED`].
pub(super) fn open_reader(path: &Path, indexed_path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(StoreError::internal)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))
        .map_err(StoreError::internal)?;
    conn.execute(
        &format!("ATTACH DATABASE ?1 AS {}", completion_log::ATTACHED),
        [indexed_path.to_string_lossy()],
    )
    .map_err(StoreError::internal)?;
    conn.execute_batch(&format!(
        "PRAGMA main.mmap_size = {READER_MMAP_BYTES};
         PRAGMA {}.mmap_size = {READER_MMAP_BYTES};",
        completion_log::ATTACHED
    ))
    .map_err(StoreError::internal)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE_CAPACITY);
    Ok(conn)
}

impl SqliteStore {
    /// Runs `f` on a read-only connection on the blocking pool, keeping the caller's span.
    pub(super) async fn read<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let readers = Arc::clone(&self.readers);
        let span = tracing::Span::current();
        let permit = Arc::clone(&self.read_permits)
            .acquire_owned()
            .await
            .map_err(|_| StoreError::Unavailable("the SQLite read pool is closed".into()))?;
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let _entered = span.enter();
            let conn = readers.take()?;
            let result = f(&conn);
            readers.give_back(conn);
            result
        })
        .await
        .map_err(StoreError::internal)?
    }
}
