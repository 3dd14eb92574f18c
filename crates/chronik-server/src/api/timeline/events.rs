//! `/integrators/timeline/v3/events`, `/events/batch/create` and
//! `/events/{eventTemplateId}/{eventId}`: timeline events of an installed app (api-reference
//! §2.4; seed: timeline events v3, "Ein Event erstellen"; SPEC.md).
//!
//! Only an install's OAuth access token with the `timeline` scope may create or read them
//! ([`Installed`]): a developer API key or a private app's token is refused with 403 saying
//! which credential is needed. The template must be one of the token's app.
//!
//! A request travels: the body, read up to [`super::MAX_EVENT_BODY_BYTES`] or
//! [`super::MAX_BATCH_BODY_BYTES`]; each input on its own (a malformed input fails alone); the
//! templates named, loaded once each; `check_event` against each input's template (its size is
//! the input's compact JSON); one `store_timeline_events` call for every input that passed,
//! which resolves each event's record, applies its stamps, and answers one `EventWrite` per
//! event. When a template changed between the load and the write, the store refuses the whole
//! call and the inputs are checked again against the new version (at most
//! [`MAX_TYPE_CHANGE_RETRIES`] times).
//!
//! Answers: a single create is 201 with the event, or the error of its input (a repeated id is
//! 409 naming it). A batch is 201 when every input was stored, else 207 with the stored ones in
//! `results` and one `StandardError` per refused input in `errors` (`context.inputIndex`,
//! `context.id` when the input had an id, the index also in the message), `numErrors` their
//! count. A batch whose every input fails is a 207 too, with empty `results` (HubSpot does not
//! document this case; one shape for every mix keeps clients simple). A request-level problem
//! (credentials, the body, no inputs, more than `MAX_BATCH_INPUTS`) is an error answer for the
//! whole request.

use std::collections::{BTreeMap, HashMap};

use axum::extract::{FromRequest, FromRequestParts, Request, State};
use axum::http::header::CONTENT_LENGTH;
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chronik_domain::timeline::event::{check_event, EventInput, IframeInput, MAX_BATCH_INPUTS};
use chronik_domain::timeline::TIMELINE_SCOPE;
use chronik_domain::{AppId, ValidationError};
use chronik_store::{
    EventWrite, NewTimelineEvent, StoreError, StoredEventType, StoredTimelineEvent, TimelineRefusal,
};
use chrono::{DateTime, Utc};
use futures::StreamExt;
use serde_json::Value;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::wire::*;
use super::{template_not_found, MAX_BATCH_BODY_BYTES, MAX_EVENT_BODY_BYTES};
use crate::api::crm::wire::StandardError;
use crate::auth::{bearer_token, Caller, DeveloperKey};
use crate::error::{ApiError, Category, ErrorBody, ErrorDetail};
use crate::extract::{parse_json, payload_too_large, Path};
use crate::state::AppState;

/// How often a write is checked again after a template changed under it. Each retry means
/// another change of one of the batch's templates committed between its load and the write
/// (a few milliseconds); templates change rarely, so past this many the caller is asked to send
/// again (409) rather than holding the request.
pub const MAX_TYPE_CHANGE_RETRIES: usize = 8;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create))
        .routes(routes!(create_batch))
        .routes(routes!(get_by_id))
}

// ---- credentials ----

/// An installed app acting in one account: an install's OAuth access token with the
/// `timeline` scope (SPEC.md, "Tenancy and authentication").
#[derive(Debug, Clone)]
pub struct Installed {
    /// The token's grant.
    pub caller: Caller,
    /// The installed app.
    pub app: AppId,
}

/// 403 for a credential of the wrong kind.
fn needs_install_token(what: &str) -> ApiError {
    ApiError::new(
        Category::Forbidden,
        format!(
            "Timeline events are created and read with the OAuth access token of the app's install in the account (Authorization: Bearer, with the timeline scope); {what} cannot be used for them."
        ),
    )
}

impl FromRequestParts<AppState> for Installed {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let has_hapikey = parts.uri.query().is_some_and(|q| {
            q.split('&')
                .any(|kv| kv.split('=').next() == Some("hapikey"))
        });
        if bearer_token(parts).is_none() && has_hapikey {
            // A known developer key is the wrong kind of credential; an unknown one is a 401.
            DeveloperKey::from_request_parts(parts, state).await?;
            return Err(needs_install_token("a developer API key (hapikey)"));
        }
        let caller = Caller::from_request_parts(parts, state).await?;
        let Some(app) = caller.app() else {
            return Err(needs_install_token("a private app's access token"));
        };
        caller.require_any(&[TIMELINE_SCOPE])?;
        Ok(Installed { caller, app })
    }
}

// ---- the body ----

/// A body read whole up to a route's own limit (or the server's, when smaller), 413 past it:
/// the bytes are counted while they arrive, so a chunked body is cut off at the limit too.
pub struct LimitedBody<const LIMIT: usize>(pub axum::body::Bytes);

impl<const LIMIT: usize> FromRequest<AppState> for LimitedBody<LIMIT> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let limit = LIMIT.min(state.config.max_body_bytes);
        let declared = req
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|len| len > limit as u64) {
            return Err(payload_too_large(limit));
        }
        let mut stream = req.into_body().into_data_stream();
        let mut body = Vec::with_capacity(declared.map_or(0, |l| l as usize));
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| {
                ApiError::new(
                    Category::ValidationError,
                    format!("Could not read the request body: {e}"),
                )
            })?;
            if body.len() + chunk.len() > limit {
                return Err(payload_too_large(limit));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(LimitedBody(body.into()))
    }
}

/// Counts the bytes a value serializes to.
struct ByteCount(usize);

impl std::io::Write for ByteCount {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The size of `value` as compact JSON: what the 1 MB event limit counts, whatever
/// whitespace the body had.
fn serialized_bytes(value: &Value) -> usize {
    let mut count = ByteCount(0);
    // Writing a `Value` to a writer that never fails cannot fail.
    let _ = serde_json::to_writer(&mut count, value);
    count.0
}

/// One input of a request, read on its own.
struct Input {
    /// The prefix of its fields in messages (`inputs[3].`, or `` for a single create).
    path: String,
    /// The id it was sent with, for the answer naming it.
    sent_id: Option<String>,
    /// What it became: the event, with its size, or why it could not be read.
    parsed: Result<(TimelineEvent, usize), ApiError>,
}

fn read_input(path: String, value: Value) -> Input {
    let sent_id = value.get("id").and_then(Value::as_str).map(str::to_owned);
    let size = serialized_bytes(&value);
    let parsed = if value.is_object() {
        serde_path_to_error::deserialize::<_, TimelineEvent>(value)
            .map(|e| (e, size))
            .map_err(|e| {
                let inner = e.path().to_string();
                let field = format!("{path}{inner}");
                let message = format!("{field}: {}", e.inner());
                ApiError {
                    category: Category::ValidationError,
                    message: message.clone(),
                    errors: vec![ErrorDetail {
                        message,
                        in_: Some(field),
                        code: Some("INVALID_TYPE".to_owned()),
                        context: None,
                    }],
                    context: None,
                }
            })
    } else if path.is_empty() {
        Err(ApiError::new(
            Category::ValidationError,
            "The body must be a JSON object (a TimelineEvent).",
        ))
    } else {
        let field = path.trim_end_matches('.').to_owned();
        Err(ApiError::validation(vec![ValidationError::new(
            field.clone(),
            "INVALID_TYPE",
            format!("{field} must be a JSON object (a TimelineEvent)"),
        )]))
    };
    Input {
        path,
        sent_id,
        parsed,
    }
}

// ---- templates ----

/// 404 for a template that takes no new events.
fn template_deleted(raw: &str) -> ApiError {
    ApiError::not_found(format!(
        "Event template {raw} was deleted; it accepts no new events."
    ))
}

/// A template as an event route may use it: one of `app`'s (deleted ones included: their
/// events stay readable), 404 naming it otherwise.
pub(super) async fn template_of_app(
    state: &AppState,
    app: AppId,
    raw: &str,
) -> Result<StoredEventType, ApiError> {
    let id = super::parse_template_id(raw, app)?;
    match state.store.get_event_type(id).await {
        Ok(t) if t.app == app => Ok(t),
        Ok(_) | Err(StoreError::NotFound) => Err(template_not_found(raw, app)),
        Err(e) => Err(e.into()),
    }
}

/// The templates the inputs name, each loaded once: a live template of `app`, or the error
/// every input naming it gets.
async fn load_templates(
    state: &AppState,
    app: AppId,
    names: impl Iterator<Item = String>,
) -> Result<HashMap<String, Result<StoredEventType, ApiError>>, ApiError> {
    let mut out = HashMap::new();
    for raw in names {
        if out.contains_key(&raw) {
            continue;
        }
        let loaded = match template_of_app(state, app, &raw).await {
            Ok(t) if t.deleted_at.is_some() => Err(template_deleted(&raw)),
            Ok(t) => Ok(t),
            Err(e) if e.category == Category::ObjectNotFound => Err(e),
            Err(e) => return Err(e),
        };
        out.insert(raw, loaded);
    }
    Ok(out)
}

fn template_name(e: &TimelineEvent) -> Option<String> {
    e.event_template_id
        .as_ref()
        .map(|t| t.text().trim().to_owned())
        .filter(|t| !t.is_empty())
}

// ---- shaping ----

/// A stored event as HubSpot answers it.
pub(super) fn event_out(t: &StoredEventType, e: &StoredTimelineEvent) -> TimelineEventResponse {
    TimelineEventResponse {
        id: e.id.clone(),
        event_template_id: t.id.to_string(),
        object_type: t.definition.object_type.as_sent.clone(),
        object_id: e.object_id.map(|o| o.0.to_string()),
        email: e.body.email.clone(),
        utk: e.body.utk.clone(),
        domain: e.body.domain.clone(),
        timestamp: e.occurred_at(),
        tokens: e.body.tokens.clone(),
        extra_data: e.body.extra_data.clone(),
        timeline_iframe: e
            .body
            .timeline_iframe
            .as_ref()
            .map(|f| TimelineEventIFrame {
                link_label: f.link_label.clone(),
                header_label: f.header_label.clone(),
                url: f.url.clone(),
                width: f.width,
                height: f.height,
            }),
        created_at: e.created_at,
    }
}

/// A copy of an error that several inputs share (`ApiError` is not `Clone`).
fn copy(e: &ApiError) -> ApiError {
    ApiError {
        category: e.category,
        message: e.message.clone(),
        errors: e.errors.clone(),
        context: e.context.clone(),
    }
}

/// What became of one input.
struct Failure {
    error: ApiError,
    /// The event's id, when it has one (sent, or given by the check).
    id: Option<String>,
}

type Outcome = Result<TimelineEventResponse, Failure>;

fn with_id(mut error: ApiError, id: &str) -> ApiError {
    error
        .context
        .get_or_insert_with(BTreeMap::new)
        .insert("id".to_owned(), vec![id.to_owned()]);
    error
}

/// The error of an event the store did not write.
fn write_error(
    write: &EventWrite,
    t: &StoredEventType,
    id: &str,
    described: &str,
) -> Option<ApiError> {
    let template = t.id;
    let e = match write {
        EventWrite::Stored(_) => return None,
        EventWrite::DuplicateId => ApiError::new(
            Category::Conflict,
            format!(
                "An event with id \"{id}\" already exists for event template {template}; event ids are unique per template, and the first event is kept."
            ),
        ),
        EventWrite::RecordNotFound => ApiError::not_found(format!(
            "The event's record does not exist: {described}."
        )),
        EventWrite::TypeDeleted => template_deleted(&template.to_string()),
        EventWrite::UnknownProperty(property) => {
            let token = t
                .definition
                .properties
                .iter()
                .find(|p| p.object_property_name.as_deref() == Some(property.as_str()))
                .map(|p| format!("token \"{}\"", p.name))
                .unwrap_or_else(|| "a token".to_owned());
            ApiError::validation(vec![ValidationError::new(
                "tokens",
                "UNKNOWN_PROPERTY",
                format!(
                    "{token} of event template {template} sets the CRM property \"{property}\", which {} records do not have in this account; create the property or change the token's objectPropertyName",
                    t.definition.object_type.as_sent
                ),
            )])
        }
        EventWrite::EmailTaken(email) => ApiError::new(
            Category::Conflict,
            format!(
                "The event would change its contact's email to {email}, which another contact has; nothing was stored for it."
            ),
        ),
    };
    Some(with_id(e, id))
}

// ---- creating ----

/// Checks and stores `inputs` for `who`, answering one outcome per input, in order.
async fn create_all(
    state: &AppState,
    who: &Installed,
    inputs: Vec<Input>,
) -> Result<Vec<Outcome>, ApiError> {
    let now = Utc::now();
    let names: Vec<String> = inputs
        .iter()
        .filter_map(|i| i.parsed.as_ref().ok().and_then(|(e, _)| template_name(e)))
        .collect();
    let mut templates = load_templates(state, who.app, names.iter().cloned()).await?;
    for _attempt in 0..=MAX_TYPE_CHANGE_RETRIES {
        let mut outcomes: Vec<Option<Outcome>> = Vec::with_capacity(inputs.len());
        // Per event to store: the input's position, its template, and how its record is named.
        let mut pending: Vec<(usize, &StoredEventType, String)> = Vec::new();
        let mut events: Vec<NewTimelineEvent> = Vec::new();
        for input in &inputs {
            let (event, size) = match &input.parsed {
                Ok(parsed) => parsed,
                Err(e) => {
                    outcomes.push(Some(Err(Failure {
                        error: copy(e),
                        id: input.sent_id.clone(),
                    })));
                    continue;
                }
            };
            let Some(name) = template_name(event) else {
                outcomes.push(Some(Err(Failure {
                    error: ApiError::validation(vec![ValidationError::required(&format!(
                        "{}eventTemplateId",
                        input.path
                    ))]),
                    id: input.sent_id.clone(),
                })));
                continue;
            };
            let t = match templates.get(&name) {
                Some(Ok(t)) => t,
                Some(Err(e)) => {
                    outcomes.push(Some(Err(Failure {
                        error: copy(e),
                        id: input.sent_id.clone(),
                    })));
                    continue;
                }
                None => {
                    return Err(ApiError::internal(&format!(
                        "template {name} was not loaded"
                    )))
                }
            };
            let iframe = event.timeline_iframe.as_ref().map(|m| IframeInput {
                link_label: m.get("linkLabel"),
                header_label: m.get("headerLabel"),
                url: m.get("url"),
                width: m.get("width"),
                height: m.get("height"),
            });
            let object_id = event.object_id.as_ref().map(StringOrNumber::text);
            let timestamp = event.timestamp.as_ref().map(StringOrNumber::text);
            let event_input = EventInput {
                id: event.id.as_deref(),
                object_id,
                email: event.email.as_deref(),
                utk: event.utk.as_deref(),
                domain: event.domain.as_deref(),
                timestamp,
                values: event.tokens.as_ref(),
                extra_data: event.extra_data.as_ref(),
                iframe,
                serialized_bytes: *size,
            };
            match check_event(&t.definition, &event_input, &input.path, "tokens", now) {
                Ok(checked) => {
                    pending.push((outcomes.len(), t, checked.record.described.clone()));
                    outcomes.push(None);
                    events.push(NewTimelineEvent {
                        type_id: t.id,
                        type_version: t.version,
                        object_type_id: t.definition.object_type.type_id,
                        event: checked,
                    });
                }
                Err(problems) => outcomes.push(Some(Err(Failure {
                    error: ApiError::validation(problems),
                    id: input.sent_id.clone(),
                }))),
            }
        }
        if events.is_empty() {
            return Ok(outcomes.into_iter().flatten().collect());
        }
        let ids: Vec<String> = events.iter().map(|e| e.event.id.clone()).collect();
        match state
            .store
            .store_timeline_events(who.caller.account, events, now)
            .await?
        {
            Ok(writes) => {
                if writes.len() != pending.len() {
                    return Err(ApiError::internal(&format!(
                        "the store answered {} writes for {} events",
                        writes.len(),
                        pending.len()
                    )));
                }
                for (((at, t, described), write), id) in pending.into_iter().zip(writes).zip(ids) {
                    outcomes[at] = Some(match write {
                        EventWrite::Stored(stored) => Ok(event_out(t, &stored)),
                        other => Err(Failure {
                            error: write_error(&other, t, &id, &described).unwrap_or_else(|| {
                                ApiError::internal(&"a stored event has no error")
                            }),
                            id: Some(id),
                        }),
                    });
                }
                return Ok(outcomes.into_iter().flatten().collect());
            }
            Err(TimelineRefusal::TypeChanged(changed)) => {
                tracing::debug!(template = %changed, "event template changed during a write; checking again");
                let names: Vec<String> = templates.keys().cloned().collect();
                templates = load_templates(state, who.app, names.into_iter()).await?;
            }
        }
    }
    Err(ApiError::new(
        Category::Conflict,
        "The event templates of these events kept changing while they were stored; nothing was stored. Send the events again.",
    ))
}

/// The request body's JSON, or HubSpot's malformed-JSON error.
fn body_json(bytes: &[u8]) -> Result<Value, ApiError> {
    parse_json::<Value>(bytes)
}

/// Creates one timeline event.
#[utoipa::path(post, path = "/integrators/timeline/v3/events", tag = "timeline",
    request_body = TimelineEvent, security(("bearer" = ["timeline"])),
    responses((status = 201, body = TimelineEventResponse), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 413, body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    who: Installed,
    LimitedBody(body): LimitedBody<MAX_EVENT_BODY_BYTES>,
) -> Result<(StatusCode, axum::Json<TimelineEventResponse>), ApiError> {
    let input = read_input(String::new(), body_json(&body)?);
    let outcome = create_all(&state, &who, vec![input])
        .await?
        .pop()
        .ok_or_else(|| ApiError::internal(&"no outcome for the event"))?;
    match outcome {
        Ok(event) => Ok((StatusCode::CREATED, axum::Json(event))),
        Err(failure) => Err(failure.error),
    }
}

/// Creates up to 500 timeline events; each is stored or refused on its own (207 names the
/// refused ones).
#[utoipa::path(post, path = "/integrators/timeline/v3/events/batch/create", tag = "timeline",
    request_body = BatchInputTimelineEvent, security(("bearer" = ["timeline"])),
    responses((status = 201, body = BatchResponseTimelineEventResponse),
        (status = 207, body = BatchResponseTimelineEventResponseWithErrors),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 413, body = ErrorBody)))]
pub async fn create_batch(
    State(state): State<AppState>,
    who: Installed,
    LimitedBody(body): LimitedBody<MAX_BATCH_BODY_BYTES>,
) -> Result<Response, ApiError> {
    let started = Utc::now();
    let batch: BatchInputTimelineEvent = parse_json(&body)?;
    let n = batch.inputs.len();
    if n == 0 {
        return Err(ApiError::validation(vec![ValidationError::new(
            "inputs",
            "REQUIRED",
            "inputs has no events; send from 1 to 500",
        )]));
    }
    if n > MAX_BATCH_INPUTS {
        return Err(ApiError::validation(vec![ValidationError::new(
            "inputs",
            "TOO_MANY_INPUTS",
            format!("inputs has {n} events; a batch takes at most {MAX_BATCH_INPUTS}"),
        )]));
    }
    let inputs = batch
        .inputs
        .into_iter()
        .enumerate()
        .map(|(i, v)| read_input(format!("inputs[{i}]."), v))
        .collect();
    let outcomes = create_all(&state, &who, inputs).await?;
    let mut results = Vec::new();
    let mut errors = Vec::new();
    for (index, outcome) in outcomes.into_iter().enumerate() {
        match outcome {
            Ok(event) => results.push(event),
            Err(failure) => errors.push(item_error(index, failure)),
        }
    }
    Ok(batch_response(results, errors, started))
}

/// A refused input as a `StandardError`: the index in the message and in
/// `context.inputIndex`, the event id (when known) in `context.id`.
fn item_error(index: usize, failure: Failure) -> StandardError {
    let Failure { error, id } = failure;
    let mut context = error.context.unwrap_or_default();
    context.insert("inputIndex".to_owned(), vec![index.to_string()]);
    if let Some(id) = id {
        context.entry("id".to_owned()).or_insert_with(|| vec![id]);
    }
    StandardError {
        status: "error",
        category: error.category.as_str(),
        message: format!("inputs[{index}]: {}", error.message),
        context,
        errors: error.errors,
        links: BTreeMap::new(),
    }
}

fn batch_response(
    results: Vec<TimelineEventResponse>,
    errors: Vec<StandardError>,
    started: DateTime<Utc>,
) -> Response {
    if errors.is_empty() {
        let body = BatchResponseTimelineEventResponse {
            status: "COMPLETE",
            results,
            started_at: started,
            completed_at: Utc::now(),
        };
        (StatusCode::CREATED, axum::Json(body)).into_response()
    } else {
        let body = BatchResponseTimelineEventResponseWithErrors {
            status: "COMPLETE",
            results,
            num_errors: errors.len(),
            errors,
            started_at: started,
            completed_at: Utc::now(),
        };
        (StatusCode::MULTI_STATUS, axum::Json(body)).into_response()
    }
}

// ---- reading ----

/// 404 for an event the account does not have.
fn event_not_found(template: &str, id: &str) -> ApiError {
    with_id(
        ApiError::not_found(format!(
            "Event \"{id}\" of event template {template} does not exist in this account."
        )),
        id,
    )
}

/// The event `id` of template `template` in the caller's account, with its template (which
/// may have been deleted since: its events stay readable by id).
pub(super) async fn load_event(
    state: &AppState,
    who: &Installed,
    template: &str,
    id: &str,
) -> Result<(StoredEventType, StoredTimelineEvent), ApiError> {
    let t = template_of_app(state, who.app, template).await?;
    match state
        .store
        .get_timeline_event(who.caller.account, t.id, id)
        .await
    {
        Ok(e) => Ok((t, e)),
        Err(StoreError::NotFound) => Err(event_not_found(template, id)),
        Err(e) => Err(e.into()),
    }
}

/// One timeline event, as it was stored.
#[utoipa::path(get, path = "/integrators/timeline/v3/events/{eventTemplateId}/{eventId}",
    tag = "timeline",
    params(("eventTemplateId" = String, Path), ("eventId" = String, Path)),
    security(("bearer" = ["timeline"])),
    responses((status = 200, body = TimelineEventResponse), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_by_id(
    State(state): State<AppState>,
    who: Installed,
    Path((template, id)): Path<(String, String)>,
) -> Result<axum::Json<TimelineEventResponse>, ApiError> {
    let (t, e) = load_event(&state, &who, &template, &id).await?;
    Ok(axum::Json(event_out(&t, &e)))
}
