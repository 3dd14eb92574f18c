//! The writer thread and group commit.
//!
//! One thread owns the only write connection. Store methods hand it a job and a oneshot reply
//! through a bounded channel ([`WRITE_QUEUE_CAPACITY`], backpressure). The writer takes the first
//! job, drains whatever else is waiting (up to [`MAX_GROUP_COMMIT_JOBS`]), runs each job in its
//! own SAVEPOINT inside one transaction, commits once and only then answers them all. With WAL
//! and `synchronous=FULL`, an answer means the write is on disk, and one fsync serves many
//! requests. A failing job rolls back only its own savepoint.
//!
//! Between groups the writer deletes staged completions the merger has copied
//! (`completion_log.rs`) and runs the WAL restarts the checkpointer asks for (`checkpoint.rs`).

use std::panic::AssertUnwindSafe;
use std::path::Path;
use std::sync::Arc;

use rusqlite::config::DbConfig;
use rusqlite::Connection;
use tokio::sync::{mpsc, oneshot};

use super::checkpoint::{restart_wal, Restart, WAL_AUTOCHECKPOINT_PAGES, WAL_SIZE_LIMIT_BYTES};
use super::completion_log::{self, CompletionLog, LogShared, MAX_STAGED};
use super::schema::{migrate, MIGRATIONS};
use super::sql::STATEMENT_CACHE_CAPACITY;
use super::SqliteStore;
use crate::StoreError;

/// At most this many jobs share one commit. Large enough to amortize the fsync under load,
/// small enough that one commit never holds replies back for long.
pub const MAX_GROUP_COMMIT_JOBS: usize = 256;

/// Jobs that may wait for the writer before senders are made to wait (backpressure).
pub const WRITE_QUEUE_CAPACITY: usize = 1024;

/// The writer's page cache (negative: KiB). Completions insert at random places of their
/// indexes; a cache that holds the hot index pages keeps them from being written out and read
/// back in the middle of a transaction.
pub(super) const WRITER_CACHE_KIB: i64 = 64 * 1024;

pub(super) type Finish = Box<dyn FnOnce(Option<String>) + Send>;

pub(super) struct Outcome {
    failed: bool,
    finish: Finish,
}

/// What the writer thread owns: the write connection, the staged completions' state, and a
/// second write connection for deleting merged staged rows (see [`open_deleter`]).
pub(super) struct Writer {
    pub(super) conn: Connection,
    pub(super) log: CompletionLog,
    deleter: Connection,
}

pub(super) type Job = Box<dyn FnOnce(&mut Writer) -> Outcome + Send>;

/// What the writer's queue carries: a job, or `None`, which only wakes an idle writer
/// ([`wake_writer`]) and is no part of any group or commit.
pub(super) type Message = Option<Job>;

/// How long the writer waits for the merger when [`MAX_STAGED`] completions are staged, before
/// it writes anyway (and warns: the merger is failing).
pub(super) const MERGER_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// The settings of the write connection. The checkpointer thread checkpoints, not the writer;
/// savepoint journals stay in memory. (Public for the benchmark floor, which writes with the
/// same settings.)
pub fn writer_pragmas() -> String {
    format!(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = FULL;
         PRAGMA foreign_keys = ON;
         PRAGMA busy_timeout = 5000;
         PRAGMA wal_autocheckpoint = {WAL_AUTOCHECKPOINT_PAGES};
         PRAGMA journal_size_limit = {WAL_SIZE_LIMIT_BYTES};
         PRAGMA cache_size = -{WRITER_CACHE_KIB};
         PRAGMA temp_store = MEMORY;"
    )
}

pub(super) fn open_writer(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open(path).map_err(StoreError::internal)?;
    // WAL lets readers run beside the writer; FULL makes every commit durable before we answer.
    conn.execute_batch(&writer_pragmas())
        .map_err(StoreError::internal)?;
    // The writer waits for a lock only when the checkpointer restarts the WAL while it was idle,
    // or when its own RESTART waits for readers to leave the WAL: both short. SQLite's own busy
    // handler sleeps ever longer (up to 100 ms a time) and so overshoots the release; this one
    // looks again every WRITER_BUSY_POLL, for as long as `busy_timeout` allows.
    conn.busy_handler(Some(writer_busy))
        .map_err(StoreError::internal)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE_CAPACITY);
    Ok(conn)
}

/// The writer thread's connection for deleting staged rows the merger has copied, used only
/// between two groups on that thread. Its commits skip the fsync (`synchronous = OFF`): a
/// deletion is never acknowledged to anyone, and one lost in a power failure (it is on disk with
/// the next durable commit, which syncs the WAL up to its own end) leaves merged rows staged,
/// which readers skip and the writer deletes again after a restart. It never checkpoints (not
/// when its WAL grows, not when it closes), since a checkpoint without syncs could let the WAL
/// start over before the database file holds its pages durably; the checkpointer does that.
pub(super) fn open_deleter(path: &Path) -> Result<Connection, StoreError> {
    let conn = open_writer(path)?;
    conn.execute_batch("PRAGMA synchronous = OFF; PRAGMA wal_autocheckpoint = 0;")
        .map_err(StoreError::internal)?;
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, true)
        .map_err(StoreError::internal)?;
    Ok(conn)
}

/// How often the writer looks again at a lock another connection holds.
pub(super) const WRITER_BUSY_POLL: std::time::Duration = std::time::Duration::from_micros(250);

/// The writer's busy handler: `false` (give up, SQLITE_BUSY) after as long as the writer's
/// `busy_timeout` pragma (5 s).
pub(super) fn writer_busy(attempts: i32) -> bool {
    const GIVE_UP_AFTER: i32 = (5_000_000 / WRITER_BUSY_POLL.as_micros()) as i32;
    if attempts >= GIVE_UP_AFTER {
        return false;
    }
    std::thread::sleep(WRITER_BUSY_POLL);
    true
}

impl SqliteStore {
    /// Runs `f` on the writer connection inside its own savepoint, and returns once the
    /// group's commit is durable.
    pub(super) async fn write<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        self.write_staging(move |conn, _| f(conn)).await
    }

    /// [`Self::write`] for jobs that stage or delete completions (see `completion_log.rs`).
    pub(super) async fn write_staging<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection, &mut CompletionLog) -> Result<T, StoreError> + Send + 'static,
    {
        let (reply_tx, reply_rx) = oneshot::channel::<Result<T, StoreError>>();
        let job: Job = Box::new(move |writer: &mut Writer| {
            let Writer { conn, log, .. } = writer;
            let run = AssertUnwindSafe(|| f(conn, log));
            let result = match std::panic::catch_unwind(run) {
                Ok(r) => r,
                Err(_) => Err(StoreError::internal("a write job panicked")),
            };
            Outcome {
                failed: result.is_err(),
                finish: Box::new(move |commit_error: Option<String>| {
                    let reply = match (commit_error, result) {
                        (Some(e), Ok(_)) => {
                            Err(StoreError::internal(format!("commit failed: {e}")))
                        }
                        (_, result) => result,
                    };
                    let _ = reply_tx.send(reply);
                }),
            }
        });
        self.writer
            .send(Some(job))
            .await
            .map_err(|_| StoreError::Unavailable("the SQLite writer has stopped".into()))?;
        reply_rx
            .await
            .map_err(|_| StoreError::internal("the SQLite writer dropped a job"))?
    }
}

/// Opens and migrates both files on the writer thread: the writer's state, and the merger's
/// connection to the indexed completions.
pub(super) fn open_files(
    data_dir: &Path,
    path: &Path,
    indexed_path: &Path,
    shared: Arc<LogShared>,
) -> Result<(Writer, Connection), StoreError> {
    std::fs::create_dir_all(data_dir).map_err(StoreError::internal)?;
    let mut conn = open_writer(path)?;
    migrate(&mut conn, MIGRATIONS)?;
    let merger = completion_log::open_indexed(indexed_path)?;
    let log = CompletionLog::open(&conn, indexed_path, shared)?;
    let deleter = open_deleter(path)?;
    Ok((Writer { conn, log, deleter }, merger))
}

/// Wakes the writer without work: an idle writer deletes the rows the merger has just copied
/// (it deletes only between groups) before sends arrive again. Nothing when the store is gone
/// or the queue is full (the writer is busy then, and deletes after its groups).
pub(super) fn wake_writer(writer: &mpsc::WeakSender<Message>) {
    if let Some(tx) = writer.upgrade() {
        let _ = tx.try_send(None);
    }
}

pub(super) fn run_writer(mut writer: Writer, mut rx: mpsc::Receiver<Message>, restart: &Restart) {
    while let Some(first) = rx.blocking_recv() {
        let mut jobs: Vec<Job> = first.into_iter().collect();
        let mut taken = 1;
        while taken < MAX_GROUP_COMMIT_JOBS {
            match rx.try_recv() {
                Ok(message) => {
                    taken += 1;
                    jobs.extend(message);
                }
                Err(_) => break,
            }
        }
        if !jobs.is_empty() {
            if !writer.log.wait_for_merger(MERGER_WAIT) {
                tracing::warn!(
                    limit = MAX_STAGED,
                    "the completion merger is not keeping up; writing past the staging limit"
                );
            }
            run_group(&mut writer, jobs);
        }
        // Merged staged rows go a chunk at a time while no job waits, so that a send waits for
        // at most one chunk; and one chunk after each group when they pile up regardless.
        let mut force = writer.log.deletions_behind();
        while force || rx.is_empty() {
            match writer.log.delete_merged(&writer.deleter) {
                Ok(true) => force = false,
                Ok(false) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "deleting merged completions failed; retrying later");
                    break;
                }
            }
        }
        if restart.take() {
            if let Err(e) = restart_wal(&writer.conn) {
                tracing::warn!(error = %e, "sqlite WAL restart failed; the checkpointer asks again");
            }
        }
    }
    tracing::info!("sqlite writer stopped");
}

pub(super) fn run_group(writer: &mut Writer, jobs: Vec<Job>) {
    let batch = jobs.len();
    let begun = writer
        .conn
        .execute_batch("BEGIN IMMEDIATE")
        .map_err(StoreError::internal)
        .and_then(|()| {
            writer.log.begin_group().inspect_err(|_| {
                let _ = writer.conn.execute_batch("ROLLBACK");
            })
        });
    if let Err(e) = begun {
        tracing::error!(error = %e, "sqlite could not begin a transaction");
        // Never run a job outside a transaction. Dropping the jobs drops their reply senders,
        // so every caller gets an error instead of an acknowledgement.
        drop(jobs);
        return;
    }
    let before = writer.conn.total_changes();
    let mut finishes = Vec::with_capacity(batch);
    for job in jobs {
        let mark = writer.log.mark();
        let savepoint = writer.conn.execute_batch("SAVEPOINT job");
        let outcome = job(writer);
        let restored = match (&savepoint, outcome.failed) {
            (Ok(()), true) => {
                writer.log.undo_since(mark);
                writer.conn.execute_batch("ROLLBACK TO job; RELEASE job")
            }
            (Ok(()), false) => writer.conn.execute_batch("RELEASE job"),
            (Err(_), _) => Ok(()),
        };
        if let Err(e) = savepoint.and(restored) {
            tracing::error!(error = %e, "sqlite savepoint failed");
        }
        finishes.push(outcome.finish);
    }
    let conn = &writer.conn;
    let rows = conn.total_changes().saturating_sub(before);
    let committed = conn.execute_batch("COMMIT").map_err(|e| e.to_string());
    match &committed {
        Ok(()) => {
            metrics::counter!("chronik_store_commits_total", "backend" => "sqlite").increment(1);
            metrics::counter!("chronik_store_rows_written_total", "backend" => "sqlite")
                .increment(rows);
            metrics::histogram!("chronik_store_group_commit_jobs", "backend" => "sqlite")
                .record(batch as f64);
        }
        Err(e) => {
            tracing::error!(error = %e, jobs = batch, "sqlite commit failed; rolling back");
            let _ = conn.execute_batch("ROLLBACK");
        }
    }
    writer.log.end_group(committed.is_ok());
    let commit_error = committed.err();
    for finish in finishes {
        finish(commit_error.clone());
    }
}
