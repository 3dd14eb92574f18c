//! `/integrators/timeline/v3/events/{eventTemplateId}/{eventId}/render` and `…/detail`: an
//! event rendered with its template (api-reference §2.2, "Render semantics"; issue 16 item 4).
//!
//! Both render with the template's current version (an edit applies to events already stored),
//! compiled once per version ([`crate::event_types`]), through `chronik_domain::render`, in the
//! account's time zone (`AppState::account_time_zone`: set by the operator, default UTC). Values of tokens the template no longer has are
//! not shown. `/render` answers the HTML itself as `text/html; charset=utf-8` (the Node SDK
//! parses a body by its `Content-Type`; neither SDK content-negotiates), the header by default
//! and the detail with `detail=true` (`True`, as Python sends it, too); `/detail` answers
//! HubSpot's `EventDetail`, `{"details": "<html>"}`.

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use chronik_domain::render::RenderInput;
use chronik_domain::timeline::event::visible_values;
use chronik_store::{StoredEventType, StoredTimelineEvent};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::events::{load_event, Installed};
use super::wire::EventDetail;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{Path, QueryPairs};
use crate::state::AppState;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_render_by_id))
        .routes(routes!(get_detail_by_id))
}

/// Which of the two templates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    Header,
    Detail,
}

async fn render(
    state: &AppState,
    who: &Installed,
    t: &StoredEventType,
    e: &StoredTimelineEvent,
    part: Part,
) -> Result<String, ApiError> {
    let templates = state.templates.of(t)?;
    let tokens = visible_values(&t.definition, &e.body.tokens);
    let input = RenderInput {
        tokens: &tokens,
        timestamp_ms: e.cursor.occurred_at_ms,
        extra_data: e.body.extra_data.as_ref(),
        time_zone: state.account_time_zone(who.caller.account).await?,
    };
    Ok(match part {
        Part::Header => templates.render_header(&input),
        Part::Detail => templates.render_detail(&input),
    })
}

/// The event's header (or, with `detail=true`, its detail) rendered as HTML.
#[utoipa::path(get, path = "/integrators/timeline/v3/events/{eventTemplateId}/{eventId}/render",
    tag = "timeline",
    params(("eventTemplateId" = String, Path), ("eventId" = String, Path),
        ("detail" = Option<bool>, Query, description = "true (or True): the detail template; default: the header")),
    security(("bearer" = ["timeline"])),
    responses((status = 200, content_type = "text/html", body = String),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_render_by_id(
    State(state): State<AppState>,
    who: Installed,
    Path((template, id)): Path<(String, String)>,
    query: QueryPairs,
) -> Result<impl IntoResponse, ApiError> {
    let part = if query.bool("detail", false)? {
        Part::Detail
    } else {
        Part::Header
    };
    let (t, e) = load_event(&state, &who, &template, &id).await?;
    let html = render(&state, &who, &t, &e, part).await?;
    Ok(([(CONTENT_TYPE, "text/html; charset=utf-8")], html))
}

/// The event's detail rendered as HTML, as `{"details": "<html>"}`.
#[utoipa::path(get, path = "/integrators/timeline/v3/events/{eventTemplateId}/{eventId}/detail",
    tag = "timeline",
    params(("eventTemplateId" = String, Path), ("eventId" = String, Path)),
    security(("bearer" = ["timeline"])),
    responses((status = 200, body = EventDetail), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_detail_by_id(
    State(state): State<AppState>,
    who: Installed,
    Path((template, id)): Path<(String, String)>,
) -> Result<axum::Json<EventDetail>, ApiError> {
    let (t, e) = load_event(&state, &who, &template, &id).await?;
    let details = render(&state, &who, &t, &e, Part::Detail).await?;
    Ok(axum::Json(EventDetail { details }))
}
