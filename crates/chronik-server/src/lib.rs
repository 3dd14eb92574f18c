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
//! listener the caller bound (port 0 works) until the shutdown future resolves.

pub mod api;
pub mod auth;
pub mod config;
pub mod error;
pub mod extract;
pub mod state;
pub mod telemetry;

use std::future::Future;

use axum::extract::Request;
use axum::ServiceExt;
use tower::Layer;
use tower_http::normalize_path::NormalizePathLayer;

pub use config::ServerConfig;
pub use state::{start, AppState, Started};

/// The whole HTTP surface on `state`, with the OpenAPI document it generates.
pub fn router(state: AppState) -> axum::Router {
    api::router(state)
}

/// Serves `state` on `listener` until `shutdown` resolves; requests in flight then finish
/// before this returns. Trailing slashes are tolerated on every route, as the SDKs send them
/// (`GET /events/v3/events/`).
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = NormalizePathLayer::trim_trailing_slash().layer(router(state));
    axum::serve(listener, ServiceExt::<Request>::into_make_service(app))
        .with_graceful_shutdown(shutdown)
        .await
}
