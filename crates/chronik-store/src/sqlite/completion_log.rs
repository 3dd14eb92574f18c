//! Completions are written twice: first **staged**, appended to `event_completions_staged` in the
//! main database file in the send's own transaction (durable when the send is answered), then
//! **merged** by a thread of their own into `event_completions` in a second file,
//! [`COMPLETIONS_FILE`], which has the indexes the reads use.
//!
//! Why: the indexes have random keys (occurrence ids, records, occurrence times), so every
//! completion inserted straight into them dirties about three pages, each written to the WAL and
//! again to the database file, and a commit of one batch rewrites about 1,500 of them. Appending
//! touches a page per ~15 completions. The merger inserts many thousands of staged completions a
//! transaction, so each index page it dirties takes many entries at once, and since the indexed
//! table is in a file of its own, its long transactions never hold the sends up (SQLite locks a
//! whole file for writing).
//!
//! Invariants that keep a completion visible exactly once and its occurrence id unique:
//! - `seq` is assigned by the writer thread ([`CompletionLog::stage`]), increasing across both
//!   tables; the merger copies staged rows in `seq` order and records the last one it copied in
//!   `merge_state.merged_through`, in the same transaction.
//! - The writer deletes a staged row only after the merger's commit covers it (the merger tells
//!   it through [`LogShared::merged_through`]), and only between two groups of jobs (on a
//!   connection of its own whose commits skip the fsync; see `open_deleter`).
//! - Readers read the main file first, then the completions file, in one read transaction:
//!   indexed completions, plus staged ones past the `merged_through` they see. A staged row gone
//!   from the first snapshot was merged before it was deleted, so the second snapshot has it.
//! - The writer knows every staged occurrence id ([`CompletionLog`] keeps their keys) and looks
//!   the others up in the indexed table on a read connection of its own, whose snapshot starts
//!   after the last deletion.
//! - Deleting completions (a definition deleted, an account reset) deletes the staged ones at
//!   once and records an `event_purges` row; the merger deletes the indexed ones and records the
//!   last purge it applied (`merge_state.purged_through`); until then readers leave the purged
//!   completions out themselves. A reader whose completions-file snapshot has a purge applied
//!   that its main-file snapshot does not show yet starts over, so a deletion is seen whole.

use std::collections::HashSet;
use std::path::Path;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, TryRecvError};
use std::time::Duration;

use rusqlite::{params, Connection, OpenFlags, OptionalExtension};
use sha2::{Digest, Sha256};

use super::{db, migrate};
use crate::migrate::Migration;
use crate::StoreError;

/// The file of the indexed completions, beside [`super::DATABASE_FILE`].
pub const COMPLETIONS_FILE: &str = "completions.sqlite3";

/// The schema name readers attach [`COMPLETIONS_FILE`] under.
pub(super) const ATTACHED: &str = "indexed";

pub(super) const MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    name: "indexed_completions",
    sql: include_str!("migrations/completions/0001_indexed_completions.sql"),
}];

/// Staged completions not yet merged past which new writes wait for the merger: about 250 MB
/// of staging table and 40 MB of occurrence-id keys in memory. A burst up to this size is
/// answered at the speed of appending; longer ones at the speed of merging.
pub const MAX_STAGED: i64 = 1 << 20;

/// Staged completions the merger copies in one transaction. Large, so that each index page it
/// dirties takes many entries.
const MERGE_CHUNK: i64 = 64 * 1024;

/// Staged rows the merger reads in one read transaction of the main file.
const READ_CHUNK: i64 = 4 * 1024;

/// How long the merger sleeps when it found less than a chunk to merge. Short, so that each
/// merge is small: a merge's commit writes and syncs the index pages it dirtied, and a send
/// that commits at the same moment waits for it (same disk, same filesystem journal). Merging
/// the sends of 500 ms at once stalled such a send for 3–7 ms twice a second; merging every
/// 10 ms, for about a millisecond.
const MERGE_INTERVAL: Duration = Duration::from_millis(10);

/// With no new staged completions or purges reported by the writer, the merger still runs a
/// round this often (a writer of an earlier store on the same files reports to its own merger).
const MERGE_IDLE_ROUND: Duration = Duration::from_secs(1);

/// Merged rows the writer deletes from the staging table in one transaction (about a
/// millisecond's work).
pub(super) const DELETE_CHUNK: i64 = 1024;

/// Merged rows left staged past which the writer deletes a chunk after every group, even while
/// jobs wait (it deletes in its idle moments otherwise).
const DELETE_BACKLOG: i64 = 64 * DELETE_CHUNK;

/// The merger's page cache (negative: KiB): the index pages a merge dirties stay in memory.
const MERGER_CACHE_KIB: i64 = 128 * 1024;

/// The merger's WAL is checkpointed (passively, by the merger after a commit) past this many
/// pages (256 MiB), and cut back to this size when it starts over.
const MERGER_AUTOCHECKPOINT_PAGES: i64 = 64 * 1024;

/// What the writer thread and the merger share.
#[derive(Default)]
pub(super) struct LogShared {
    /// The last `seq` the merger's committed transactions have copied.
    merged_through: AtomicI64,
    /// Staged completions the merger has not copied yet (for backpressure and the gauge).
    staged: AtomicI64,
    /// Committed groups that staged completions or recorded a purge (bumped after their
    /// commit): while it stands still, the merger has nothing new to do.
    changes: AtomicU64,
}

impl LogShared {
    fn set_staged_gauge(&self) {
        metrics::gauge!("chronik_store_staged_completions", "backend" => "sqlite")
            .set(self.staged().max(0) as f64);
    }

    fn staged(&self) -> i64 {
        self.staged.load(Ordering::Acquire)
    }
}

/// The key of an occurrence id in [`CompletionLog`]: 128 bits of SHA-256 over account,
/// definition and the stored id. Two different ids collide with a probability of about
/// n² / 2¹²⁹, which for the ids staged at once is far below one in 10²⁵.
fn occurrence_key(account: i64, definition: i64, uuid: &[u8]) -> u128 {
    let mut hash = Sha256::new();
    hash.update(account.to_le_bytes());
    hash.update(definition.to_le_bytes());
    hash.update(uuid);
    let digest = hash.finalize();
    let mut key = [0u8; 16];
    key.copy_from_slice(&digest[..16]);
    u128::from_le_bytes(key)
}

/// An occurrence id of a definition in an account, with its key (hashed once: the writer
/// looks it up, then stages it).
pub(super) struct Occurrence<'a> {
    account: i64,
    definition: i64,
    uuid: &'a [u8],
    key: u128,
}

impl<'a> Occurrence<'a> {
    /// `uuid` in its stored form ([`crate::occurrence_id::encode`]).
    pub(super) fn new(account: i64, definition: i64, uuid: &'a [u8]) -> Self {
        Occurrence {
            account,
            definition,
            uuid,
            key: occurrence_key(account, definition, uuid),
        }
    }
}

/// Runs `stmt` (a select or a `RETURNING` of `seq, account_id, definition_id, uuid` of staged
/// rows) and gives each row's `seq` and occurrence key.
pub(super) fn keyed_rows(
    stmt: &mut rusqlite::Statement<'_>,
    params: impl rusqlite::Params,
) -> Result<Vec<(i64, u128)>, StoreError> {
    let mut rows = stmt.query(params).map_err(db)?;
    let mut keyed = Vec::new();
    while let Some(r) = rows.next().map_err(db)? {
        let uuid: Vec<u8> = r.get(3).map_err(db)?;
        let key = occurrence_key(r.get(1).map_err(db)?, r.get(2).map_err(db)?, &uuid);
        keyed.push((r.get(0).map_err(db)?, key));
    }
    Ok(keyed)
}

/// A change to the staged keys, made at once and undone when its job or its group fails.
enum Pending {
    Added(u128),
    Removed(u128),
}

/// The writer thread's view of the staged completions: the next `seq`, the keys of the staged
/// occurrence ids, and what the current group of jobs changed.
pub(super) struct CompletionLog {
    shared: std::sync::Arc<LogShared>,
    next_seq: i64,
    /// Staged rows up to here are deleted.
    deleted_through: i64,
    keys: HashSet<u128>,
    pending: Vec<Pending>,
    /// Rows staged (positive) or deleted unmerged (negative) by the current group.
    staged_delta: i64,
    /// Whether the current group recorded a purge.
    purged: bool,
    /// A read connection on the indexed completions, in a read transaction while a group runs.
    indexed: Connection,
}

/// The state of a group's jobs, to undo a failing job's changes.
pub(super) struct Mark {
    pending: usize,
    staged_delta: i64,
}

impl CompletionLog {
    /// Loads the staged keys; called on the writer thread after both files are migrated.
    pub(super) fn open(
        conn: &Connection,
        indexed_path: &Path,
        shared: std::sync::Arc<LogShared>,
    ) -> Result<Self, StoreError> {
        let indexed = Connection::open_with_flags(
            indexed_path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(StoreError::internal)?;
        indexed
            .execute_batch(&format!("PRAGMA mmap_size = {};", super::READER_MMAP_BYTES))
            .map_err(StoreError::internal)?;
        let (merged_through, last_indexed): (i64, i64) = indexed
            .query_row(
                "SELECT merged_through, (SELECT COALESCE(MAX(seq), 0) FROM event_completions)
                 FROM merge_state",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .map_err(StoreError::internal)?;
        let (first_staged, last_staged): (Option<i64>, Option<i64>) = conn
            .query_row(
                "SELECT MIN(seq), MAX(seq) FROM event_completions_staged",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .map_err(StoreError::internal)?;
        let mut unmerged = conn
            .prepare(
                "SELECT seq, account_id, definition_id, uuid FROM event_completions_staged
                 WHERE seq > ?1",
            )
            .map_err(StoreError::internal)?;
        let keys: HashSet<u128> = keyed_rows(&mut unmerged, [merged_through])?
            .into_iter()
            .map(|(_, key)| key)
            .collect();
        shared
            .merged_through
            .store(merged_through, Ordering::Release);
        shared.staged.store(keys.len() as i64, Ordering::Release);
        shared.set_staged_gauge();
        Ok(CompletionLog {
            shared,
            next_seq: merged_through
                .max(last_indexed)
                .max(last_staged.unwrap_or(0))
                + 1,
            deleted_through: first_staged.map_or(merged_through, |first| first - 1),
            keys,
            pending: Vec::new(),
            staged_delta: 0,
            purged: false,
            indexed,
        })
    }

    /// True when a completion with this occurrence id is staged or indexed already (and not
    /// deleted). `conn` is the writer's connection.
    pub(super) fn knows(&self, conn: &Connection, id: &Occurrence<'_>) -> Result<bool, StoreError> {
        if self.keys.contains(&id.key) {
            return Ok(true);
        }
        let indexed: Option<(i64, i64)> = self
            .indexed
            .prepare_cached(
                "SELECT seq, (SELECT purged_through FROM merge_state) FROM event_completions
                 WHERE account_id = ?1 AND uuid = ?2 AND definition_id = ?3",
            )
            .map_err(db)?
            .query_row(params![id.account, id.uuid, id.definition], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()
            .map_err(db)?;
        let Some((seq, purged_through)) = indexed else {
            return Ok(false);
        };
        // Still indexed, unless a purge the merger has not applied yet covers it.
        let purged = conn
            .prepare_cached(
                "SELECT 1 FROM event_purges
                 WHERE account_id = ?1 AND purge_id > ?2 AND through_seq >= ?3
                   AND (definition_id IS NULL OR definition_id = ?4)",
            )
            .map_err(db)?
            .exists(params![id.account, purged_through, seq, id.definition])
            .map_err(db)?;
        Ok(!purged)
    }

    /// Takes the next `seq` for a completion about to be staged with this occurrence id.
    pub(super) fn stage(&mut self, id: &Occurrence<'_>) -> i64 {
        self.keys.insert(id.key);
        self.pending.push(Pending::Added(id.key));
        self.staged_delta += 1;
        let seq = self.next_seq;
        self.next_seq += 1;
        seq
    }

    /// The last `seq` taken: a purge covers the completions up to it.
    pub(super) fn last_seq(&self) -> i64 {
        self.next_seq - 1
    }

    /// Forgets staged completions the current job deleted: (`seq`, occurrence key) each.
    pub(super) fn unstage(&mut self, deleted: &[(i64, u128)]) {
        let merged = self.shared.merged_through.load(Ordering::Acquire);
        for &(seq, key) in deleted {
            if self.keys.remove(&key) {
                self.pending.push(Pending::Removed(key));
            }
            // A merged row no longer counts as staged. (A merge that commits meanwhile may
            // count a row twice; the count only paces writers and feeds a gauge.)
            if seq > merged {
                self.staged_delta -= 1;
            }
        }
    }

    /// Starts a group: a read transaction on the indexed completions, so that its lookups see
    /// one snapshot taken after the last deletion of merged rows.
    pub(super) fn begin_group(&mut self) -> Result<(), StoreError> {
        self.indexed.execute_batch("BEGIN").map_err(db)
    }

    pub(super) fn mark(&self) -> Mark {
        Mark {
            pending: self.pending.len(),
            staged_delta: self.staged_delta,
        }
    }

    /// Undoes what the jobs since `mark` changed (their savepoint was rolled back).
    pub(super) fn undo_since(&mut self, mark: Mark) {
        for change in self.pending.drain(mark.pending..).rev() {
            match change {
                Pending::Added(key) => self.keys.remove(&key),
                Pending::Removed(key) => self.keys.insert(key),
            };
        }
        self.staged_delta = mark.staged_delta;
    }

    /// Ends a group: keeps its changes when it committed, undoes them otherwise.
    pub(super) fn end_group(&mut self, committed: bool) {
        let _ = self.indexed.execute_batch("COMMIT");
        if committed {
            self.pending.clear();
            self.shared
                .staged
                .fetch_add(self.staged_delta, Ordering::AcqRel);
            if self.staged_delta > 0 || self.purged {
                self.shared.changes.fetch_add(1, Ordering::AcqRel);
            }
            self.shared.set_staged_gauge();
        } else {
            self.undo_since(Mark {
                pending: 0,
                staged_delta: 0,
            });
        }
        self.staged_delta = 0;
        self.purged = false;
    }

    /// Past [`MAX_STAGED`] unmerged completions, waits (up to `limit`) for the merger; false
    /// when the merger did not catch up in time.
    pub(super) fn wait_for_merger(&self, limit: Duration) -> bool {
        let started = std::time::Instant::now();
        while self.shared.staged() > MAX_STAGED {
            if started.elapsed() >= limit {
                return false;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        true
    }

    /// Whether so many merged rows are still staged that the writer should delete some even
    /// while jobs wait.
    pub(super) fn deletions_behind(&self) -> bool {
        self.shared.merged_through.load(Ordering::Acquire) - self.deleted_through >= DELETE_BACKLOG
    }

    /// Deletes [`DELETE_CHUNK`] staged rows the merger has copied, once there are that many, in
    /// a transaction of its own on `conn` (the writer's deleter, between groups); whether it
    /// deleted any.
    pub(super) fn delete_merged(&mut self, conn: &Connection) -> Result<bool, StoreError> {
        let merged = self.shared.merged_through.load(Ordering::Acquire);
        // Only whole chunks: each deletion is a commit the sends behind it wait for. Merged rows
        // left staged cost nothing but their keys: reads skip them by their rowid.
        if merged - self.deleted_through < DELETE_CHUNK {
            return Ok(false);
        }
        let through = self.deleted_through + DELETE_CHUNK;
        let tx = conn.unchecked_transaction().map_err(db)?;
        let mut delete = tx
            .prepare_cached(
                "DELETE FROM event_completions_staged WHERE seq <= ?1
                 RETURNING seq, account_id, definition_id, uuid",
            )
            .map_err(db)?;
        let deleted = keyed_rows(&mut delete, [through])?;
        drop(delete);
        tx.commit().map_err(db)?;
        for (_, key) in deleted {
            self.keys.remove(&key);
        }
        self.deleted_through = through;
        Ok(true)
    }
}

/// Opens the indexed completions' file for the merger (creating it) and migrates it.
pub(super) fn open_indexed(path: &Path) -> Result<Connection, StoreError> {
    let mut conn = Connection::open(path).map_err(StoreError::internal)?;
    conn.execute_batch(&format!(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = FULL;
         PRAGMA busy_timeout = 5000;
         PRAGMA cache_size = -{MERGER_CACHE_KIB};
         PRAGMA wal_autocheckpoint = {MERGER_AUTOCHECKPOINT_PAGES};
         PRAGMA journal_size_limit = {};
         PRAGMA temp_store = MEMORY;",
        MERGER_AUTOCHECKPOINT_PAGES * 4096
    ))
    .map_err(StoreError::internal)?;
    migrate(&mut conn, MIGRATIONS)?;
    Ok(conn)
}

/// The merger thread: copies staged completions into the indexed table and applies purges,
/// until `stop` is dropped (with the store).
pub(super) fn run_merger(
    main_path: &Path,
    indexed: Connection,
    shared: &LogShared,
    stop: Receiver<()>,
    merged: impl Fn(),
) {
    let staged = match Connection::open_with_flags(
        main_path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    ) {
        Ok(conn) => conn,
        Err(e) => {
            tracing::error!(error = %e, "the completion merger could not open the database");
            return;
        }
    };
    let _ = staged.busy_timeout(Duration::from_secs(5));
    lower_priority();
    let mut full = false;
    // None until the first round, which always runs (a store opened on old files may have
    // work left).
    let mut changes_seen = None;
    let mut last_round = std::time::Instant::now();
    loop {
        let waited = if full {
            stop.try_recv().map_err(|e| match e {
                TryRecvError::Empty => RecvTimeoutError::Timeout,
                TryRecvError::Disconnected => RecvTimeoutError::Disconnected,
            })
        } else {
            stop.recv_timeout(MERGE_INTERVAL)
        };
        if !matches!(waited, Err(RecvTimeoutError::Timeout)) {
            break;
        }
        // Read before the round: a group committed after this is seen by the next one.
        let changes = shared.changes.load(Ordering::Acquire);
        if !full && changes_seen == Some(changes) && last_round.elapsed() < MERGE_IDLE_ROUND {
            continue;
        }
        changes_seen = Some(changes);
        last_round = std::time::Instant::now();
        match merge_round(&staged, &indexed) {
            Ok(Some((through, copied))) => {
                shared.merged_through.store(through, Ordering::Release);
                shared.staged.fetch_sub(copied, Ordering::AcqRel);
                shared.set_staged_gauge();
                metrics::counter!("chronik_store_merged_completions_total", "backend" => "sqlite")
                    .increment(u64::try_from(copied).unwrap_or(0));
                full = copied >= MERGE_CHUNK;
                merged();
            }
            Ok(None) => full = false,
            Err(e) => {
                tracing::warn!(error = %e, "merging staged completions failed; retrying");
                full = false;
                changes_seen = None;
            }
        }
    }
    tracing::info!("sqlite completion merger stopped");
}

/// Gives the calling thread the lowest CPU priority: in a burst of sends the merger runs on the
/// CPU time the sends leave, and catches up after (up to [`MAX_STAGED`] behind).
fn lower_priority() {
    #[cfg(target_os = "linux")]
    {
        // Linux keeps the nice value per thread: this thread's id names only the merger.
        let merger = rustix::thread::gettid();
        if let Err(e) = rustix::process::setpriority_process(Some(merger), 19) {
            tracing::debug!(error = %e, "the completion merger keeps its CPU priority");
        }
    }
}

/// One merge: the staged rows past `merged_through` (up to [`MERGE_CHUNK`]) and the purges past
/// `purged_through`, in one transaction. Returns the new `merged_through` and the rows copied,
/// or `None` when there was nothing to do.
///
/// The staged rows are read in short read transactions of [`READ_CHUNK`] rows: a long one would
/// keep the main file's WAL from starting over, and the writer, which restarts it, waiting.
/// Reading in pieces is safe because staged rows only ever appear (with higher `seq`s) or go
/// away with a purge; a purge newer than the one read first is applied next round and deletes
/// what this round copied of it.
fn merge_round(
    staged: &Connection,
    indexed: &Connection,
) -> Result<Option<(i64, i64)>, StoreError> {
    // The write lock first: a merger of a store closing and one of a store opening on the
    // same files take turns, each starting where the other stopped.
    let write =
        rusqlite::Transaction::new_unchecked(indexed, rusqlite::TransactionBehavior::Immediate)
            .map_err(db)?;
    let (merged_through, purged_through): (i64, i64) = write
        .query_row(
            "SELECT merged_through, purged_through FROM merge_state",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .map_err(db)?;
    let purges: Vec<(i64, i64, Option<i64>, i64)> = staged
        .prepare_cached(
            "SELECT purge_id, account_id, definition_id, through_seq FROM event_purges
             WHERE purge_id > ?1 ORDER BY purge_id",
        )
        .map_err(db)?
        .query_map([purged_through], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })
        .map_err(db)?
        .collect::<Result<_, _>>()
        .map_err(db)?;
    // Purges first: a completion staged after a purge may repeat an occurrence id it deletes.
    let mut last_purge = purged_through;
    for (purge_id, account, definition, through_seq) in &purges {
        write
            .prepare_cached(
                "DELETE FROM event_completions
                 WHERE account_id = ?1 AND (?2 IS NULL OR definition_id = ?2) AND seq <= ?3",
            )
            .map_err(db)?
            .execute(params![account, definition, through_seq])
            .map_err(db)?;
        last_purge = *purge_id;
    }
    let mut through = merged_through;
    let mut copied = 0i64;
    let mut rows = staged
        .prepare_cached(
            "SELECT seq, account_id, definition_id, object_type_id, object_id, occurred_at,
                    uuid, properties, property_bits
             FROM event_completions_staged WHERE seq > ?1 ORDER BY seq LIMIT ?2",
        )
        .map_err(db)?;
    let mut insert = write
        .prepare_cached(
            "INSERT INTO event_completions
                 (seq, account_id, definition_id, object_type_id, object_id, occurred_at,
                  uuid, properties, property_bits)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
             ON CONFLICT DO NOTHING",
        )
        .map_err(db)?;
    while copied < MERGE_CHUNK {
        // Each statement is a read transaction of its own on the main file.
        let mut found = rows
            .query(params![through, READ_CHUNK.min(MERGE_CHUNK - copied)])
            .map_err(db)?;
        let before = copied;
        while let Some(r) = found.next().map_err(db)? {
            let seq: i64 = r.get(0).map_err(db)?;
            let values = (0..9)
                .map(|i| r.get::<_, rusqlite::types::Value>(i))
                .collect::<Result<Vec<_>, _>>()
                .map_err(db)?;
            if insert
                .execute(rusqlite::params_from_iter(values))
                .map_err(db)?
                == 0
            {
                // The writer refuses an occurrence id it already has, so this is a bug; the
                // first completion stays, as the rule wants.
                tracing::error!(seq, "a staged completion repeats an indexed occurrence id");
            }
            through = seq;
            copied += 1;
        }
        if copied - before < READ_CHUNK {
            break;
        }
    }
    drop((rows, insert));
    if copied == 0 && purges.is_empty() {
        return Ok(None);
    }
    write
        .execute(
            "UPDATE merge_state SET merged_through = ?1, purged_through = ?2",
            params![through, last_purge],
        )
        .map_err(db)?;
    write.commit().map_err(db)?;
    Ok(Some((through, copied)))
}

/// The purges readers must apply themselves, and the `merged_through` they see. Called at the
/// start of a read transaction on a reader with the indexed file attached; `None` when the
/// indexed file's snapshot has a purge applied that the main file's snapshot does not show yet
/// (the caller starts a new transaction, so that a deletion is seen whole or not at all).
pub(super) fn reader_view(
    conn: &Connection,
    account: i64,
) -> Result<Option<ReaderView>, StoreError> {
    // The main file's snapshot first, by a statement of its own (see the module's invariants).
    let last_purge: i64 = conn
        .prepare_cached("SELECT COALESCE(MAX(purge_id), 0) FROM main.event_purges")
        .map_err(db)?
        .query_row([], |r| r.get(0))
        .map_err(db)?;
    let mut stmt = conn
        .prepare_cached(&format!(
            "SELECT m.merged_through, m.purged_through, p.definition_id, p.through_seq
             FROM {ATTACHED}.merge_state m
             LEFT JOIN main.event_purges p
               ON p.account_id = ?1 AND p.purge_id > m.purged_through"
        ))
        .map_err(db)?;
    let mut rows = stmt.query([account]).map_err(db)?;
    let mut view = ReaderView {
        merged_through: 0,
        purges: Vec::new(),
    };
    while let Some(r) = rows.next().map_err(db)? {
        if r.get::<_, i64>(1).map_err(db)? > last_purge {
            return Ok(None);
        }
        view.merged_through = r.get(0).map_err(db)?;
        if let Some(through) = r.get::<_, Option<i64>>(3).map_err(db)? {
            view.purges.push((r.get(2).map_err(db)?, through));
        }
    }
    Ok(Some(view))
}

/// How far the merger must get to have merged every staged completion and applied every purge
/// committed so far: the last staged `seq` and the last purge.
pub(super) fn merge_target(conn: &Connection) -> Result<(i64, i64), StoreError> {
    conn.query_row(
        "SELECT (SELECT COALESCE(MAX(seq), 0) FROM event_completions_staged),
                (SELECT COALESCE(MAX(purge_id), 0) FROM event_purges)",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .map_err(db)
}

/// How far the merger got, in [`merge_target`]'s terms (on a reader).
pub(super) fn merge_progress(conn: &Connection) -> Result<(i64, i64), StoreError> {
    conn.query_row(
        &format!("SELECT merged_through, purged_through FROM {ATTACHED}.merge_state"),
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .map_err(db)
}

/// What a reader needs besides the two tables: see [`reader_view`].
pub(super) struct ReaderView {
    pub merged_through: i64,
    /// Purges not yet applied to the indexed table: a definition (or every one, `None`) and
    /// the last `seq` they cover.
    pub purges: Vec<(Option<i64>, i64)>,
}

/// Records a purge of an account's completions (of one definition, or all) up to the last
/// `seq` taken, and deletes the staged ones. Runs inside a writer job.
pub(super) fn purge(
    conn: &Connection,
    log: &mut CompletionLog,
    account: i64,
    definition: Option<i64>,
) -> Result<(), StoreError> {
    let mut delete = conn
        .prepare_cached(
            "DELETE FROM event_completions_staged
             WHERE account_id = ?1 AND (?2 IS NULL OR definition_id = ?2)
             RETURNING seq, account_id, definition_id, uuid",
        )
        .map_err(db)?;
    let deleted = keyed_rows(&mut delete, params![account, definition])?;
    log.unstage(&deleted);
    log.purged = true;
    conn.prepare_cached(
        "INSERT INTO event_purges (account_id, definition_id, through_seq) VALUES (?1, ?2, ?3)",
    )
    .map_err(db)?
    .execute(params![account, definition, log.last_seq()])
    .map_err(db)?;
    Ok(())
}
