//! The read side: read-only connections on the blocking pool (never on a runtime thread), and
//! who may use one when.
//!
//! Reads go in two lanes, so that one account's costly reads cannot starve everyone else's
//! store access. (Sixteen slow completion pages of one account once held every read connection
//! while token lookups, `/health` and other accounts' record reads waited behind them.)
//! - **Short reads** ([`SqliteStore::read`]): lookups by key whose cost no request can raise
//!   (tokens, apps, accounts, records by id, definitions, settings, `/health`). They take one of
//!   [`MAX_SHORT_READS`] permits of their own, which no scan ever holds.
//! - **Scans** ([`SqliteStore::read_scan`]): reads whose cost grows with the data and the
//!   request (pages of completions and of records). A scan first waits for one of its account's
//!   [`MAX_SCANS_PER_ACCOUNT`] turns, then for one of [`MAX_SCANS`] permits: one account's scans
//!   queue behind each other and leave scan permits to the other accounts.
//!
//! Every read runs within a time budget ([`READ_BUDGET`]): SQLite's progress handler interrupts
//! the statement running past it, and the read answers [`StoreError::ReadBudgetExceeded`].
//! Waiting for a permit is not part of the budget; the budget bounds what a read costs others.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chronik_domain::AccountId;
use rusqlite::{Connection, OpenFlags};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::completion_log;
use super::sql::STATEMENT_CACHE_CAPACITY;
use super::SqliteStore;
use crate::StoreError;

/// Short reads that run at once, each on its own blocking thread and connection. They take
/// microseconds, so these are rarely all taken; with [`MAX_SCANS`] they make the 16 read
/// connections the store had when every read shared one pool.
pub(super) const MAX_SHORT_READS: usize = 12;

/// Scans that run at once, of all accounts. A scan keeps a core busy: on the two cores this is
/// sized for, more would only share them slower (and hold their WAL snapshots longer), while
/// two accounts can each run [`MAX_SCANS_PER_ACCOUNT`] at full speed.
pub(super) const MAX_SCANS: usize = 4;

/// Scans of one account that run at once; its other scans wait for their turn without holding
/// one of the [`MAX_SCANS`] permits.
pub(super) const MAX_SCANS_PER_ACCOUNT: usize = 2;

/// How long one read may run before it is interrupted. The benchmarks' slowest reads take tens
/// of milliseconds (a first page of completions filtered by a property: p99 under 30 ms on
/// 1,000,000 completions; a 2,000-record chunk of a search scan: about 5 ms). The budget leaves
/// room for a page that has to look through a whole large account under load, and stops one
/// that a request made far costlier (hundreds of filters) before it holds a connection and a
/// core for long.
pub(super) const READ_BUDGET: Duration = Duration::from_secs(10);

/// The progress handler looks at the clock every this many SQLite VM instructions (some tens
/// of microseconds), so a read stops within a millisecond of its budget at a cost of one clock
/// read per thousand instructions.
const BUDGET_CHECK_INSTRUCTIONS: std::ffi::c_int = 1_000;

/// Idle read connections kept open: one per read that can run at once.
pub(super) const MAX_IDLE_READERS: usize = MAX_SHORT_READS + MAX_SCANS;

/// Readers map the database file instead of copying each page into their own cache.
pub(super) const READER_MMAP_BYTES: i64 = 256 * 1024 * 1024;

/// The read connections and the permits that say who may use one.
pub(super) struct ReaderPool {
    path: PathBuf,
    indexed_path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    short: Arc<Semaphore>,
    scans: Arc<Semaphore>,
    /// Each account's scan turns, present while one of its scans runs or waits.
    turns: Mutex<HashMap<AccountId, Arc<Semaphore>>>,
    budget: Duration,
}

/// What a read holds while it runs; dropping it (when the blocking closure ends, even if the
/// caller stopped waiting) frees the permits.
struct Permits {
    _lane: OwnedSemaphorePermit,
    _turn: Option<Turn>,
}

/// One of an account's scan turns. Dropping it gives the turn back and forgets the account's
/// turns when nobody else holds or waits for one.
struct Turn {
    pool: Arc<ReaderPool>,
    account: AccountId,
    turns: Option<Arc<Semaphore>>,
    permit: Option<OwnedSemaphorePermit>,
}

impl Drop for Turn {
    fn drop(&mut self) {
        drop(self.permit.take());
        drop(self.turns.take());
        if let Ok(mut turns) = self.pool.turns.lock() {
            // Every clone is made under this lock, so a count of one (the map's) means no scan
            // of the account runs or waits.
            if turns
                .get(&self.account)
                .is_some_and(|t| Arc::strong_count(t) == 1)
            {
                turns.remove(&self.account);
            }
        }
    }
}

impl ReaderPool {
    pub(super) fn new(path: PathBuf, indexed_path: PathBuf, budget: Duration) -> Self {
        ReaderPool {
            path,
            indexed_path,
            idle: Mutex::new(Vec::new()),
            short: Arc::new(Semaphore::new(MAX_SHORT_READS)),
            scans: Arc::new(Semaphore::new(MAX_SCANS)),
            turns: Mutex::new(HashMap::new()),
            budget,
        }
    }

    /// Waits for the permits of a short read, or of a scan of `account`.
    async fn permits(self: &Arc<Self>, scan_of: Option<AccountId>) -> Result<Permits, StoreError> {
        let closed = |_| StoreError::Unavailable("the SQLite read pool is closed".into());
        let turn = match scan_of {
            None => None,
            Some(account) => {
                let turns = {
                    let mut all = self.turns.lock().map_err(|_| poisoned())?;
                    Arc::clone(
                        all.entry(account)
                            .or_insert_with(|| Arc::new(Semaphore::new(MAX_SCANS_PER_ACCOUNT))),
                    )
                };
                // The guard exists before the wait, so that a caller that stops waiting still
                // forgets the account's turns.
                let mut turn = Turn {
                    pool: Arc::clone(self),
                    account,
                    turns: Some(Arc::clone(&turns)),
                    permit: None,
                };
                turn.permit = Some(turns.acquire_owned().await.map_err(closed)?);
                Some(turn)
            }
        };
        let lane = if turn.is_some() {
            &self.scans
        } else {
            &self.short
        };
        let lane = Arc::clone(lane).acquire_owned().await.map_err(closed)?;
        Ok(Permits {
            _lane: lane,
            _turn: turn,
        })
    }

    /// How many accounts have scan turns remembered.
    #[cfg(test)]
    pub(super) fn accounts_with_turns(&self) -> usize {
        self.turns.lock().map_or(usize::MAX, |t| t.len())
    }

    fn take(&self) -> Result<Connection, StoreError> {
        let pooled = self.idle.lock().map_err(|_| poisoned())?.pop();
        match pooled {
            Some(conn) => Ok(conn),
            None => open_reader(&self.path, &self.indexed_path),
        }
    }

    fn give_back(&self, conn: Connection) {
        // A connection left inside a transaction (a read that failed half-way) would keep its
        // old snapshot of the database: close it instead.
        if !conn.is_autocommit() {
            return;
        }
        if let Ok(mut idle) = self.idle.lock() {
            if idle.len() < MAX_IDLE_READERS {
                idle.push(conn);
            }
        }
    }

    /// Runs `f` on `conn`, interrupting any statement that runs past the budget.
    fn within_budget<T>(
        &self,
        conn: &Connection,
        f: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let deadline = Instant::now() + self.budget;
        let overran = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&overran);
        conn.progress_handler(
            BUDGET_CHECK_INSTRUCTIONS,
            Some(move || {
                let over = Instant::now() >= deadline;
                if over {
                    flag.store(true, Ordering::Relaxed);
                }
                over
            }),
        );
        let result = f(conn);
        conn.progress_handler(0, None::<fn() -> bool>);
        // Whatever `f` made of the interrupted statement's error (or of a result cut short),
        // the read did not finish.
        if overran.load(Ordering::Relaxed) {
            return Err(StoreError::ReadBudgetExceeded {
                budget: self.budget,
            });
        }
        result
    }

    async fn run<T, F>(self: &Arc<Self>, scan_of: Option<AccountId>, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let span = tracing::Span::current();
        let permits = self.permits(scan_of).await?;
        let pool = Arc::clone(self);
        tokio::task::spawn_blocking(move || {
            let _permits = permits;
            let _entered = span.enter();
            let conn = pool.take()?;
            let result = pool.within_budget(&conn, f);
            pool.give_back(conn);
            result
        })
        .await
        .map_err(StoreError::internal)?
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
    /// Runs the short read `f` (a lookup by key) on a read-only connection on the blocking
    /// pool, keeping the caller's span.
    pub(super) async fn read<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        self.readers.run(None, f).await
    }

    /// [`Self::read`] for a scan of `account`'s data, whose cost grows with the data and the
    /// request: it waits for one of the account's scan turns and a scan permit.
    pub(super) async fn read_scan<T, F>(&self, account: AccountId, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        self.readers.run(Some(account), f).await
    }
}
