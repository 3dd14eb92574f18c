//! The embedded SQLite backend, the default.
//!
//! Where things are:
//! - `writer.rs`: **one writer thread** owns the only write connection and commits the jobs
//!   waiting for it together (group commit, [`MAX_GROUP_COMMIT_JOBS`]); an answer means the write
//!   is on disk.
//! - `checkpoint.rs`: **one checkpointer thread** copies the WAL back into the database file and
//!   decides when the WAL starts over.
//! - `readers.rs`: **reads** on read-only connections on the blocking pool, never on a runtime
//!   thread; short lookups and scans take separate permits, scans a limited number per account,
//!   so that one account's costly reads leave everyone else a connection. Each read has a time
//!   budget.
//! - `completion_log.rs`: completions are staged in the main file and merged by **one merger
//!   thread** into the indexed completions' file (`completions.sqlite3`).
//! - `schema.rs`: the migrations, run at open; `sql.rs`: helpers the SQL files share.
//! - The SQL of each API family is in its own file (`tenancy.rs`, `crm.rs`, `app_objects.rs`,
//!   `custom_events.rs`, `timeline.rs` with `timeline_events.rs` for its writes), as in
//!   `postgres/`; `records.rs` finds the records events name; `store.rs` has the rest of
//!   [`Store`](crate::Store).
//!
//! This file holds [`SqliteStore`] and starts its threads.

mod app_objects;
mod checkpoint;
mod completion_log;
mod crm;
mod custom_events;
mod readers;
mod records;
mod schema;
mod sql;
mod store;
mod tenancy;
#[cfg(test)]
mod tests;
mod timeline;
#[cfg(test)]
mod timeline_event_tests;
mod timeline_events;
#[cfg(test)]
mod timeline_query_tests;
#[cfg(test)]
mod timeline_tests;
mod writer;

pub use completion_log::MAX_STAGED;
pub use writer::{MAX_GROUP_COMMIT_JOBS, WRITE_QUEUE_CAPACITY};
// What the benchmark floors write with (the `bench` feature).
#[cfg(feature = "bench")]
pub use completion_log::COMPLETIONS_FILE;
#[cfg(not(feature = "bench"))]
use completion_log::COMPLETIONS_FILE;
#[cfg(feature = "bench")]
pub use schema::DATABASE_FILE;
#[cfg(not(feature = "bench"))]
use schema::DATABASE_FILE;
#[cfg(feature = "bench")]
pub use writer::writer_pragmas;

use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use checkpoint::{run_checkpointer, Restart};
use completion_log::LogShared;
use readers::{ReaderPool, READ_BUDGET};
use writer::{open_files, run_writer, wake_writer, Message};

// The SQL files of the API families (and `completion_log.rs`) take these from here.
use readers::READER_MMAP_BYTES;
use schema::migrate;
use sql::{
    account_exists, db, from_json, from_ms, json_error, ms, next_id, raise_settings_version,
    settings_version, type_id_column,
};

use crate::StoreError;

/// The SQLite store: a writer thread and a pool of read connections on the database file, and
/// the completion merger on the indexed completions' file.
pub struct SqliteStore {
    writer: mpsc::Sender<Message>,
    /// Dropped with the store, which stops the checkpointer and merger threads.
    _checkpointer: std::sync::mpsc::Sender<()>,
    _merger: std::sync::mpsc::Sender<()>,
    readers: Arc<ReaderPool>,
    /// The checkpointer's requests for WAL restarts, shared with the writer thread (and the
    /// benchmark floor's connection, see `restart_wal_if_asked`).
    #[cfg(feature = "bench")]
    restart: Arc<Restart>,
}

impl SqliteStore {
    /// Opens (creating when needed) the database in `data_dir`, applies migrations and starts
    /// the writer thread.
    pub async fn open(data_dir: PathBuf) -> Result<Self, StoreError> {
        Self::open_with_read_budget(data_dir, READ_BUDGET).await
    }

    /// [`Self::open`] with another budget for each read than [`READ_BUDGET`] (tests).
    pub(super) async fn open_with_read_budget(
        data_dir: PathBuf,
        read_budget: std::time::Duration,
    ) -> Result<Self, StoreError> {
        let path = data_dir.join(DATABASE_FILE);
        let indexed_path = data_dir.join(COMPLETIONS_FILE);
        let (tx, rx) = mpsc::channel::<Message>(WRITE_QUEUE_CAPACITY);
        let (ready_tx, ready_rx) = oneshot::channel();
        let restart = Arc::new(Restart::default());
        let shared = Arc::new(LogShared::default());
        std::thread::Builder::new()
            .name("chronik-sqlite-writer".into())
            .spawn({
                let (path, indexed_path) = (path.clone(), indexed_path.clone());
                let (restart, shared) = (Arc::clone(&restart), Arc::clone(&shared));
                move || {
                    let opened = open_files(&data_dir, &path, &indexed_path, shared);
                    match opened {
                        Ok((writer, merger)) => {
                            let _ = ready_tx.send(Ok(merger));
                            run_writer(writer, rx, &restart);
                        }
                        Err(e) => {
                            let _ = ready_tx.send(Err(e));
                        }
                    }
                }
            })
            .map_err(StoreError::internal)?;
        let merger_conn = ready_rx
            .await
            .map_err(|_| StoreError::internal("the SQLite writer thread died"))??;
        let (stop_tx, stop_rx) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("chronik-sqlite-checkpointer".into())
            .spawn({
                let (path, restart) = (path.clone(), Arc::clone(&restart));
                move || run_checkpointer(&path, &restart, stop_rx)
            })
            .map_err(StoreError::internal)?;
        let (stop_merger_tx, stop_merger_rx) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("chronik-sqlite-merger".into())
            .spawn({
                let (path, writer) = (path.clone(), tx.downgrade());
                move || {
                    completion_log::run_merger(&path, merger_conn, &shared, stop_merger_rx, || {
                        wake_writer(&writer)
                    })
                }
            })
            .map_err(StoreError::internal)?;
        Ok(SqliteStore {
            writer: tx,
            _checkpointer: stop_tx,
            _merger: stop_merger_tx,
            readers: Arc::new(ReaderPool::new(path, indexed_path, read_budget)),
            #[cfg(feature = "bench")]
            restart,
        })
    }
}
