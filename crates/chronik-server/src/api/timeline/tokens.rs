//! `/integrators/timeline/v3/{appId}/event-templates/{eventTemplateId}/tokens[/{tokenName}]`:
//! a template's tokens one by one (api-reference §2.2, §2.3). Each change is a domain function
//! (`add_property`, `update_property`, `remove_property`) run inside `modify_event_type`, so two
//! tokens added at once are both kept and the 500-token limit holds.
//!
//! A token's `name` and `type` never change (an update that names others is refused); its
//! label, options and `objectPropertyName` do. `{tokenName}` arrives percent-encoded (the
//! Python SDK encodes every reserved character) and is decoded by the router.

use std::sync::{Arc, OnceLock};

use axum::extract::State;
use axum::http::StatusCode;
use chronik_domain::render::Templates;
use chronik_domain::timeline::event_type::{
    add_property, remove_property, update_property, EventTypeDefinition, PropertyType,
    PropertyUpdate,
};
use chronik_domain::{AppId, DomainError, EventTypeId, ValidationError};
use chronik_store::{EventTypeChange, StoreError, StoredEventType};
use chrono::Utc;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::templates::{options_in, parse_token, token_out};
use super::wire::*;
use super::{app_of, parse_template_id, template_not_found};
use crate::auth::DeveloperKey;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{Json, Path};
use crate::state::AppState;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create))
        .routes(routes!(update, archive))
}

/// A domain change as the store's [`EventTypeChange`], keeping the templates it compiles.
fn change_with<F>(f: F) -> (EventTypeChange, Arc<OnceLock<Templates>>)
where
    F: FnOnce(&EventTypeDefinition) -> Result<(EventTypeDefinition, Templates), DomainError>
        + Send
        + 'static,
{
    let compiled: Arc<OnceLock<Templates>> = Arc::default();
    let slot = compiled.clone();
    let change: EventTypeChange = Box::new(move |current: &EventTypeDefinition| {
        let (next, templates) = f(current)?;
        let _ = slot.set(templates);
        Ok(next)
    });
    (change, compiled)
}

/// Runs `change` on the live template `id` of `app` and keeps its compiled templates.
async fn modify(
    state: &AppState,
    app: AppId,
    id: EventTypeId,
    raw_id: &str,
    (change, compiled): (EventTypeChange, Arc<OnceLock<Templates>>),
) -> Result<StoredEventType, ApiError> {
    let stored = match state
        .store
        .modify_event_type(app, id, change, Utc::now())
        .await
    {
        Ok(Ok(stored)) => stored,
        Ok(Err(refused)) => return Err(refused.into()),
        Err(StoreError::NotFound) => return Err(template_not_found(raw_id, app)),
        Err(e) => return Err(e.into()),
    };
    if let Some(templates) = compiled.get() {
        state.templates.keep(&stored, Arc::new(templates.clone()));
    }
    Ok(stored)
}

/// The token `name` of a stored template, as answered.
fn token_of(stored: &StoredEventType, name: &str) -> Result<TimelineEventTemplateToken, ApiError> {
    stored
        .definition
        .property(name)
        .map(token_out)
        .ok_or_else(|| ApiError::internal(&format!("token {name} vanished on write")))
}

/// Adds a token to a template (200, as HubSpot's spec declares).
#[utoipa::path(post, path = "/integrators/timeline/v3/{appId}/event-templates/{eventTemplateId}/tokens",
    tag = "timeline",
    params(("appId" = i64, Path), ("eventTemplateId" = String, Path)),
    request_body = TimelineEventTemplateToken, security(("hapikey" = [])),
    responses((status = 200, body = TimelineEventTemplateToken),
        (status = 400, body = ErrorBody, description = "Invalid, or the template has 500 tokens"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create(
    key: DeveloperKey,
    State(state): State<AppState>,
    Path((app_id, template)): Path<(i64, String)>,
    Json(body): Json<TimelineEventTemplateToken>,
) -> Result<axum::Json<TimelineEventTemplateToken>, ApiError> {
    let app = app_of(&key, app_id)?;
    let id = parse_template_id(&template, app)?;
    let now = Utc::now();
    let mut problems = Vec::new();
    let property = parse_token("", &body, now, &mut problems);
    if !problems.is_empty() {
        // Report the token's other problems with the type's.
        problems.extend(chronik_domain::timeline::event_type::check_property(
            "", &property,
        ));
        for p in &mut problems {
            if let Some(rest) = p.field.strip_prefix('.') {
                p.field = rest.to_owned();
            }
            if let Some(rest) = p.message.strip_prefix('.') {
                p.message = rest.to_owned();
            }
        }
        return Err(ApiError::validation(problems));
    }
    let name = property.name.clone();
    let stored = modify(
        &state,
        app,
        id,
        &template,
        change_with(move |current| add_property(current, property, now)),
    )
    .await?;
    Ok(axum::Json(token_of(&stored, &name)?))
}

/// Changes a token's label, options and `objectPropertyName`.
#[utoipa::path(put, path = "/integrators/timeline/v3/{appId}/event-templates/{eventTemplateId}/tokens/{tokenName}",
    tag = "timeline",
    params(("appId" = i64, Path), ("eventTemplateId" = String, Path), ("tokenName" = String, Path)),
    request_body = TimelineEventTemplateTokenUpdateRequest, security(("hapikey" = [])),
    responses((status = 200, body = TimelineEventTemplateToken), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn update(
    key: DeveloperKey,
    State(state): State<AppState>,
    Path((app_id, template, token)): Path<(i64, String, String)>,
    Json(body): Json<TimelineEventTemplateTokenUpdateRequest>,
) -> Result<axum::Json<TimelineEventTemplateToken>, ApiError> {
    let app = app_of(&key, app_id)?;
    let id = parse_template_id(&template, app)?;
    let now = Utc::now();
    if let Some(sent) = body.name.as_deref().filter(|n| *n != token) {
        return Err(ApiError::validation(vec![ValidationError::new(
            "name",
            "IMMUTABLE",
            format!("name \"{sent}\": a token's name cannot change (this is token \"{token}\"); remove the token and add one under the new name"),
        )]));
    }
    let sent_type = body
        .token_type
        .as_deref()
        .map(|t| PropertyType::parse("type", t))
        .transpose()
        .map_err(|e| ApiError::validation(vec![e]))?;
    let update = PropertyUpdate {
        label: body.label,
        options: options_in(&body.options),
        object_property_name: body.object_property_name.filter(|n| !n.trim().is_empty()),
    };
    let name = token.clone();
    let stored = modify(
        &state,
        app,
        id,
        &template,
        change_with(move |current| {
            if let (Some(sent), Some(p)) = (sent_type, current.property(&name)) {
                if sent != p.property_type {
                    return Err(ValidationError::new(
                        "type",
                        "IMMUTABLE",
                        format!(
                            "type {}: the type of token \"{name}\" cannot change (it is {}); remove the token and add one under another name",
                            sent.as_str(),
                            p.property_type.as_str()
                        ),
                    )
                    .into());
                }
            }
            update_property(current, &name, update, now)
        }),
    )
    .await?;
    Ok(axum::Json(token_of(&stored, &token)?))
}

/// Removes a token. Events already stored keep its value; renders no longer see it.
#[utoipa::path(delete, path = "/integrators/timeline/v3/{appId}/event-templates/{eventTemplateId}/tokens/{tokenName}",
    tag = "timeline",
    params(("appId" = i64, Path), ("eventTemplateId" = String, Path), ("tokenName" = String, Path)),
    security(("hapikey" = [])),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn archive(
    key: DeveloperKey,
    State(state): State<AppState>,
    Path((app_id, template, token)): Path<(i64, String, String)>,
) -> Result<StatusCode, ApiError> {
    let app = app_of(&key, app_id)?;
    let id = parse_template_id(&template, app)?;
    modify(
        &state,
        app,
        id,
        &template,
        change_with(move |current| remove_property(current, &token)),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
