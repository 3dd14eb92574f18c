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

/// A request head (request line and headers) must arrive whole within this long of its first
/// byte, or the connection is closed. Clients send a head in one packet; ten seconds allow a slow
/// link and refuse a client that trickles one header at a time to hold a connection.
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// A connection waiting for its next request (since it opened or since the last response) is
/// closed after this long if no complete request head has arrived. A minute keeps the keep-alive
/// connections of the SDKs' pools open between the calls of one job, and frees an abandoned
/// connection's slot well before a client's retry gives up. A client that takes none of a
/// response for this long is closed too.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// A request body must arrive whole within this long of its head; a body still arriving then is
/// refused with 400 and the connection closed. The largest body accepted
/// ([`DEFAULT_MAX_BODY_BYTES`]) fits at about 170 KB/s.
pub const DEFAULT_REQUEST_BODY_TIMEOUT: Duration = Duration::from_secs(60);

/// Connections served at once; a client past the cap waits in the listen queue until one closes.
/// Below the 1,024 open files a Linux process may have by default (the soft `RLIMIT_NOFILE`),
/// leaving room for the store's files, so that the cap, not the file limit, is what is reached.
/// Raise both together.
pub const DEFAULT_MAX_CONNECTIONS: usize = 1_000;

/// After SIGTERM, requests in flight may take this long to finish before their connections are
/// closed; connections without a request in flight close at once. Below the 30 s a container
/// orchestrator (Kubernetes' default termination grace period) waits before it kills.
pub const DEFAULT_SHUTDOWN_GRACE_PERIOD: Duration = Duration::from_secs(20);

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
    /// How long a request head may take from its first byte to its end.
    pub header_read_timeout: Duration,
    /// How long a connection may wait for its next request head, or for the client to take any
    /// of a response.
    pub idle_timeout: Duration,
    /// How long a request body may take to arrive after its head.
    pub request_body_timeout: Duration,
    /// Connections served at once.
    pub max_connections: usize,
    /// How long requests in flight may take to finish after the shutdown signal.
    pub shutdown_grace_period: Duration,
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
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            request_body_timeout: DEFAULT_REQUEST_BODY_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            shutdown_grace_period: DEFAULT_SHUTDOWN_GRACE_PERIOD,
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
