//! [`AppState`]: what every handler can reach (the store, the configuration, the admin token,
//! the metrics handle), and [`start`], which builds it.

use std::sync::Arc;

use chronik_domain::Secret;
use chronik_store::Store;
use metrics_exporter_prometheus::PrometheusHandle;

use crate::api::custom_events::{EventTypeIds, SendCache};
use crate::config::{ServerConfig, ADMIN_TOKEN_FILE};
use crate::time_zones::TimeZones;

/// Shared, cheaply clonable state of a running server.
#[derive(Clone)]
pub struct AppState {
    /// The storage boundary.
    pub store: Arc<dyn Store>,
    /// The configuration the server started with.
    pub config: Arc<ServerConfig>,
    /// The operator's token for `/admin/v1`.
    pub admin_token: Arc<Secret>,
    /// Renders `/metrics`.
    pub metrics: PrometheusHandle,
    /// Grants and event definitions kept for custom event sends.
    pub send_cache: Arc<SendCache>,
    /// Event type ids kept for reads.
    pub event_type_ids: Arc<EventTypeIds>,
    /// Compiled templates of app timeline event types, per type version.
    pub templates: Arc<crate::event_types::CompiledTemplates>,
    /// Accounts' time zones kept for renders ([`AppState::account_time_zone`]).
    pub time_zones: Arc<TimeZones>,
}

/// A started server state, plus the admin token when it was generated just now (the caller
/// prints it once; it is never shown again).
pub struct Started {
    /// The state to serve.
    pub state: AppState,
    /// `Some` only on the start that generated the admin token.
    pub generated_admin_token: Option<Secret>,
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The configuration is inconsistent.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// The store could not be opened or migrated.
    #[error("could not open the store: {0}")]
    Store(#[from] chronik_store::StoreError),
    /// The data directory or the admin token file could not be used.
    #[error("data directory {path}: {source}")]
    DataDir {
        path: String,
        source: std::io::Error,
    },
}

/// Opens the configured store (applying migrations) and resolves the admin token: the
/// configured one, else the one stored in the data directory, else a new one written there.
pub async fn start(config: ServerConfig) -> Result<Started, StartError> {
    let store_config = config.store_config()?;
    let (admin_token, generated_admin_token) = resolve_admin_token(&config)?;
    let store = chronik_store::open(&store_config).await?;
    tracing::info!(backend = store.backend(), "store opened");
    Ok(Started {
        state: AppState {
            config: Arc::new(config),
            admin_token: Arc::new(admin_token),
            metrics: crate::telemetry::metrics_handle_for(store.backend()),
            send_cache: Arc::new(SendCache::default()),
            event_type_ids: Arc::new(EventTypeIds::default()),
            templates: Arc::default(),
            time_zones: Arc::new(TimeZones::default()),
            store,
        },
        generated_admin_token,
    })
}

fn resolve_admin_token(config: &ServerConfig) -> Result<(Secret, Option<Secret>), StartError> {
    if let Some(token) = &config.admin_token {
        return Ok((token.clone(), None));
    }
    let dir = &config.data_dir;
    let io = |source| StartError::DataDir {
        path: dir.display().to_string(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(io)?;
    let path = dir.join(ADMIN_TOKEN_FILE);
    match std::fs::read_to_string(&path) {
        Ok(stored) if !stored.trim().is_empty() => Ok((Secret::new(stored.trim()), None)),
        Ok(_) | Err(_) => {
            let token = Secret::generate("chronik-admin-");
            write_private(&path, token.expose()).map_err(io)?;
            Ok((token.clone(), Some(token)))
        }
    }
}

/// Writes a file only its owner can read.
fn write_private(path: &std::path::Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(contents.as_bytes())?;
    file.write_all(b"\n")?;
    file.sync_all()
}
