//! `chronik serve`: flags (each with an env var) → `ServerConfig` → bind → serve until
//! SIGTERM or SIGINT, letting requests in flight finish within the shutdown grace period.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use chronik_domain::custom_events::definition::DEFAULT_MAX_DEFINITIONS;
use chronik_domain::Secret;
use chronik_server::config::{
    DEFAULT_HEADER_READ_TIMEOUT, DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_BODY_BYTES,
    DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_MONTHLY_COMPLETIONS, DEFAULT_PG_MAX_CONNECTIONS,
    DEFAULT_REQUEST_BODY_TIMEOUT, DEFAULT_SHUTDOWN_GRACE_PERIOD,
};
use chronik_server::telemetry::{init_tracing, LogFormat};
use chronik_server::ServerConfig;

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum LogFormatArg {
    Human,
    Json,
}

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on; port 0 picks a free port (the real address is printed).
    #[arg(long, env = "CHRONIK_ADDR", default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// Directory for the embedded database and the generated admin token.
    #[arg(long, env = "CHRONIK_DATA", default_value = "./chronik-data")]
    data: PathBuf,
    /// Operator token for /admin/v1. When unset, one is generated, printed once and stored in
    /// the data directory.
    #[arg(long, env = "CHRONIK_ADMIN_TOKEN", hide_env_values = true)]
    admin_token: Option<String>,
    /// Use PostgreSQL (postgres://user:password@host:port/db) instead of embedded SQLite.
    #[arg(long, env = "CHRONIK_DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
    /// Log format on stderr.
    #[arg(long, env = "CHRONIK_LOG_FORMAT", value_enum, default_value = "human")]
    log_format: LogFormatArg,
    /// Lifetime of OAuth access tokens, in seconds.
    #[arg(long, env = "CHRONIK_ACCESS_TOKEN_TTL", default_value_t = 1800)]
    access_token_ttl: u64,
    /// Largest request body accepted, in bytes; larger ones get 413.
    #[arg(long, env = "CHRONIK_MAX_BODY_BYTES", default_value_t = DEFAULT_MAX_BODY_BYTES)]
    max_body_bytes: usize,
    /// PostgreSQL connections per node.
    #[arg(long, env = "CHRONIK_PG_MAX_CONNECTIONS", default_value_t = DEFAULT_PG_MAX_CONNECTIONS)]
    pg_max_connections: u32,
    /// Live custom event definitions an account may have (HubSpot: 500).
    #[arg(long, env = "CHRONIK_MAX_EVENT_DEFINITIONS", default_value_t = DEFAULT_MAX_DEFINITIONS)]
    max_event_definitions: u64,
    /// Custom event completions an account may store per calendar month, UTC (HubSpot:
    /// 30,000,000); sends past it get 429.
    #[arg(long, env = "CHRONIK_MAX_MONTHLY_COMPLETIONS", default_value_t = DEFAULT_MAX_MONTHLY_COMPLETIONS)]
    max_monthly_completions: u64,
    /// Seconds a request head (request line and headers) may take from its first byte; a
    /// connection still sending one then is closed.
    #[arg(long, env = "CHRONIK_HEADER_READ_TIMEOUT", default_value_t = DEFAULT_HEADER_READ_TIMEOUT.as_secs(), value_parser = clap::value_parser!(u64).range(1..))]
    header_read_timeout: u64,
    /// Seconds a connection may wait for its next request (since it opened or since the last
    /// response), or for the client to take any of a response, before it is closed.
    #[arg(long, env = "CHRONIK_IDLE_TIMEOUT", default_value_t = DEFAULT_IDLE_TIMEOUT.as_secs(), value_parser = clap::value_parser!(u64).range(1..))]
    idle_timeout: u64,
    /// Seconds a request body may take to arrive after its head; a later one gets 400 and the
    /// connection is closed.
    #[arg(long, env = "CHRONIK_REQUEST_BODY_TIMEOUT", default_value_t = DEFAULT_REQUEST_BODY_TIMEOUT.as_secs(), value_parser = clap::value_parser!(u64).range(1..))]
    request_body_timeout: u64,
    /// Connections served at once; more wait to be accepted until one closes. Keep it below
    /// the process's open-file limit (ulimit -n).
    #[arg(long, env = "CHRONIK_MAX_CONNECTIONS", default_value_t = DEFAULT_MAX_CONNECTIONS as u64, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    max_connections: u64,
    /// Seconds requests in flight may take to finish after SIGTERM or SIGINT; connections
    /// without one close at once.
    #[arg(long, env = "CHRONIK_SHUTDOWN_GRACE_PERIOD", default_value_t = DEFAULT_SHUTDOWN_GRACE_PERIOD.as_secs())]
    shutdown_grace_period: u64,
}

pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    init_tracing(match args.log_format {
        LogFormatArg::Human => LogFormat::Human,
        LogFormatArg::Json => LogFormat::Json,
    });
    let config = ServerConfig {
        data_dir: args.data,
        database_url: args.database_url.map(Secret::new),
        admin_token: args.admin_token.map(Secret::new),
        access_token_ttl: Duration::from_secs(args.access_token_ttl),
        max_body_bytes: args.max_body_bytes,
        pg_max_connections: args.pg_max_connections,
        max_event_definitions: args.max_event_definitions,
        max_monthly_completions: args.max_monthly_completions,
        header_read_timeout: Duration::from_secs(args.header_read_timeout),
        idle_timeout: Duration::from_secs(args.idle_timeout),
        request_body_timeout: Duration::from_secs(args.request_body_timeout),
        // At most 1,000,000 (the flag's range), so it fits any usize.
        max_connections: usize::try_from(args.max_connections).unwrap_or(usize::MAX),
        shutdown_grace_period: Duration::from_secs(args.shutdown_grace_period),
    };
    let started = chronik_server::start(config)
        .await
        .context("could not start")?;
    let listener = tokio::net::TcpListener::bind(args.addr)
        .await
        .with_context(|| format!("could not listen on {}", args.addr))?;
    let addr = listener
        .local_addr()
        .context("could not read the listening address")?;
    let shutdown = shutdown_signal()?;
    if let Some(token) = &started.generated_admin_token {
        println!(
            "admin token (shown once, stored in the data directory): {}",
            token.expose()
        );
    }
    println!("chronik listening on http://{addr}");
    tracing::info!(%addr, backend = started.state.store.backend(), "listening");
    chronik_server::serve(listener, started.state, shutdown)
        .await
        .context("server failed")?;
    tracing::info!("shut down cleanly");
    Ok(())
}

/// Installs the SIGTERM and SIGINT handlers now (so a signal that arrives right after the
/// address is printed is already ours) and returns a future that resolves on either.
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    #[cfg(unix)]
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("could not install the SIGTERM handler")?;
    #[cfg(unix)]
    let mut interrupt = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
        .context("could not install the SIGINT handler")?;
    Ok(async move {
        #[cfg(unix)]
        tokio::select! {
            _ = terminate.recv() => {}
            _ = interrupt.recv() => {}
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutdown signal received; finishing requests in flight");
    })
}
