//! [`ServerConfig`]: what `chronik serve` was told, as a plain struct. The binary fills it from
//! flags and environment variables; tests build it directly from [`ServerConfig::default`].
//! Library code never reads the environment.

use std::path::PathBuf;
use std::time::Duration;

use chronik_domain::custom_events::definition::DEFAULT_MAX_DEFINITIONS;
use chronik_domain::tenancy::DEFAULT_ACCESS_TOKEN_TTL;
use chronik_domain::Secret;

/// Request bodies above this many bytes are refused with 413 before they are read whole.
/// HubSpot's largest documented payload (a batch of 500 completions) fits comfortably.
pub const DEFAULT_MAX_BODY_BYTES: usize = 10 * 1024 * 1024;

/// PostgreSQL pool size per node.
pub const DEFAULT_PG_MAX_CONNECTIONS: u32 = 16;

/// Seed (custom events, limits): 30,000,000 completions per account per calendar month. SPEC.md
/// makes it a configurable quota; this is the default.
pub const DEFAULT_MAX_MONTHLY_COMPLETIONS: u64 = 30_000_000;

/// The file inside the data directory that keeps a generated admin token.
pub const ADMIN_TOKEN_FILE: &str = "admin-token";

/// Everything the server needs to start.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Where the SQLite database and the generated admin token live.
    pub data_dir: PathBuf,
    /// `postgres://…` to use PostgreSQL instead of the embedded SQLite database.
    pub database_url: Option<Secret>,
    /// The operator's token for `/admin/v1`; generated and stored in `data_dir` when unset.
    pub admin_token: Option<Secret>,
    /// How long an OAuth access token works.
    pub access_token_ttl: Duration,
    /// The largest request body accepted.
    pub max_body_bytes: usize,
    /// PostgreSQL pool size.
    pub pg_max_connections: u32,
    /// Live custom event definitions an account may have.
    pub max_event_definitions: u64,
    /// Custom event completions an account may store per calendar month (UTC).
    pub max_monthly_completions: u64,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            data_dir: PathBuf::from("./chronik-data"),
            database_url: None,
            admin_token: None,
            access_token_ttl: DEFAULT_ACCESS_TOKEN_TTL,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            pg_max_connections: DEFAULT_PG_MAX_CONNECTIONS,
            max_event_definitions: DEFAULT_MAX_DEFINITIONS,
            max_monthly_completions: DEFAULT_MAX_MONTHLY_COMPLETIONS,
        }
    }
}

/// A configuration problem, reported in one line at start.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The database URL has a scheme we do not speak.
    #[error(
        "unsupported database URL scheme in --database-url: expected postgres:// or postgresql://"
    )]
    UnsupportedDatabaseUrl,
}

impl ServerConfig {
    /// The storage the configuration asks for.
    pub fn store_config(&self) -> Result<chronik_store::StoreConfig, ConfigError> {
        match &self.database_url {
            None => Ok(chronik_store::StoreConfig::Sqlite {
                data_dir: self.data_dir.clone(),
            }),
            Some(url) => {
                let url = url.expose();
                if url.starts_with("postgres://") || url.starts_with("postgresql://") {
                    Ok(chronik_store::StoreConfig::Postgres {
                        url: url.to_owned(),
                        max_connections: self.pg_max_connections,
                    })
                } else {
                    Err(ConfigError::UnsupportedDatabaseUrl)
                }
            }
        }
    }
}
