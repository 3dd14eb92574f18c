//! `/integrators/timeline/v3/…` (also served as `/crm/v3/timeline/…`, rewritten in
//! `crate::PATH_ALIASES`): HubSpot's CRM timeline events v3 (api-reference §2; seed: timeline
//! events v3; SPEC.md "v3 templates and v4 event types").
//!
//! - `wire.rs`: HubSpot's request and response shapes, under HubSpot's names;
//! - `templates.rs`: `/{appId}/event-templates`: create, list, get, replace, delete;
//! - `tokens.rs`: `/{appId}/event-templates/{eventTemplateId}/tokens[/{tokenName}]`;
//! - `events.rs`: `/events`, `/events/batch/create`, `/events/{eventTemplateId}/{eventId}`;
//! - `render.rs`: `/events/{eventTemplateId}/{eventId}/render` and `…/detail`.
//!
//! Templates and tokens belong to an app and are managed with its developer API key
//! (`hapikey`, [`crate::auth::DeveloperKey`]); the key must be the one of the `{appId}` in the
//! path. Events belong to an account and are created and read with the OAuth access token of
//! the app's install there, with the `timeline` scope ([`events::Installed`]). The rules are
//! `chronik_domain::timeline` (one model with v4 app events); every write is one
//! `TimelineStore` call.

mod events;
mod render;
mod templates;
mod tokens;
mod wire;

use chronik_domain::{AppId, EventTypeId};
use chronik_store::{StoreError, StoredEventType};
use utoipa_axum::router::OpenApiRouter;

use crate::auth::DeveloperKey;
use crate::error::{ApiError, Category};
use crate::state::AppState;

/// The canonical prefix; `/crm/v3/timeline` is rewritten to it before routing.
pub const PREFIX: &str = "/integrators/timeline/v3";

/// The largest body `POST …/events` reads, in bytes: one event may serialize to
/// `chronik_domain::timeline::event::MAX_EVENT_BYTES` (1 MB, seed), and this leaves room for
/// the whitespace of a pretty-printed body so that an event over 1 MB is refused by the rule
/// (naming the limit) rather than by the body limit. Past it: 413.
pub const MAX_EVENT_BODY_BYTES: usize = 2 * 1024 * 1024;

/// The largest body `POST …/events/batch/create` reads, in bytes. A batch holds at most
/// `MAX_BATCH_INPUTS` (500) events; 500 events of 1 MB would be 500 MB, which no request
/// should make a server hold, so a batch is bounded by this instead (the server-wide default,
/// `crate::config::DEFAULT_MAX_BODY_BYTES`): several 1 MB events, or 500 of up to 20 KB, fit.
/// The configured server-wide limit applies first when it is smaller. Past it: 413.
pub const MAX_BATCH_BODY_BYTES: usize = 10 * 1024 * 1024;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(templates::router())
        .merge(tokens::router())
        .merge(events::router())
        .merge(render::router())
}

/// The app of a template route: the key's app, which must be the `{appId}` of the path.
/// HubSpot refuses a developer key used for another app's templates; Chronik answers 403 and
/// says whose key it is (an unknown key is already a 401 from the extractor).
fn app_of(key: &DeveloperKey, app_id: i64) -> Result<AppId, ApiError> {
    if key.app.id.0 == app_id {
        Ok(key.app.id)
    } else {
        Err(ApiError::new(
            Category::Forbidden,
            format!(
                "The developer API key (hapikey) is the key of app {}, not of app {app_id}; use app {app_id}'s developer API key to manage its event templates.",
                key.app.id
            ),
        ))
    }
}

/// 404 naming a template that `app` does not have.
fn template_not_found(template: &str, app: AppId) -> ApiError {
    ApiError::not_found(format!(
        "Event template {template} does not exist in app {app}."
    ))
}

/// A template id from a path or a body: the numeric id as text. Anything else names no
/// template (404).
fn parse_template_id(raw: &str, app: AppId) -> Result<EventTypeId, ApiError> {
    raw.trim()
        .parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .map(EventTypeId)
        .ok_or_else(|| template_not_found(raw, app))
}

/// The live template `raw` of `app`; 404 naming it when the app has none of that id (another
/// app's templates included) or it was deleted.
async fn live_template(
    state: &AppState,
    app: AppId,
    raw: &str,
) -> Result<StoredEventType, ApiError> {
    let id = parse_template_id(raw, app)?;
    match state.store.get_event_type(id).await {
        Ok(t) if t.app == app && t.deleted_at.is_none() => Ok(t),
        Ok(_) | Err(StoreError::NotFound) => Err(template_not_found(raw, app)),
        Err(e) => Err(e.into()),
    }
}
