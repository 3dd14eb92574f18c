//! `/integrators/timeline/v3/{appId}/event-templates[/{eventTemplateId}]`: an app's event
//! templates (api-reference §2.2, §2.3; seed: timeline events v3, "Eine Event-Vorlage
//! erstellen").
//!
//! The wire shapes become an `EventTypeDefinition` here; its rules (name, object type,
//! templates that compile, at most 500 tokens with unique, well-formed names) are
//! `chronik_domain::timeline::event_type`, checked before the one store call. A replacement
//! (`PUT`) runs the domain's `replace` inside `modify_event_type`, so the object type stays and
//! concurrent changes are never lost. The templates compiled by the check are kept for the
//! stored version ([`crate::event_types`]), so the first render needs no compile.
//!
//! Choices where HubSpot is silent:
//! - the 751st template of an app is refused with 429 `RATE_LIMITS` naming the limit, the
//!   mapping every store quota gets (`crate::error`);
//! - a deleted template answers 404 here; its events stay readable by id (`events.rs`).

use std::sync::{Arc, OnceLock};

use axum::extract::State;
use axum::http::StatusCode;
use chronik_domain::render::Templates;
use chronik_domain::timeline::event_type::{
    replace, EventObjectType, EventProperty, EventTypeDefinition, Origin, PropertyOption,
    PropertyType, MAX_EVENT_TYPES_PER_APP,
};
use chronik_domain::{AppId, DomainError, ValidationError};
use chronik_store::{StoreError, StoredEventType};
use chrono::{DateTime, Utc};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::wire::*;
use super::{app_of, live_template, parse_template_id, template_not_found};
use crate::auth::DeveloperKey;
use crate::error::{ApiError, Category, ErrorBody};
use crate::extract::{Json, Path};
use crate::state::AppState;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_all, create))
        .routes(routes!(get_by_id, update, archive))
}

// ---- shaping ----

/// A token as HubSpot answers it.
pub(super) fn token_out(p: &EventProperty) -> TimelineEventTemplateToken {
    TimelineEventTemplateToken {
        name: p.name.clone(),
        label: p.label.clone(),
        token_type: p.property_type.as_str().to_owned(),
        options: p
            .options
            .iter()
            .map(|o| TimelineEventTemplateTokenOption {
                label: o.label.clone(),
                value: o.value.clone(),
            })
            .collect(),
        object_property_name: p.object_property_name.clone(),
        created_at: Some(p.created_at),
        updated_at: Some(p.updated_at),
    }
}

/// A stored template as HubSpot answers it.
pub(super) fn template_out(stored: &StoredEventType) -> TimelineEventTemplate {
    let d = &stored.definition;
    TimelineEventTemplate {
        id: stored.id.to_string(),
        name: d.name.clone(),
        object_type: d.object_type.as_sent.clone(),
        header_template: d.header_template.clone(),
        detail_template: d.detail_template.clone(),
        tokens: d.properties.iter().map(token_out).collect(),
        created_at: stored.created_at,
        updated_at: stored.updated_at,
    }
}

// ---- inputs ----

/// A token as sent, as a property. `path` prefixes the fields (`tokens[2].`, or `` for a
/// lone token). A type that does not parse is reported, and the property gets the type its
/// options suggest, so that the definition's other rules still report their problems.
pub(super) fn parse_token(
    path: &str,
    t: &TimelineEventTemplateToken,
    now: DateTime<Utc>,
    problems: &mut Vec<ValidationError>,
) -> EventProperty {
    let property_type =
        PropertyType::parse(&format!("{path}type"), &t.token_type).unwrap_or_else(|e| {
            problems.push(e);
            if t.options.is_empty() {
                PropertyType::String
            } else {
                PropertyType::Enumeration
            }
        });
    EventProperty {
        name: t.name.clone(),
        label: t.label.clone(),
        property_type,
        options: options_in(&t.options),
        object_property_name: t
            .object_property_name
            .clone()
            .filter(|n| !n.trim().is_empty()),
        created_at: now,
        updated_at: now,
    }
}

pub(super) fn options_in(options: &[TimelineEventTemplateTokenOption]) -> Vec<PropertyOption> {
    options
        .iter()
        .map(|o| PropertyOption {
            label: o.label.clone(),
            value: o.value.clone(),
        })
        .collect()
}

fn parse_tokens(
    tokens: &[TimelineEventTemplateToken],
    now: DateTime<Utc>,
    problems: &mut Vec<ValidationError>,
) -> Vec<EventProperty> {
    tokens
        .iter()
        .enumerate()
        .map(|(i, t)| parse_token(&format!("tokens[{i}]."), t, now, problems))
        .collect()
}

/// Checks `definition` with the problems the wire conversion found, reporting all of them;
/// the compiled templates when there are none.
fn checked(
    definition: &EventTypeDefinition,
    mut problems: Vec<ValidationError>,
) -> Result<Templates, ApiError> {
    match definition.check() {
        Ok(templates) if problems.is_empty() => Ok(templates),
        Ok(_) => Err(ApiError::validation(problems)),
        Err(DomainError::Invalid(more)) => {
            problems.extend(more);
            Err(ApiError::validation(problems))
        }
        Err(e) => Err(e.into()),
    }
}

/// 429 for an app that already has as many templates as it may (seed: 750).
fn quota_exceeded(app: AppId, limit: u64) -> ApiError {
    ApiError::new(
        Category::RateLimits,
        format!(
            "You have reached your event templates per app limit of {limit}: app {app} has {limit} event templates. Delete one before creating another."
        ),
    )
}

// ---- handlers ----

/// Lists the app's event templates.
#[utoipa::path(get, path = "/integrators/timeline/v3/{appId}/event-templates", tag = "timeline",
    params(("appId" = i64, Path, description = "The app whose templates these are")),
    security(("hapikey" = [])),
    responses((status = 200, body = CollectionResponseTimelineEventTemplateNoPaging),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn get_all(
    key: DeveloperKey,
    State(state): State<AppState>,
    Path(app_id): Path<i64>,
) -> Result<axum::Json<CollectionResponseTimelineEventTemplateNoPaging>, ApiError> {
    let app = app_of(&key, app_id)?;
    let mut all = state.store.list_event_types(app).await?;
    all.sort_by_key(|t| t.id);
    Ok(axum::Json(
        CollectionResponseTimelineEventTemplateNoPaging {
            results: all.iter().map(template_out).collect(),
        },
    ))
}

/// Creates an event template, with its tokens (which may also be added one by one later).
#[utoipa::path(post, path = "/integrators/timeline/v3/{appId}/event-templates", tag = "timeline",
    params(("appId" = i64, Path, description = "The app the template belongs to")),
    request_body = TimelineEventTemplateCreateRequest, security(("hapikey" = [])),
    responses((status = 201, body = TimelineEventTemplate), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 429, body = ErrorBody, description = "The app has 750 templates")))]
pub async fn create(
    key: DeveloperKey,
    State(state): State<AppState>,
    Path(app_id): Path<i64>,
    Json(body): Json<TimelineEventTemplateCreateRequest>,
) -> Result<(StatusCode, axum::Json<TimelineEventTemplate>), ApiError> {
    let app = app_of(&key, app_id)?;
    let now = Utc::now();
    let mut problems = Vec::new();
    let object_type =
        EventObjectType::parse_v3("objectType", &body.object_type).unwrap_or_else(|e| {
            problems.push(e);
            EventObjectType::parse_v3("objectType", "contacts").expect("contacts is an object type")
        });
    let properties = parse_tokens(&body.tokens, now, &mut problems);
    let definition = EventTypeDefinition {
        name: body.name,
        object_type,
        header_template: body.header_template,
        detail_template: body.detail_template,
        properties,
        origin: Origin::Http,
    };
    let templates = checked(&definition, problems)?;
    let stored = state
        .store
        .create_event_type(app, &definition, MAX_EVENT_TYPES_PER_APP, now)
        .await
        .map_err(|e| match e {
            StoreError::QuotaExceeded { limit, .. } => quota_exceeded(app, limit),
            e => e.into(),
        })?;
    state.templates.keep(&stored, Arc::new(templates));
    tracing::debug!(app = %app, template = %stored.id, "event template created");
    Ok((StatusCode::CREATED, axum::Json(template_out(&stored))))
}

/// One event template.
#[utoipa::path(get, path = "/integrators/timeline/v3/{appId}/event-templates/{eventTemplateId}",
    tag = "timeline",
    params(("appId" = i64, Path), ("eventTemplateId" = String, Path)),
    security(("hapikey" = [])),
    responses((status = 200, body = TimelineEventTemplate), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_by_id(
    key: DeveloperKey,
    State(state): State<AppState>,
    Path((app_id, template)): Path<(i64, String)>,
) -> Result<axum::Json<TimelineEventTemplate>, ApiError> {
    let app = app_of(&key, app_id)?;
    let stored = live_template(&state, app, &template).await?;
    Ok(axum::Json(template_out(&stored)))
}

/// Replaces an event template as a whole: name, templates and tokens (a token kept by name
/// keeps its `createdAt` and must keep its type); `objectType` cannot change.
#[utoipa::path(put, path = "/integrators/timeline/v3/{appId}/event-templates/{eventTemplateId}",
    tag = "timeline",
    params(("appId" = i64, Path), ("eventTemplateId" = String, Path)),
    request_body = TimelineEventTemplateUpdateRequest, security(("hapikey" = [])),
    responses((status = 200, body = TimelineEventTemplate), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn update(
    key: DeveloperKey,
    State(state): State<AppState>,
    Path((app_id, template)): Path<(i64, String)>,
    Json(body): Json<TimelineEventTemplateUpdateRequest>,
) -> Result<axum::Json<TimelineEventTemplate>, ApiError> {
    let app = app_of(&key, app_id)?;
    let id = parse_template_id(&template, app)?;
    let now = Utc::now();
    let mut problems = Vec::new();
    if let Some(sent) = body.id.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        if sent != id.to_string() {
            problems.push(ValidationError::new(
                "id",
                "MISMATCH",
                format!("id \"{sent}\" is not the template of the path ({id}); send the path's id or leave id out"),
            ));
        }
    }
    let sent_type = body
        .object_type
        .as_deref()
        .map(|raw| EventObjectType::parse_v3("objectType", raw))
        .transpose()
        .unwrap_or_else(|e| {
            problems.push(e);
            None
        });
    let properties = parse_tokens(&body.tokens, now, &mut problems);
    let replacement = EventTypeDefinition {
        name: body.name,
        // Replaced by the stored one below unless the caller sent one (which must match).
        object_type: sent_type.clone().unwrap_or_else(|| {
            EventObjectType::parse_v3("objectType", "contacts").expect("contacts is an object type")
        }),
        header_template: body.header_template,
        detail_template: body.detail_template,
        properties,
        origin: Origin::Http,
    };
    if !problems.is_empty() {
        // Report the replacement's other problems with these (its object type is a stand-in
        // here, and no rule of `check` reads it).
        checked(&replacement, problems)?;
    }
    let compiled: Arc<OnceLock<Templates>> = Arc::default();
    let slot = compiled.clone();
    let change = Box::new(move |current: &EventTypeDefinition| {
        let mut replacement = replacement;
        if sent_type.is_none() {
            replacement.object_type = current.object_type.clone();
        }
        let (next, templates) = replace(current, replacement, now)?;
        let _ = slot.set(templates);
        Ok(next)
    });
    let stored = match state.store.modify_event_type(app, id, change, now).await {
        Ok(Ok(stored)) => stored,
        Ok(Err(refused)) => return Err(refused.into()),
        Err(StoreError::NotFound) => return Err(template_not_found(&template, app)),
        Err(e) => return Err(e.into()),
    };
    if let Some(templates) = compiled.get() {
        state.templates.keep(&stored, Arc::new(templates.clone()));
    }
    Ok(axum::Json(template_out(&stored)))
}

/// Deletes an event template: no new events are accepted, its events leave record timelines,
/// and they stay readable by id (SPEC.md).
#[utoipa::path(delete, path = "/integrators/timeline/v3/{appId}/event-templates/{eventTemplateId}",
    tag = "timeline",
    params(("appId" = i64, Path), ("eventTemplateId" = String, Path)),
    security(("hapikey" = [])),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn archive(
    key: DeveloperKey,
    State(state): State<AppState>,
    Path((app_id, template)): Path<(i64, String)>,
) -> Result<StatusCode, ApiError> {
    let app = app_of(&key, app_id)?;
    let id = parse_template_id(&template, app)?;
    match state.store.delete_event_type(app, id, Utc::now()).await {
        Ok(()) => Ok(StatusCode::NO_CONTENT),
        Err(StoreError::NotFound) => Err(template_not_found(&template, app)),
        Err(e) => Err(e.into()),
    }
}
