//! `POST /events/v3/send` and `POST /events/v3/send/batch` (also under the dated prefixes
//! `/events/2025-09/…` and `/events/2026-03/…`): custom event completions (api-reference §1.2).
//!
//! Every input is checked against its event definition (seed: custom events; SPEC.md): the
//! record identifier by HubSpot's priority (custom matching id, `objectId`, `email`, `utk`),
//! `occurredAt`, the properties (folded to lower case, at most 50, value lengths and types,
//! attribution values) and `uuid`. A batch is all or nothing: when any input is invalid,
//! nothing is stored and the 400 lists each bad input by `context.inputIndex` with the reason.
//! A valid batch is stored in one atomic step and answered 204; a uuid the event type already
//! has stores nothing (the first completion stays) and is counted in
//! `chronik_custom_event_duplicates_total`, so a client's retry is safe.
//!
//! The grant and the definitions a send is checked against may be ones this node kept
//! (`send_cache.rs`); the write carries their settings version, and when the store refuses it
//! (they changed since), the send reads them again and is checked and written anew, at most
//! [`MAX_ATTEMPTS`] times.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use chronik_domain::association::Identifiers;
use chronik_domain::custom_events::completion::{
    check_completion, CompletionInput, MAX_BATCH_INPUTS,
};
use chronik_domain::custom_events::definition::{short_name, EventProperty};
use chronik_domain::{EventDefinitionId, ValidationError};
use chronik_store::{
    BatchRefusal, NewCompletion, StoreError, StoredEventDefinition, MONTHLY_COMPLETIONS_QUOTA,
};
use chrono::{DateTime, Utc};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::send_cache::SendCaller;
use super::wire::{
    BatchedBehavioralEventHttpCompletionRequest, BehavioralEventHttpCompletionRequest, Scalar,
};
use super::SEND_SCOPE;
use crate::auth::Caller;
use crate::error::{ApiError, Category, ErrorDetail};
use crate::extract::Json;
use crate::state::AppState;

/// How many times a send is checked and written when the account's settings keep changing
/// under it; then it is refused with a 503 and nothing stored.
const MAX_ATTEMPTS: usize = 3;

/// The date-versioned prefixes that serve the same send endpoints as `/events/v3`.
const DATED_PREFIXES: &[&str] = &["/events/2025-09", "/events/2026-03"];

pub(super) fn router() -> OpenApiRouter<AppState> {
    let mut router = OpenApiRouter::new()
        .routes(routes!(send))
        .routes(routes!(send_batch));
    for prefix in DATED_PREFIXES {
        router = router
            .route(&format!("{prefix}/send"), post(send))
            .route(&format!("{prefix}/send/batch"), post(send_batch));
    }
    router
}

/// Send one completion.
#[utoipa::path(
    post,
    path = "/events/v3/send",
    tag = "Custom events",
    request_body = BehavioralEventHttpCompletionRequest,
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Stored (or a repeat of a stored uuid)"),
        (status = 400, description = "Invalid", body = crate::error::ErrorBody),
        (status = 429, description = "Monthly quota used up", body = crate::error::ErrorBody),
    )
)]
async fn send(
    State(state): State<AppState>,
    caller: SendCaller,
    Json(input): Json<BehavioralEventHttpCompletionRequest>,
) -> Result<StatusCode, ApiError> {
    caller.caller.require_any(&[SEND_SCOPE])?;
    store(&state, caller, vec![input], false).await
}

/// Send up to 500 completions; all are stored or none.
#[utoipa::path(
    post,
    path = "/events/v3/send/batch",
    tag = "Custom events",
    request_body = BatchedBehavioralEventHttpCompletionRequest,
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Every input stored (or a repeat of a stored uuid)"),
        (status = 400, description = "Some inputs are invalid; nothing stored", body = crate::error::ErrorBody),
        (status = 429, description = "Monthly quota used up", body = crate::error::ErrorBody),
    )
)]
async fn send_batch(
    State(state): State<AppState>,
    caller: SendCaller,
    Json(batch): Json<BatchedBehavioralEventHttpCompletionRequest>,
) -> Result<StatusCode, ApiError> {
    caller.caller.require_any(&[SEND_SCOPE])?;
    let inputs = batch
        .inputs
        .ok_or_else(|| ApiError::validation(vec![ValidationError::required("inputs")]))?;
    if inputs.is_empty() || inputs.len() > MAX_BATCH_INPUTS {
        return Err(ApiError::validation(vec![ValidationError::new(
            "inputs",
            "INVALID_INPUT_COUNT",
            format!(
                "inputs has {} items; a batch takes from 1 to {MAX_BATCH_INPUTS}",
                inputs.len()
            ),
        )]));
    }
    store(&state, caller, inputs, true).await
}

/// A definition ready to check inputs against (kept with the settings version it was read at).
pub(super) struct Prepared {
    id: EventDefinitionId,
    stored: StoredEventDefinition,
    properties: Vec<EventProperty>,
}

/// What one input says about its record, kept for the message when the record is missing.
struct Checked {
    completion: NewCompletion,
    described: String,
    field: &'static str,
}

/// Checks every input, then stores them all or refuses with every problem listed; checks and
/// writes again with settings read anew while the store says they changed.
async fn store(
    state: &AppState,
    caller: SendCaller,
    inputs: Vec<BehavioralEventHttpCompletionRequest>,
    batch: bool,
) -> Result<StatusCode, ApiError> {
    let SendCaller {
        mut caller,
        token,
        mut fresh,
    } = caller;
    for attempt in 1..=MAX_ATTEMPTS {
        let grant = match attempt_store(state, &caller, &inputs, batch).await? {
            Attempt::Answered(status) => return Ok(status),
            Attempt::Invalid(refusal) if fresh => return Err(refusal),
            Attempt::Invalid(refusal) => {
                // Checked against a kept grant's settings, which may be out of date: the
                // refusal stands when the account's settings version has not moved.
                let grant = Caller::grant(state, &token).await?;
                if grant.settings == caller.settings {
                    return Err(refusal);
                }
                grant
            }
            Attempt::SettingsChanged => Caller::grant(state, &token).await?,
        };
        metrics::counter!("chronik_custom_event_settings_changed_total").increment(1);
        tracing::debug!(
            attempt,
            "the account's settings changed since the send was checked; checking it again"
        );
        state.send_cache.forget(caller.account);
        state.send_cache.keep_grant(&token, &grant);
        caller = Caller::from_grant(grant)?;
        caller.require_any(&[SEND_SCOPE])?;
        fresh = true;
    }
    Err(ApiError::new(
        Category::ServiceUnavailable,
        format!(
            "The account's event definitions or tokens changed {MAX_ATTEMPTS} times while these completions were being stored, so none of them was stored; send them again."
        ),
    ))
}

/// How one check and write of a send ended, unless with an error that stands as it is (a
/// missing record, the monthly quota, the store failing).
enum Attempt {
    /// Stored.
    Answered(StatusCode),
    /// The inputs are invalid against the settings they were checked against.
    Invalid(ApiError),
    /// The store refused the settings version the inputs were checked against; nothing stored.
    SettingsChanged,
}

/// One check and write of the inputs against the caller's settings version.
async fn attempt_store(
    state: &AppState,
    caller: &Caller,
    inputs: &[BehavioralEventHttpCompletionRequest],
    batch: bool,
) -> Result<Attempt, ApiError> {
    let now = Utc::now();
    let count = inputs.len();
    let definitions = load_definitions(state, caller, inputs).await?;
    let mut checked = Vec::with_capacity(count);
    let mut errors: Vec<(usize, ValidationError)> = Vec::new();
    for (index, input) in inputs.iter().enumerate() {
        let path = if batch {
            format!("inputs[{index}].")
        } else {
            String::new()
        };
        match check(caller, &definitions, input, &path, now) {
            Ok(c) => checked.push(c),
            Err(problems) => errors.extend(problems.into_iter().map(|p| (index, p))),
        }
    }
    if !errors.is_empty() {
        return Ok(Attempt::Invalid(refusal(errors, count, batch)));
    }
    let (completions, described): (Vec<_>, Vec<_>) = checked
        .into_iter()
        .map(|c| (c.completion, (c.described, c.field)))
        .unzip();
    let quota = state.config.max_monthly_completions;
    let outcome = state
        .store
        .store_completions(
            caller.account,
            completions,
            quota,
            now,
            Some(caller.settings),
        )
        .await
    .map_err(|e| match e {
            StoreError::QuotaExceeded { quota, limit } if quota == MONTHLY_COMPLETIONS_QUOTA => {
                ApiError::new(
                    Category::RateLimits,
                    format!(
                        "These completions would take this account past its limit of {limit} custom event completions for this calendar month (UTC), so none of them was stored. The count starts again on the first of next month."
                    ),
                )
            }
            e => e.into(),
        })?;
    match outcome {
        Ok(stored) => {
            metrics::counter!("chronik_custom_event_completions_total").increment(stored.stored);
            metrics::counter!("chronik_custom_event_duplicates_total").increment(stored.duplicates);
            if stored.duplicates > 0 {
                tracing::debug!(
                    duplicates = stored.duplicates,
                    "completions with a uuid already stored were dropped"
                );
            }
            Ok(Attempt::Answered(StatusCode::NO_CONTENT))
        }
        Err(BatchRefusal::SettingsChanged) => Ok(Attempt::SettingsChanged),
        Err(BatchRefusal::RecordsNotFound(missing)) => {
            let errors = missing
                .into_iter()
                .map(|index| {
                    let (described, field) = &described[index];
                    let path = if batch {
                        format!("inputs[{index}].{field}")
                    } else {
                        (*field).to_owned()
                    };
                    (
                        index,
                        ValidationError::new(
                            path,
                            "RECORD_NOT_FOUND",
                            format!(
                                "{described}; create the record first or send another identifier"
                            ),
                        ),
                    )
                })
                .collect();
            Err(refusal(errors, count, batch))
        }
    }
}

/// The definitions the inputs name: kept ones read at the caller's settings version, else each
/// read once (and kept).
async fn load_definitions(
    state: &AppState,
    caller: &Caller,
    inputs: &[BehavioralEventHttpCompletionRequest],
) -> Result<HashMap<String, Arc<Prepared>>, ApiError> {
    let mut definitions: HashMap<String, Arc<Prepared>> = HashMap::new();
    let mut absent: Vec<&str> = Vec::new();
    for input in inputs {
        let Some(name) = input.event_name.as_deref() else {
            continue;
        };
        if definitions.contains_key(name) || absent.contains(&name) {
            continue;
        }
        let Some(short) = short_name(caller.account.0, name) else {
            absent.push(name);
            continue;
        };
        if let Some(kept) = state
            .send_cache
            .definition(caller.account, short, caller.settings)
        {
            definitions.insert(name.to_owned(), kept);
            continue;
        }
        match state
            .store
            .get_event_definition(caller.account, short)
            .await
        {
            Ok(stored) => {
                let id = stored.id;
                let properties = stored.definition.all_properties();
                let prepared = Arc::new(Prepared {
                    id,
                    stored,
                    properties,
                });
                state.send_cache.keep_definition(
                    caller.account,
                    short,
                    caller.settings,
                    Arc::clone(&prepared),
                );
                definitions.insert(name.to_owned(), prepared);
            }
            Err(StoreError::NotFound) => absent.push(name),
            Err(e) => return Err(e.into()),
        }
    }
    Ok(definitions)
}

/// Checks one input with the domain's rules, naming an event this account does not have;
/// every problem is reported.
fn check(
    caller: &Caller,
    definitions: &HashMap<String, Arc<Prepared>>,
    input: &BehavioralEventHttpCompletionRequest,
    path: &str,
    now: DateTime<Utc>,
) -> Result<Checked, Vec<ValidationError>> {
    let field = |f: &str| format!("{path}{f}");
    let mut problems = Vec::new();
    let definition = match input.event_name.as_deref() {
        None | Some("") => {
            problems.push(ValidationError::required(&field("eventName")));
            None
        }
        Some(name) => match definitions.get(name) {
            Some(d) => Some(Arc::clone(d)),
            None => {
                problems.push(ValidationError::new(
                    field("eventName"),
                    "EVENT_NOT_FOUND",
                    format!(
                        "eventName \"{name}\" is not an event definition of account {}; use a fullyQualifiedName (pe{}_<name>) from /events/v3/event-definitions",
                        caller.account.0, caller.account.0
                    ),
                ));
                None
            }
        },
    };
    let sent = CompletionInput {
        ids: Identifiers {
            custom: None,
            object_id: input.object_id.as_ref().map(Scalar::text),
            email: input.email.as_deref(),
            utk: input.utk.as_deref(),
        },
        occurred_at: input.occurred_at.as_ref().map(Scalar::text),
        properties: input
            .properties
            .iter()
            .flatten()
            .map(|(name, value)| (name.as_str(), value.as_ref().map(Scalar::text)))
            .collect(),
        uuid: input.uuid.as_deref(),
    };
    let against = definition
        .as_deref()
        .map(|d| (&d.stored.definition, d.properties.as_slice()));
    let checked = match check_completion(against, &sent, path, now) {
        Ok(checked) if problems.is_empty() => checked,
        Ok(_) => return Err(problems),
        Err(mut more) => {
            problems.append(&mut more);
            return Err(problems);
        }
    };
    let Some(definition) = definition else {
        return Err(problems);
    };
    let properties_json = serde_json::to_string(&checked.properties).map_err(|e| {
        vec![ValidationError::new(
            field("properties"),
            "INVALID_VALUE",
            e.to_string(),
        )]
    })?;
    Ok(Checked {
        completion: NewCompletion {
            definition_id: definition.id,
            object_type_id: definition.stored.definition.primary_object_type_id,
            record: checked.record.primary,
            occurred_at: checked.occurred_at,
            uuid: checked.uuid,
            properties_json,
        },
        described: checked.record.described,
        field: checked.record.field,
    })
}

/// The 400 for a refused request: every problem, each batch problem with its `inputIndex`.
fn refusal(errors: Vec<(usize, ValidationError)>, count: usize, batch: bool) -> ApiError {
    let mut bad: Vec<usize> = errors.iter().map(|(i, _)| *i).collect();
    bad.dedup();
    let details: Vec<ErrorDetail> = errors
        .into_iter()
        .map(|(index, e)| {
            let mut detail = ErrorDetail::from(e);
            if batch {
                detail.context = Some(BTreeMap::from([(
                    "inputIndex".to_owned(),
                    vec![index.to_string()],
                )]));
            }
            detail
        })
        .collect();
    let message = if batch {
        format!(
            "{} of {count} inputs are invalid, so nothing was stored; fix or remove the inputs named in errors (context.inputIndex) and send the batch again. First problem: {}",
            bad.len(),
            details[0].message
        )
    } else {
        format!("The completion is invalid: {}", details[0].message)
    };
    ApiError {
        category: Category::ValidationError,
        message,
        errors: details,
        context: None,
    }
}
