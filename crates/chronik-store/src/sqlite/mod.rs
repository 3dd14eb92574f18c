//! The embedded SQLite backend, the default.
//!
//! - **One writer thread** owns the only write connection. Store methods send it a job and a
//!   oneshot reply through a bounded channel (backpressure). The writer takes the first job,
//!   drains whatever else is waiting (up to [`MAX_GROUP_COMMIT_JOBS`]), runs each job in its own
//!   SAVEPOINT inside one transaction, commits once and only then answers them all: group
//!   commit. With WAL and `synchronous=FULL`, an answer means the write is on disk, and one fsync
//!   serves many requests. A failing job rolls back only its own savepoint.
//! - **Reads** use read-only connections on the blocking pool, never on a runtime thread.
//! - **One checkpointer thread** copies the WAL back into the database file every
//!   [`CHECKPOINT_INTERVAL`] (a passive checkpoint, which never blocks the writer), so that the
//!   writer does not stop to checkpoint and fsync the database file itself (except to let the
//!   WAL start over, see [`WAL_RESTART_PAGES`]).
//!
//! The SQL of each API family is in its own file (`tenancy.rs`, `crm.rs`, `custom_events.rs`),
//! as in `postgres/`.

mod app_objects;
mod completion_log;
mod crm;
mod custom_events;
mod tenancy;

#[cfg(test)]
use completion_log::Occurrence;
use completion_log::{CompletionLog, LogShared};
pub use completion_log::{COMPLETIONS_FILE, MAX_STAGED};

use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use chronik_domain::AccountId;
use chrono::{DateTime, Utc};
use rusqlite::config::DbConfig;
use rusqlite::{Connection, OpenFlags};
use tokio::sync::{mpsc, oneshot};

use crate::migrate::Migration;
use crate::{SettingsVersion, Store, StoreError};

/// At most this many jobs share one commit. Large enough to amortize the fsync under load,
/// small enough that one commit never holds replies back for long.
pub const MAX_GROUP_COMMIT_JOBS: usize = 256;

/// Jobs that may wait for the writer before senders are made to wait (backpressure).
pub const WRITE_QUEUE_CAPACITY: usize = 1024;

/// Reads that run at once, each on its own blocking thread and connection. More would only
/// queue on two cores while growing the blocking pool and opening connections under load;
/// the rest wait for a permit.
const MAX_CONCURRENT_READS: usize = 16;

/// Idle read connections kept open: one per concurrent read.
const MAX_IDLE_READERS: usize = MAX_CONCURRENT_READS;

/// Prepared statements each connection keeps (rusqlite's default is 16). The CRM paths alone
/// use more than that; evicting one means preparing it again on the next call.
const STATEMENT_CACHE_CAPACITY: usize = 64;

/// How often the checkpointer copies the WAL back into the database file.
const CHECKPOINT_INTERVAL: std::time::Duration = std::time::Duration::from_millis(250);

/// The writer's page cache (negative: KiB). Completions insert at random places of their
/// indexes; a cache that holds the hot index pages keeps them from being written out and read
/// back in the middle of a transaction.
const WRITER_CACHE_KIB: i64 = 64 * 1024;

/// Readers map the database file instead of copying each page into their own cache.
const READER_MMAP_BYTES: i64 = 256 * 1024 * 1024;

/// After a checkpoint has used the whole WAL, a file larger than this (1.25 GiB) is cut back to
/// it. Above the restart size, so that a WAL that starts over keeps its file (truncating a large
/// file stalls the writer).
const WAL_SIZE_LIMIT_BYTES: i64 = 5 * 256 * 1024 * 1024;

/// Passive checkpoints never finish while the writer keeps adding to the WAL, so under steady
/// load the WAL would grow without end. Once it holds this many pages (1 GiB), the WAL is made
/// to start over with a RESTART checkpoint, which copies the frames still left, syncs the
/// database file and waits for readers to leave the WAL. It must hold the write lock meanwhile,
/// so the **writer thread runs it itself**, between two commits, when the checkpointer asks
/// (see [`Restart`]): taken by another connection, the lock would keep the writer sleeping in
/// SQLite's busy handler, whose back-off overshoots the release by up to 100 ms. The pause is
/// mostly the database file's fsync, 50–150 ms on a virtual disk, so restarts are kept rare: at
/// 2,000 single sends a second (about 44 MB of WAL a second) one every 25 s.
#[cfg(not(test))]
const WAL_RESTART_PAGES: i64 = 256 * 1024;
/// Small in tests, so that a test sees restarts after a few hundred commits.
#[cfg(test)]
const WAL_RESTART_PAGES: i64 = 256;

/// The RESTART checkpoint holds the writer off while it copies, so the frames it has left to copy
/// add to its pause, and the writer adds frames all the time a passive checkpoint runs. Before
/// asking for a RESTART the checkpointer therefore repeats passive checkpoints (which never block
/// the writer) until at most this many frames are left, or [`RESTART_CATCH_UP_ROUNDS`] have run.
const RESTART_BEHIND_PAGES: i64 = 128;

/// At most this many catch-up passive checkpoints before a RESTART.
const RESTART_CATCH_UP_ROUNDS: usize = 16;

/// How long the checkpointer leaves an asked-for RESTART to the writer; a writer with nothing to
/// do does not see the request, and the checkpointer then runs the RESTART itself.
const RESTART_HANDOFF: std::time::Duration = std::time::Duration::from_millis(500);

/// How long a RESTART checkpoint run by the checkpointer waits for locks (the writer is idle
/// then, so only readers can hold it up).
const RESTART_WAIT: std::time::Duration = std::time::Duration::from_millis(100);

/// The backstop in case the WAL restarts keep failing (a reader that never ends its transaction):
/// past this many pages (4 GiB) the writer checkpoints itself right after a commit (SQLite's
/// autocheckpoint), which finishes because no frames are added meanwhile.
const WAL_AUTOCHECKPOINT_PAGES: i64 = 1024 * 1024;

/// The database file inside the data directory.
pub const DATABASE_FILE: &str = "chronik.sqlite3";

const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "tenancy",
        sql: include_str!("migrations/0001_tenancy.sql"),
    },
    Migration {
        version: 2,
        name: "crm",
        sql: include_str!("migrations/0002_crm.sql"),
    },
    Migration {
        version: 3,
        name: "custom_events",
        sql: include_str!("migrations/0003_custom_events.sql"),
    },
    Migration {
        version: 4,
        name: "event_completions",
        sql: include_str!("migrations/0004_event_completions.sql"),
    },
    Migration {
        version: 5,
        name: "completion_property_bits",
        sql: include_str!("migrations/0005_completion_property_bits.sql"),
    },
    Migration {
        version: 6,
        name: "staged_completions",
        sql: include_str!("migrations/0006_staged_completions.sql"),
    },
    Migration {
        version: 7,
        name: "settings_version",
        sql: include_str!("migrations/0007_settings_version.sql"),
    },
    Migration {
        version: 8,
        name: "app_objects",
        sql: include_str!("migrations/0008_app_objects.sql"),
    },
];

type Finish = Box<dyn FnOnce(Option<String>) + Send>;

struct Outcome {
    failed: bool,
    finish: Finish,
}

/// What the writer thread owns: the write connection, the staged completions' state, and a
/// second write connection for deleting merged staged rows (see [`open_deleter`]).
struct Writer {
    conn: Connection,
    log: CompletionLog,
    deleter: Connection,
}

type Job = Box<dyn FnOnce(&mut Writer) -> Outcome + Send>;

/// What the writer's queue carries: a job, or `None`, which only wakes an idle writer
/// ([`wake_writer`]) and is no part of any group or commit.
type Message = Option<Job>;

/// How long the writer waits for the merger when [`MAX_STAGED`] completions are staged, before
/// it writes anyway (and warns: the merger is failing).
const MERGER_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// The SQLite store: a writer thread and a pool of read connections on the database file, and
/// the completion merger on the indexed completions' file.
pub struct SqliteStore {
    writer: mpsc::Sender<Message>,
    /// Dropped with the store, which stops the checkpointer and merger threads.
    _checkpointer: std::sync::mpsc::Sender<()>,
    _merger: std::sync::mpsc::Sender<()>,
    readers: Arc<ReaderPool>,
    read_permits: Arc<tokio::sync::Semaphore>,
    /// The checkpointer's requests for WAL restarts, shared with the writer thread.
    restart: Arc<Restart>,
}

struct ReaderPool {
    path: PathBuf,
    indexed_path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl ReaderPool {
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

fn poisoned() -> StoreError {
    StoreError::internal("a store lock was poisoned by a panic")
}

/// A read connection on the database file, with the indexed completions' file attached (read
/// only, as the main file) under [`completion_log::ATTACHED`].
fn open_reader(path: &Path, indexed_path: &Path) -> Result<Connection, StoreError> {
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

fn open_writer(path: &Path) -> Result<Connection, StoreError> {
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
fn open_deleter(path: &Path) -> Result<Connection, StoreError> {
    let conn = open_writer(path)?;
    conn.execute_batch("PRAGMA synchronous = OFF; PRAGMA wal_autocheckpoint = 0;")
        .map_err(StoreError::internal)?;
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, true)
        .map_err(StoreError::internal)?;
    Ok(conn)
}

/// The checkpointer's request that the writer restart the WAL (see [`WAL_RESTART_PAGES`]).
/// Exactly one of the two takes a request: whoever swaps it back first runs the checkpoint.
#[derive(Default)]
struct Restart {
    requested: std::sync::atomic::AtomicBool,
}

impl Restart {
    fn request(&self) {
        self.requested
            .store(true, std::sync::atomic::Ordering::Release);
    }

    /// True once for each request: the caller then runs the RESTART.
    fn take(&self) -> bool {
        self.requested
            .swap(false, std::sync::atomic::Ordering::AcqRel)
    }

    fn pending(&self) -> bool {
        self.requested.load(std::sync::atomic::Ordering::Acquire)
    }
}

/// `PRAGMA wal_checkpoint(mode)`: the WAL's frames and how many of them are copied back.
fn checkpoint(conn: &Connection, mode: &str) -> rusqlite::Result<(i64, i64)> {
    conn.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |r| {
        Ok((r.get::<_, i64>(1)?, r.get::<_, i64>(2)?))
    })
}

/// Makes the WAL start over; on the writer's connection between transactions, or on the
/// checkpointer's when the writer is idle.
fn restart_wal(conn: &Connection) -> rusqlite::Result<(i64, i64)> {
    metrics::counter!("chronik_store_wal_restarts_total", "backend" => "sqlite").increment(1);
    checkpoint(conn, "RESTART")
}

/// How often the writer looks again at a lock another connection holds.
const WRITER_BUSY_POLL: std::time::Duration = std::time::Duration::from_micros(250);

/// The writer's busy handler: `false` (give up, SQLITE_BUSY) after as long as the writer's
/// `busy_timeout` pragma (5 s).
fn writer_busy(attempts: i32) -> bool {
    const GIVE_UP_AFTER: i32 = (5_000_000 / WRITER_BUSY_POLL.as_micros()) as i32;
    if attempts >= GIVE_UP_AFTER {
        return false;
    }
    std::thread::sleep(WRITER_BUSY_POLL);
    true
}

/// Runs passive checkpoints every [`CHECKPOINT_INTERVAL`] until `stop` is dropped (with the
/// store), and a last one then; past [`WAL_RESTART_PAGES`] it asks the writer to restart the WAL.
fn run_checkpointer(path: &Path, restart: &Restart, stop: std::sync::mpsc::Receiver<()>) {
    let conn = match Connection::open(path) {
        Ok(conn) => conn,
        Err(e) => {
            tracing::error!(error = %e, "sqlite checkpointer could not open the database");
            return;
        }
    };
    let _ = conn.busy_timeout(RESTART_WAIT);
    loop {
        let stopping = !matches!(
            stop.recv_timeout(CHECKPOINT_INTERVAL),
            Err(std::sync::mpsc::RecvTimeoutError::Timeout)
        );
        let result = match checkpoint(&conn, "PASSIVE") {
            Ok(mut latest) if latest.0 > WAL_RESTART_PAGES => {
                // Copy all but the last few frames first, without holding the writer up.
                for _ in 0..RESTART_CATCH_UP_ROUNDS {
                    if latest.0 - latest.1 <= RESTART_BEHIND_PAGES {
                        break;
                    }
                    match checkpoint(&conn, "PASSIVE") {
                        Ok(now) => latest = now,
                        Err(_) => break,
                    }
                }
                restart.request();
                let asked = std::time::Instant::now();
                while restart.pending() && asked.elapsed() < RESTART_HANDOFF {
                    std::thread::sleep(std::time::Duration::from_millis(2));
                }
                if restart.take() {
                    restart_wal(&conn)
                } else {
                    Ok(latest)
                }
            }
            other => other,
        };
        match result {
            Ok((wal_pages, copied)) => {
                metrics::gauge!("chronik_store_wal_pages", "backend" => "sqlite")
                    .set(wal_pages as f64);
                if copied > 0 {
                    metrics::counter!("chronik_store_checkpointed_pages_total", "backend" => "sqlite")
                        .increment(u64::try_from(copied).unwrap_or(0));
                }
            }
            Err(e) => tracing::warn!(error = %e, "sqlite checkpoint failed; retrying"),
        }
        if stopping {
            break;
        }
    }
}

fn migrate(conn: &mut Connection, migrations: &[Migration]) -> Result<(), StoreError> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version    INTEGER PRIMARY KEY,
             name       TEXT NOT NULL,
             applied_at INTEGER NOT NULL
         )",
    )
    .map_err(StoreError::internal)?;
    let current: i64 = conn
        .query_row(
            "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
            [],
            |r| r.get(0),
        )
        .map_err(StoreError::internal)?;
    for m in migrations.iter().filter(|m| m.version > current) {
        let tx = conn.transaction().map_err(StoreError::internal)?;
        tx.execute_batch(m.sql).map_err(StoreError::internal)?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?1, ?2, ?3)",
            rusqlite::params![m.version, m.name, chrono::Utc::now().timestamp_millis()],
        )
        .map_err(StoreError::internal)?;
        tx.commit().map_err(StoreError::internal)?;
        tracing::info!(
            version = m.version,
            name = m.name,
            "sqlite migration applied"
        );
    }
    Ok(())
}

impl SqliteStore {
    /// Opens (creating when needed) the database in `data_dir`, applies migrations and starts
    /// the writer thread.
    pub async fn open(data_dir: PathBuf) -> Result<Self, StoreError> {
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
            readers: Arc::new(ReaderPool {
                path,
                indexed_path,
                idle: Mutex::new(Vec::new()),
            }),
            read_permits: Arc::new(tokio::sync::Semaphore::new(MAX_CONCURRENT_READS)),
            restart,
        })
    }

    /// For the benchmark floor, which writes on a connection of its own while the store is
    /// idle: runs the WAL restart that the checkpointer asked for, as the writer thread does
    /// between two commits. Call it on that connection after each commit.
    pub fn restart_wal_if_asked(&self, conn: &Connection) -> Result<(), StoreError> {
        if self.restart.take() {
            restart_wal(conn).map_err(StoreError::internal)?;
        }
        Ok(())
    }

    /// Runs `f` on the writer connection inside its own savepoint, and returns once the
    /// group's commit is durable.
    async fn write<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        self.write_staging(move |conn, _| f(conn)).await
    }

    /// [`Self::write`] for jobs that stage or delete completions (see `completion_log.rs`).
    async fn write_staging<T, F>(&self, f: F) -> Result<T, StoreError>
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

    /// Runs `f` on a read-only connection on the blocking pool, keeping the caller's span.
    async fn read<T, F>(&self, f: F) -> Result<T, StoreError>
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

/// Opens and migrates both files on the writer thread: the writer's state, and the merger's
/// connection to the indexed completions.
fn open_files(
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
fn wake_writer(writer: &mpsc::WeakSender<Message>) {
    if let Some(tx) = writer.upgrade() {
        let _ = tx.try_send(None);
    }
}

fn run_writer(mut writer: Writer, mut rx: mpsc::Receiver<Message>, restart: &Restart) {
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

fn run_group(writer: &mut Writer, jobs: Vec<Job>) {
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

// Helpers shared by the SQL files of the API families.

/// A JSON text that does not parse, as rusqlite's error for `column`.
fn json_error(column: usize, e: serde_json::Error) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(column, rusqlite::types::Type::Text, Box::new(e))
}

/// Reads the JSON text in `column` of a row.
fn from_json<T: serde::de::DeserializeOwned>(
    r: &rusqlite::Row<'_>,
    column: usize,
) -> rusqlite::Result<T> {
    let raw: String = r.get(column)?;
    serde_json::from_str(&raw).map_err(|e| json_error(column, e))
}

fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

fn from_ms(v: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(v).unwrap_or_default()
}

fn db(e: rusqlite::Error) -> StoreError {
    match e {
        rusqlite::Error::QueryReturnedNoRows => StoreError::NotFound,
        rusqlite::Error::SqliteFailure(f, Some(msg))
            if f.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            if msg.contains("FOREIGN KEY") {
                StoreError::NotFound
            } else {
                StoreError::Conflict {
                    constraint: "unique",
                    existing_id: None,
                }
            }
        }
        e => StoreError::internal(e),
    }
}

fn next_id(conn: &Connection, name: &str) -> Result<i64, StoreError> {
    conn.query_row(
        "UPDATE id_sequences SET last_value = last_value + 1 WHERE name = ?1 RETURNING last_value",
        [name],
        |r| r.get(0),
    )
    .map_err(db)
}

/// The account's settings version; `NotFound` when there is no account.
fn settings_version(conn: &Connection, account: AccountId) -> Result<SettingsVersion, StoreError> {
    conn.prepare_cached("SELECT settings_version FROM accounts WHERE account_id = ?1")
        .map_err(db)?
        .query_row([account.0], |r| Ok(SettingsVersion(r.get(0)?)))
        .map_err(db)
}

/// Raises the account's settings version, in the transaction of a change of its settings (an
/// event definition, a token): writes checked against the version before are refused after.
fn raise_settings_version(conn: &Connection, account: AccountId) -> Result<(), StoreError> {
    conn.prepare_cached(
        "UPDATE accounts SET settings_version = settings_version + 1 WHERE account_id = ?1",
    )
    .map_err(db)?
    .execute([account.0])
    .map_err(db)?;
    Ok(())
}

fn account_exists(conn: &Connection, account: AccountId) -> Result<(), StoreError> {
    conn.query_row(
        "SELECT 1 FROM accounts WHERE account_id = ?1",
        [account.0],
        |_| Ok(()),
    )
    .map_err(db)
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        CompletionQuery, CrmStore, CustomEventStore, NewCompletion, NewObject, TenancyStore,
    };
    use chronik_domain::association::RecordRef;
    use chronik_domain::custom_events::definition::EventDefinition;

    /// Once the merger has copied a chunk of staged completions, the writer deletes them from
    /// the staging table; they stay readable, in order, and their occurrence ids stay taken.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn merged_completions_leave_the_staging_table_and_stay_unique() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let store = SqliteStore::open(dir.path().to_path_buf())
            .await
            .expect("the store opens");
        let now = Utc::now();
        let account = store.create_account("a", now).await.expect("an account").id;
        let definition = EventDefinition {
            name: "signup".into(),
            label: "Signup".into(),
            description: String::new(),
            primary_object_type_id: "0-1".into(),
            include_default_properties: true,
            properties: Vec::new(),
            custom_matching_id: None,
        };
        let definition = store
            .create_event_definition(account, &definition, 10, now)
            .await
            .expect("a definition")
            .id;
        let contact = store
            .create_objects(account, "0-1", vec![NewObject::default()], now)
            .await
            .expect("a contact")
            .remove(0)
            .expect("created")
            .id;
        let completion = |n: i64| NewCompletion {
            definition_id: definition,
            object_type_id: "0-1".into(),
            record: RecordRef::Id(contact),
            occurred_at: from_ms(1_700_000_000_000 + (n * 7919) % 100_000),
            uuid: format!("c{n}"),
            properties_json: "{}".into(),
        };
        // Just over one chunk, in batches of 500.
        let total = (completion_log::DELETE_CHUNK / 500 + 1) * 500;
        for start in (0..total).step_by(500) {
            let batch = (start..start + 500).map(completion).collect();
            let stored = store
                .store_completions(account, batch, u64::MAX, now, None)
                .await
                .expect("stores")
                .expect("accepted");
            assert_eq!(stored.stored, 500);
        }
        store.settle().await.expect("the merger catches up");
        // The merger wakes the idle writer, which deletes every whole chunk of merged rows
        // without waiting for another write.
        let mut staged = 0;
        for _ in 0..500 {
            staged = store
                .read(|conn| {
                    conn.query_row("SELECT COUNT(*) FROM event_completions_staged", [], |r| {
                        r.get(0)
                    })
                    .map_err(db)
                })
                .await
                .expect("counts");
            if staged < total {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        assert_eq!(
            staged,
            total - completion_log::DELETE_CHUNK,
            "the whole chunk left the staging table, the rest stays"
        );
        let repeated = store
            .store_completions(
                account,
                vec![completion(1), completion(total - 1)],
                u64::MAX,
                now,
                None,
            )
            .await
            .expect("stores")
            .expect("accepted");
        assert_eq!(
            repeated.duplicates, 2,
            "deleted and still staged ids are both taken"
        );
        let again = store
            .store_completions(account, vec![completion(2)], u64::MAX, now, None)
            .await
            .expect("stores")
            .expect("accepted");
        assert_eq!(
            again.duplicates, 1,
            "an id deleted from staging is found indexed"
        );
        let page = store
            .query_completions(
                account,
                &CompletionQuery {
                    definition_id: Some(definition),
                    limit: 100_000,
                    ..Default::default()
                },
            )
            .await
            .expect("reads");
        assert_eq!(page.items.len() as i64, total, "each completion once");
        assert!(
            page.items
                .windows(2)
                .all(|w| (w[0].cursor.occurred_at_ms, w[0].cursor.seq)
                    < (w[1].cursor.occurred_at_ms, w[1].cursor.seq)),
            "in time order"
        );
    }

    /// The writer's keys of staged occurrence ids change with each job at once (a later job of
    /// the same group sees them) and are undone with a failing job or group.
    #[test]
    fn staged_keys_follow_their_jobs_and_groups() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let (mut writer, _merger) = open_files(
            dir.path(),
            &dir.path().join(DATABASE_FILE),
            &dir.path().join(COMPLETIONS_FILE),
            Arc::new(LogShared::default()),
        )
        .expect("opens");
        let Writer { conn, log, .. } = &mut writer;
        let (u, v) = (Occurrence::new(1, 7, b"u"), Occurrence::new(1, 7, b"v"));
        let knows =
            |log: &CompletionLog, id: &Occurrence<'_>| log.knows(conn, id).expect("looks up");
        log.begin_group().expect("begins");
        assert!(!knows(log, &u));
        let seq = log.stage(&u);
        assert!(knows(log, &u), "taken within the group");
        let purge = log.mark();
        // The deleted row as a purge's RETURNING gives it.
        let mut deleted = conn
            .prepare("SELECT ?1, 1, 7, CAST('u' AS BLOB)")
            .expect("prepares");
        log.unstage(&completion_log::keyed_rows(&mut deleted, [seq]).expect("keys"));
        assert!(!knows(log, &u), "a later job's purge frees it at once");
        log.undo_since(purge);
        assert!(knows(log, &u), "taken again when that job fails");
        log.end_group(false);
        log.begin_group().expect("begins");
        assert!(!knows(log, &u), "a failed group keeps nothing");
        log.stage(&v);
        log.end_group(true);
        log.begin_group().expect("begins");
        assert!(knows(log, &v), "a committed group keeps its ids");
        log.end_group(true);
    }

    /// A reader sees a deletion whole: it is told to start over when the indexed file has a
    /// purge applied that its snapshot of the main file does not show, and otherwise gets the
    /// purges still to apply.
    #[test]
    fn a_reader_sees_purges_from_one_point_in_time() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let (path, indexed_path) = (
            dir.path().join(DATABASE_FILE),
            dir.path().join(COMPLETIONS_FILE),
        );
        let mut main = Connection::open(&path).expect("opens");
        migrate(&mut main, MIGRATIONS).expect("migrates");
        let indexed = completion_log::open_indexed(&indexed_path).expect("opens");
        let purge = |account: i64, definition: Option<i64>, through: i64| {
            main.execute(
                "INSERT INTO event_purges (account_id, definition_id, through_seq)
                 VALUES (?1, ?2, ?3)",
                rusqlite::params![account, definition, through],
            )
            .expect("a purge")
        };
        let reader = open_reader(&path, &indexed_path).expect("a reader");
        let view = |account| {
            completion_log::reader_view(&reader, account)
                .expect("reads")
                .map(|v| v.purges)
        };
        purge(1, Some(3), 10);
        purge(2, None, 11);
        assert_eq!(view(1), Some(vec![(Some(3), 10)]), "not applied yet");
        assert_eq!(view(2), Some(vec![(None, 11)]));
        indexed
            .execute("UPDATE merge_state SET purged_through = 1", [])
            .expect("the first purge applied");
        assert_eq!(view(1), Some(vec![]), "applied: the indexed rows are gone");
        assert_eq!(view(2), Some(vec![(None, 11)]));
        indexed
            .execute("UPDATE merge_state SET purged_through = 3", [])
            .expect("a purge the main file does not have yet");
        assert_eq!(view(1), None, "start over");
    }

    /// A database from before completions were staged keeps its completions: they become the
    /// first staged ones, readable at once and after the merger has copied them.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn completions_stored_before_staging_are_kept() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        {
            let mut conn = Connection::open(dir.path().join(DATABASE_FILE)).expect("opens");
            migrate(&mut conn, &MIGRATIONS[..5]).expect("the migrations before staging");
            conn.execute(
                "INSERT INTO event_completions (account_id, definition_id, object_type_id,
                     object_id, occurred_at, uuid, properties, property_bits)
                 VALUES (1, 7, '0-1', 3, 1000, x'00112233445566778899aabbccddeeff', '{}', 0)",
                [],
            )
            .expect("an old completion");
        }
        let store = SqliteStore::open(dir.path().to_path_buf())
            .await
            .expect("the store opens and migrates");
        let query = CompletionQuery {
            definition_id: Some(chronik_domain::EventDefinitionId(7)),
            limit: 10,
            ..Default::default()
        };
        for settled in [false, true] {
            if settled {
                store.settle().await.expect("the merger catches up");
            }
            let page = store
                .query_completions(AccountId(1), &query)
                .await
                .expect("reads");
            assert_eq!(page.items.len(), 1, "settled={settled}");
            assert_eq!(
                page.items[0].uuid, "00112233-4455-6677-8899-aabbccddeeff",
                "settled={settled}"
            );
        }
    }

    /// Under a steady stream of commits (a passive checkpoint rarely finds the writer idle, so
    /// the WAL seldom starts over by itself) the WAL file stays near the restart size instead
    /// of growing with every commit.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_wal_starts_over_under_steady_writes() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let store = SqliteStore::open(dir.path().to_path_buf())
            .await
            .expect("the store opens");
        let wal = dir.path().join(format!("{DATABASE_FILE}-wal"));
        let mut largest = 0;
        let started = std::time::Instant::now();
        // Each commit adds a page of its own to the table, so the WAL grows by at least one
        // frame (4 KiB) a commit: 20,000 commits would make an 80 MB WAL without restarts.
        for n in 0..20_000u32 {
            store
                .write(move |conn| {
                    conn.execute(
                        "INSERT INTO id_sequences (name, last_value) VALUES (?1, 0)",
                        [format!("wal-test-{n}-{}", "x".repeat(3000))],
                    )
                    .map_err(db)
                })
                .await
                .expect("the write commits");
            if n % 100 == 0 {
                largest = largest.max(std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0));
            }
            if started.elapsed() > std::time::Duration::from_secs(60) {
                break;
            }
        }
        // The restart size, plus what the writer adds while the checkpointer waits for its next
        // turn (CHECKPOINT_INTERVAL; about 4,000 frames here), with room to spare.
        let bound = 64 * 1024 * 1024;
        assert!(
            largest <= bound,
            "the WAL reached {largest} bytes; restarts should keep it under {bound}"
        );
    }
}
