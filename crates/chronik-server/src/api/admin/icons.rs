//! App icons (seed: timeline events v3, custom icon): the operator uploads an app's icon as
//! the request body (`Content-Type: image/png` or `image/svg+xml`); the rules and the 30×30
//! rendition are [`chronik_domain::app_icon`]'s. Cards get the rendition from
//! `GET /apps/{appId}/icon` (`api/app_icons.rs`).
//!
//! The body limit of this route is the icon's own, [`MAX_ICON_BYTES`] (enforced here, with a
//! 400 naming the 5 MB rule), not the server's `max_body_bytes`, which every other route keeps
//! (see [`ICON_ROUTE`] in `extract::limit_body`).

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequest, Request, State};
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::StatusCode;
use chronik_domain::app_icon::{
    check_icon_size, icon_over_size_limit, prepare_icon, IconFormat, ICON_RENDITION_SIDE_PX,
    MAX_ICON_BYTES,
};
use chronik_domain::AppId;
use chronik_store::{NewAppIcon, StoreError};
use chrono::Utc;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::wire::AppIconOut;
use crate::api::app_icons::{icon_url, ImageFile};
use crate::auth::Admin;
use crate::error::{ApiError, Category, ErrorBody};
use crate::extract::Path;
use crate::state::AppState;

/// The icon route's template: its body limit is [`MAX_ICON_BYTES`], not `max_body_bytes`.
pub const ICON_ROUTE: &str = "/admin/v1/apps/{appId}/icon";

pub(super) fn router() -> OpenApiRouter<AppState> {
    // The route's own limit replaces the server's for the body extractor below (this layer
    // runs inside the router-wide one); `limit_body` lets the route's requests through.
    OpenApiRouter::new()
        .routes(routes!(put_icon, delete_icon))
        .layer(DefaultBodyLimit::max(MAX_ICON_BYTES))
}

/// An icon upload: its format from `Content-Type` and its bytes, at most [`MAX_ICON_BYTES`].
pub struct IconUpload {
    format: IconFormat,
    bytes: Bytes,
}

impl FromRequest<AppState> for IconUpload {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let content_type = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let format = IconFormat::from_content_type(content_type).ok_or_else(|| {
            ApiError::new(
                Category::UnsupportedMediaType,
                format!(
                    "An icon is sent as the request body with Content-Type image/png or image/svg+xml, not {:?}.",
                    content_type
                ),
            )
        })?;
        // A declared length past the limit is refused before any of the body is read.
        let declared = req
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if let Some(len) = declared {
            check_icon_size(len)?;
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::from(icon_over_size_limit())
            } else {
                ApiError::new(
                    Category::ValidationError,
                    format!("Could not read the request body: {rejection}"),
                )
            }
        })?;
        Ok(IconUpload { format, bytes })
    }
}

fn app_not_found(app: AppId) -> impl Fn(StoreError) -> ApiError {
    move |e| match e {
        StoreError::NotFound => ApiError::not_found(format!("App {app} does not exist.")),
        e => e.into(),
    }
}

/// Sets (or replaces) the app's icon: a PNG or SVG of at most 5 MB, roughly square, on a
/// transparent background. Cards show it at 30×30 from `iconUrl`.
#[utoipa::path(put, path = "/admin/v1/apps/{appId}/icon", tag = "admin", security(("admin" = [])),
    params(("appId" = i64, Path)),
    request_body(description = "The image file", content(
        (ImageFile = "image/png"), (ImageFile = "image/svg+xml"))),
    responses((status = 200, body = AppIconOut), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 415, body = ErrorBody)))]
pub async fn put_icon(
    _: Admin,
    State(state): State<AppState>,
    Path(app_id): Path<i64>,
    upload: IconUpload,
) -> Result<axum::Json<AppIconOut>, ApiError> {
    let app = AppId(app_id);
    // An unknown app is a 404 before any decoding.
    state.store.get_app(app).await.map_err(app_not_found(app))?;
    let IconUpload { format, bytes } = upload;
    // Decoding and scaling are CPU work: off the runtime's threads.
    let span = tracing::Span::current();
    let (bytes, rendition) = tokio::task::spawn_blocking(move || {
        let _entered = span.enter();
        let rendition = prepare_icon(format, &bytes);
        (bytes, rendition)
    })
    .await
    .map_err(|e| ApiError::internal(&e))?;
    let rendition_png = rendition?;
    let icon = state
        .store
        .set_app_icon(
            app,
            NewAppIcon {
                content_type: format.content_type().to_owned(),
                original: bytes.to_vec(),
                rendition_png,
            },
            Utc::now(),
        )
        .await
        .map_err(app_not_found(app))?;
    tracing::info!(app = %app, bytes = icon.original_bytes, "app icon set");
    Ok(axum::Json(AppIconOut {
        app_id,
        content_type: icon.content_type,
        original_bytes: icon.original_bytes,
        width: ICON_RENDITION_SIDE_PX,
        height: ICON_RENDITION_SIDE_PX,
        icon_url: icon_url(app),
        updated_at: icon.updated_at,
    }))
}

/// Removes the app's icon; its cards then show none.
#[utoipa::path(delete, path = "/admin/v1/apps/{appId}/icon", tag = "admin", security(("admin" = [])),
    params(("appId" = i64, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete_icon(
    _: Admin,
    State(state): State<AppState>,
    Path(app_id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    let app = AppId(app_id);
    state
        .store
        .delete_app_icon(app)
        .await
        .map_err(|e| match e {
            StoreError::NotFound => {
                ApiError::not_found(format!("App {app} has no icon (or does not exist)."))
            }
            e => e.into(),
        })?;
    tracing::info!(app = %app, "app icon removed");
    Ok(StatusCode::NO_CONTENT)
}
