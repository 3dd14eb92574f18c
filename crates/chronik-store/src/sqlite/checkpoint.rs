//! Checkpoint policy: when the WAL is copied back into the database file, and when it starts
//! over.
//!
//! One checkpointer thread runs a passive checkpoint every [`CHECKPOINT_INTERVAL`] (it never
//! blocks the writer), so that the writer does not stop to checkpoint and fsync the database file
//! itself. Past [`WAL_RESTART_PAGES`] the WAL is made to start over with a RESTART checkpoint,
//! which the writer thread runs between two commits when the checkpointer asks ([`Restart`]).

use std::path::Path;

use rusqlite::Connection;

/// How often the checkpointer copies the WAL back into the database file.
pub(super) const CHECKPOINT_INTERVAL: std::time::Duration = std::time::Duration::from_millis(250);

/// After a checkpoint has used the whole WAL, a file larger than this (1.25 GiB) is cut back to
/// it. Above the restart size, so that a WAL that starts over keeps its file (truncating a large
/// file stalls the writer).
pub(super) const WAL_SIZE_LIMIT_BYTES: i64 = 5 * 256 * 1024 * 1024;

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
pub(super) const WAL_RESTART_PAGES: i64 = 256 * 1024;
/// Small in tests, so that a test sees restarts after a few hundred commits.
#[cfg(test)]
pub(super) const WAL_RESTART_PAGES: i64 = 256;

/// The RESTART checkpoint holds the writer off while it copies, so the frames it has left to copy
/// add to its pause, and the writer adds frames all the time a passive checkpoint runs. Before
/// asking for a RESTART the checkpointer therefore repeats passive checkpoints (which never block
/// the writer) until at most this many frames are left, or [`RESTART_CATCH_UP_ROUNDS`] have run.
pub(super) const RESTART_BEHIND_PAGES: i64 = 128;

/// At most this many catch-up passive checkpoints before a RESTART.
pub(super) const RESTART_CATCH_UP_ROUNDS: usize = 16;

/// How long the checkpointer leaves an asked-for RESTART to the writer; a writer with nothing to
/// do does not see the request, and the checkpointer then runs the RESTART itself.
pub(super) const RESTART_HANDOFF: std::time::Duration = std::time::Duration::from_millis(500);

/// How long a RESTART checkpoint run by the checkpointer waits for locks (the writer is idle
/// then, so only readers can hold it up).
pub(super) const RESTART_WAIT: std::time::Duration = std::time::Duration::from_millis(100);

/// The backstop in case the WAL restarts keep failing (a reader that never ends its transaction):
/// past this many pages (4 GiB) the writer checkpoints itself right after a commit (SQLite's
/// autocheckpoint), which finishes because no frames are added meanwhile.
pub(super) const WAL_AUTOCHECKPOINT_PAGES: i64 = 1024 * 1024;

/// The checkpointer's request that the writer restart the WAL (see [`WAL_RESTART_PAGES`]).
/// Exactly one of the two takes a request: whoever swaps it back first runs the checkpoint.
#[derive(Default)]
pub(super) struct Restart {
    requested: std::sync::atomic::AtomicBool,
}

impl Restart {
    fn request(&self) {
        self.requested
            .store(true, std::sync::atomic::Ordering::Release);
    }

    /// True once for each request: the caller then runs the RESTART.
    pub(super) fn take(&self) -> bool {
        self.requested
            .swap(false, std::sync::atomic::Ordering::AcqRel)
    }

    fn pending(&self) -> bool {
        self.requested.load(std::sync::atomic::Ordering::Acquire)
    }
}

/// `PRAGMA wal_checkpoint(mode)`: the WAL's frames and how many of them are copied back.
pub(super) fn checkpoint(conn: &Connection, mode: &str) -> rusqlite::Result<(i64, i64)> {
    conn.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |r| {
        Ok((r.get::<_, i64>(1)?, r.get::<_, i64>(2)?))
    })
}

/// Makes the WAL start over; on the writer's connection between transactions, or on the
/// checkpointer's when the writer is idle.
pub(super) fn restart_wal(conn: &Connection) -> rusqlite::Result<(i64, i64)> {
    metrics::counter!("chronik_store_wal_restarts_total", "backend" => "sqlite").increment(1);
    checkpoint(conn, "RESTART")
}

/// Runs passive checkpoints every [`CHECKPOINT_INTERVAL`] until `stop` is dropped (with the
/// store), and a last one then; past [`WAL_RESTART_PAGES`] it asks the writer to restart the WAL.
pub(super) fn run_checkpointer(
    path: &Path,
    restart: &Restart,
    stop: std::sync::mpsc::Receiver<()>,
) {
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

#[cfg(feature = "bench")]
impl super::SqliteStore {
    /// For the benchmark floor, which writes on a connection of its own while the store is
    /// idle: runs the WAL restart that the checkpointer asked for, as the writer thread does
    /// between two commits. Call it on that connection after each commit.
    pub fn restart_wal_if_asked(&self, conn: &Connection) -> Result<(), crate::StoreError> {
        if self.restart.take() {
            restart_wal(conn).map_err(crate::StoreError::internal)?;
        }
        Ok(())
    }
}
