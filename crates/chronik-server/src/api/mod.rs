//! The HTTP surface: one router per API family, merged here. Each family folder serves one URL
//! prefix and has the same shape (`mod.rs` router, `wire.rs` HubSpot's shapes, one file per
//! resource):
//!
//! | folder / file | prefix |
//! | --- | --- |
//! | `oauth/` | `/oauth/v1/…` |
//! | `admin/` | `/admin/v1/…` (operator) |
//! | `crm/` | `/crm/v3/…`, `/crm-object-schemas/v3/…` |
//! | `custom_events/` | `/events/v3/…` (custom behavioral events) |
//! | `projects/` | `/projects/v1/…` (an app's project: app objects) |
//! | `timeline/` | `/integrators/timeline/v3/…` (alias `/crm/v3/timeline/…`): timeline events v3 |
//! | `account_info.rs` | `/account-info/v3/…` |
//! | `app_icons.rs` | `/apps/{appId}/icon` (an app's icon for cards, no credentials) |
//! | `ops.rs` | `/health`, `/metrics`, `/openapi.json` |
//!
//! Unknown routes (404) and wrong methods (405) get HubSpot's error body from the fallbacks
//! here; the body limit and the telemetry wrap every route.

pub mod account_info;
pub mod admin;
pub mod app_icons;
pub mod crm;
pub mod custom_events;
pub mod oauth;
pub mod ops;
pub mod projects;
pub mod timeline;

use axum::extract::DefaultBodyLimit;
use axum::middleware::{from_fn, from_fn_with_state};
use axum::Router;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use crate::error::{ApiError, Category};
use crate::extract::limit_body;
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Chronik",
        description = "A self-hosted, HubSpot-wire-compatible server for custom behavioral events, CRM timeline events and app events."
    ),
    components(schemas(crate::error::ErrorBody, crate::error::ErrorDetail)),
    modifiers(&Security),
)]
struct ApiDoc;

struct Security;

impl utoipa::Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{
            ApiKey, ApiKeyValue, Http, HttpAuthScheme, SecurityScheme,
        };
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
        components.add_security_scheme(
            "admin",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
        components.add_security_scheme(
            "hapikey",
            SecurityScheme::ApiKey(ApiKey::Query(ApiKeyValue::new("hapikey"))),
        );
    }
}

fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(ops::router())
        .merge(account_info::router())
        .merge(app_icons::router())
        .merge(oauth::router())
        .merge(admin::router())
        .merge(crm::router())
        .merge(custom_events::router())
        .merge(projects::router())
        .merge(timeline::router())
}

/// The OpenAPI document generated from the route annotations.
pub fn openapi() -> utoipa::openapi::OpenApi {
    routes().split_for_parts().1
}

/// Every route, with fallbacks, body limit and telemetry, bound to `state`.
pub fn router(state: AppState) -> Router {
    let max_body = state.config.max_body_bytes;
    let (router, _) = routes().split_for_parts();
    router
        .fallback(unknown_route)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(max_body))
        .layer(from_fn_with_state(state.clone(), limit_body))
        .layer(from_fn(crate::telemetry::track))
        .with_state(state)
}

async fn unknown_route(uri: axum::http::Uri) -> ApiError {
    ApiError::not_found(format!(
        "No route matches {}; see /openapi.json for the endpoints.",
        uri.path()
    ))
}

async fn method_not_allowed(method: axum::http::Method, uri: axum::http::Uri) -> ApiError {
    ApiError::new(
        Category::MethodNotAllowed,
        format!(
            "{method} is not supported on {}; see /openapi.json for the methods it takes.",
            uri.path()
        ),
    )
}
