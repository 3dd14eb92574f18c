//! The storage boundary. [`Store`] is made of one trait per API family ([`TenancyStore`],
//! [`CrmStore`], [`AppObjectStore`], [`CustomEventStore`], [`TimelineStore`]); the server holds
//! it as `Arc<dyn Store>` and never sees SQL.
//!
//! Two implementations live side by side with the same file names:
//! - [`sqlite`]: the embedded default. One writer thread with group commit (WAL,
//!   `synchronous=FULL`), read connections off the async runtime.
//! - [`postgres`]: `--database-url postgres://…`, pooled through sqlx; any number of Chronik
//!   nodes may share one database.
//!
//! Every invariant (uniqueness, one-time codes, revocation) is enforced by the database in the
//! same statement or transaction that writes, never by reading, deciding in Rust and writing.
//! Keys lead with the account id. Each method commits one atomic unit.
//!
//! The `bench` feature makes public what the benchmark floors in `crates/chronik/examples`
//! need to write rows straight into the schema (`occurrence_id`, `property_bits`, the SQLite
//! file names, writer pragmas and WAL restart); the server and the binary build without it.

pub mod app_objects;
pub mod crm;
pub mod custom_events;
pub mod error;
mod history;
pub mod migrate;
// The stored forms the benchmark floors (`crates/chronik/examples`) write rows with: public only
// with the `bench` feature, since nothing outside the store needs them otherwise.
#[cfg(feature = "bench")]
pub mod occurrence_id;
#[cfg(not(feature = "bench"))]
mod occurrence_id;
pub mod postgres;
#[cfg(feature = "bench")]
pub mod property_bits;
#[cfg(not(feature = "bench"))]
mod property_bits;
pub mod sqlite;
pub mod tenancy;
pub mod timeline;

use std::sync::Arc;

pub use app_objects::*;
pub use crm::*;
pub use custom_events::*;
pub use error::StoreError;
pub use tenancy::*;
pub use timeline::*;

/// Everything Chronik stores, one trait per API family.
#[async_trait::async_trait]
pub trait Store:
    TenancyStore + CrmStore + AppObjectStore + CustomEventStore + TimelineStore + Send + Sync
{
    /// `"sqlite"` or `"postgres"`, for logs and metrics.
    fn backend(&self) -> &'static str;

    /// Checks that the database answers (for `/health`).
    async fn ping(&self) -> Result<(), StoreError>;

    /// Waits until the work the store does in the background after answering has caught up
    /// with every write answered before the call (SQLite: merging staged completions into the
    /// indexed table, and applying deletions to it). Reads never need it: they see every
    /// answered write either way. Tests use it to read the indexed side too, the benchmark to
    /// measure a settled store.
    async fn settle(&self) -> Result<(), StoreError> {
        Ok(())
    }
}

/// Where the data lives, as the operator configured it.
#[derive(Clone)]
pub enum StoreConfig {
    /// The embedded SQLite database in this directory.
    Sqlite { data_dir: std::path::PathBuf },
    /// A PostgreSQL database.
    Postgres { url: String, max_connections: u32 },
}

impl std::fmt::Debug for StoreConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreConfig::Sqlite { data_dir } => f
                .debug_struct("Sqlite")
                .field("data_dir", data_dir)
                .finish(),
            StoreConfig::Postgres {
                url,
                max_connections,
            } => f
                .debug_struct("Postgres")
                .field("url", &postgres::redact_url(url))
                .field("max_connections", max_connections)
                .finish(),
        }
    }
}

/// Opens the configured store and applies its pending migrations.
pub async fn open(config: &StoreConfig) -> Result<Arc<dyn Store>, StoreError> {
    match config {
        StoreConfig::Sqlite { data_dir } => {
            Ok(Arc::new(sqlite::SqliteStore::open(data_dir.clone()).await?))
        }
        StoreConfig::Postgres {
            url,
            max_connections,
        } => Ok(Arc::new(
            postgres::PostgresStore::connect(url, *max_connections).await?,
        )),
    }
}
