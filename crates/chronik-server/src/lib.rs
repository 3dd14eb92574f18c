//! Chronik's HTTP layer: routing, authentication, HubSpot's wire format.
//!
//! A request travels **router → extractors → handler**: [`router`] merges one router per API
//! family (`api/…`, named after the URL prefix it serves); the extractors in [`auth`] and
//! [`extract`] turn credentials and bodies into typed values or a HubSpot-shaped error; the
//! handler calls the domain's rules and one store method; [`error::ApiError`] is the only code
//! that writes an error body. [`telemetry`] wraps everything with the correlation id, the
//! request span and the metrics.
//!
//! [`start`] opens the store and resolves the admin token; [`serve`] runs the router on a
//! listener the caller bound (port 0 works) until the shutdown future resolves, through the
//! connection layer in [`http_conn`] (timeouts, the connection cap, heads hyper would refuse,
//! bounded shutdown).

pub mod api;
pub mod auth;
pub mod config;
pub mod error;
pub mod event_types;
pub mod extract;
pub mod http_conn;
pub mod object_types;
pub mod settings_cache;
pub mod state;
pub mod telemetry;
pub mod time_zones;
pub mod timestamp;

use std::future::Future;

use axum::extract::Request;
use tower::Layer;
use tower_http::normalize_path::NormalizePathLayer;

pub use config::ServerConfig;
pub use state::{start, AppState, Started};

/// The whole HTTP surface on `state`, with the OpenAPI document it generates.
pub fn router(state: AppState) -> axum::Router {
    api::router(state)
}

/// Paths served under a second prefix, rewritten before routing: `(alias, canonical)`.
/// SPEC.md: custom object schemas live at `/crm-object-schemas/v3/schemas` (the path both
/// SDKs call) and are also served at `/crm/v3/schemas`; timeline events v3 live at
/// `/integrators/timeline/v3` (both SDKs) and are also served at `/crm/v3/timeline` (issue 16).
const PATH_ALIASES: &[(&str, &str)] = &[
    ("/crm/v3/schemas", "/crm-object-schemas/v3/schemas"),
    ("/crm/v3/timeline", "/integrators/timeline/v3"),
];

fn rewrite_alias(mut request: Request) -> Request {
    let path = request.uri().path();
    let rewritten = PATH_ALIASES.iter().find_map(|(alias, canonical)| {
        let rest = path.strip_prefix(alias)?;
        (rest.is_empty() || rest.starts_with('/')).then(|| format!("{canonical}{rest}"))
    });
    if let Some(new_path) = rewritten {
        let path_and_query = match request.uri().query() {
            Some(q) => format!("{new_path}?{q}"),
            None => new_path,
        };
        let mut parts = request.uri().clone().into_parts();
        if let Ok(pq) = path_and_query.parse() {
            parts.path_and_query = Some(pq);
            if let Ok(uri) = axum::http::Uri::from_parts(parts) {
                *request.uri_mut() = uri;
            }
        }
    }
    request
}

/// Serves `state` on `listener` until `shutdown` resolves; requests in flight then have the
/// configured grace period to finish before this returns (see [`http_conn`]). Trailing slashes
/// are tolerated on every route, as the SDKs send them (`GET /events/v3/events/`), and
/// [`PATH_ALIASES`] are rewritten to their canonical paths.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let settings = http_conn::Settings::from(state.config.as_ref());
    let app = tower::util::MapRequestLayer::new(rewrite_alias as fn(Request) -> Request)
        .layer(NormalizePathLayer::trim_trailing_slash().layer(router(state)));
    http_conn::serve(listener, app, settings, shutdown).await
}
