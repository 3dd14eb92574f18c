//! `/apps/{appId}/icon`: an app's icon as cards show it, the 30×30 PNG made when the operator
//! uploaded it (`PUT /admin/v1/apps/{appId}/icon`, `api/admin/icons.rs`; seed: timeline events
//! v3, custom icon). No credentials: cards and web pages embed it in `<img>` elements, and an
//! icon is no secret. An uploaded SVG is never served, only its rasterization.
//!
//! [`icon_url`] is the link a timeline card carries.

use axum::extract::State;
use axum::http::header::{
    CACHE_CONTROL, CONTENT_TYPE, ETAG, IF_NONE_MATCH, X_CONTENT_TYPE_OPTIONS,
};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chronik_domain::AppId;
use chronik_store::{AppIcon, StoreError};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiError, ErrorBody};
use crate::extract::Path;
use crate::state::AppState;

/// How long browsers and proxies may reuse an icon without asking again: short, as the
/// operator may replace it under the same URL; after that a conditional request with the
/// `ETag` costs a 304.
pub const ICON_CACHE_CONTROL: &str = "public, max-age=300";

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_icon))
}

/// The path an app's icon is served at, relative to the server's origin, for the links of
/// timeline cards and web pages.
pub fn icon_url(app: AppId) -> String {
    format!("/apps/{app}/icon")
}

/// An image file (PNG or SVG), sent or served as raw bytes.
#[derive(utoipa::ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct ImageFile(pub Vec<u8>);

/// The `ETag` of an icon: it changes with every upload.
pub(crate) fn icon_etag(icon: &AppIcon) -> String {
    format!(
        "\"{}-{}\"",
        icon.updated_at.timestamp_millis(),
        icon.rendition_png.len()
    )
}

/// The app's icon, 30×30 PNG.
#[utoipa::path(get, path = "/apps/{appId}/icon", tag = "apps",
    params(("appId" = i64, Path)),
    responses(
        (status = 200, description = "The 30×30 PNG", content_type = "image/png", body = ImageFile),
        (status = 304, description = "Unchanged since the ETag sent in If-None-Match"),
        (status = 404, body = ErrorBody)))]
pub async fn get_icon(
    State(state): State<AppState>,
    Path(app_id): Path<i64>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let app = AppId(app_id);
    let icon = state.store.app_icon(app).await.map_err(|e| match e {
        StoreError::NotFound => ApiError::not_found(format!(
            "App {app} has no icon; the operator sets one with PUT /admin/v1/apps/{app}/icon."
        )),
        e => e.into(),
    })?;
    let etag = icon_etag(&icon);
    let cache = [
        (CACHE_CONTROL, HeaderValue::from_static(ICON_CACHE_CONTROL)),
        (
            ETAG,
            HeaderValue::from_str(&etag).expect("an ETag of digits is a header value"),
        ),
    ];
    let unchanged = headers
        .get(IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|sent| sent.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    if unchanged {
        return Ok((StatusCode::NOT_MODIFIED, cache).into_response());
    }
    Ok((
        [
            (CONTENT_TYPE, HeaderValue::from_static("image/png")),
            (X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
        ],
        cache,
        icon.rendition_png,
    )
        .into_response())
}
