//! Records: create, get, update, archive, list, and the batch endpoints. Batches are checked
//! item by item: the valid items are stored, and a 207 names each failed one by its index in
//! `inputs` (`context.inputIndex`) and the reason.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chronik_domain::crm::object::{
    PropertyChanges, UniqueValue, DEFAULT_PAGE_LIMIT, MAX_BATCH_INPUTS, MAX_PAGE_LIMIT,
};
use chronik_domain::{ObjectId, ValidationError};
use chronik_store::{NewObject, ObjectUpdate, StoreError, StoredObject};
use chrono::Utc;

use super::wire::*;
use super::{resolve_objects, Access, ResolvedType};
use crate::auth::Caller;
use crate::error::{ApiError, Category, ErrorBody};
use crate::extract::{Json, Path, QueryPairs};
use crate::state::AppState;

/// How a response shows records: which properties, which histories.
#[derive(Debug, Default, Clone)]
pub(super) struct View {
    pub properties: Vec<String>,
    pub with_history: Vec<String>,
}

impl View {
    fn from_query(q: &QueryPairs) -> View {
        View {
            properties: q.list("properties"),
            with_history: q.list("propertiesWithHistory"),
        }
    }

    /// What a create or an update answers with, as HubSpot does: the type's default
    /// properties plus every property the input wrote (set or cleared), so a client sees the
    /// values it just sent without reading the record again.
    fn written(t: &ResolvedType, changes: &PropertyChanges) -> View {
        let mut properties: Vec<String> = t
            .properties
            .iter()
            .filter(|d| d.returned_by_default)
            .map(|d| d.name.clone())
            .collect();
        properties.extend(changes.set.keys().cloned());
        properties.extend(changes.clear.iter().cloned());
        properties.sort();
        properties.dedup();
        View {
            properties,
            with_history: Vec::new(),
        }
    }
}

/// Shapes a stored record as `SimplePublicObject`.
pub(super) async fn render(
    state: &AppState,
    caller: &Caller,
    t: &ResolvedType,
    o: StoredObject,
    view: &View,
) -> Result<SimplePublicObject, ApiError> {
    let all = t
        .properties
        .with_system_values(o.id.0, o.created_at, o.updated_at, &o.properties);
    let properties_with_history = if view.with_history.is_empty() {
        None
    } else {
        let history = state
            .store
            .object_history(caller.account, t.type_id, o.id)
            .await?;
        Some(
            view.with_history
                .iter()
                .filter(|name| t.properties.get(name).is_some())
                .map(|name| {
                    let entries = history
                        .get(name)
                        .map(|h| {
                            h.iter()
                                .map(|e| ValueWithTimestamp {
                                    value: e.value.clone(),
                                    timestamp: e.timestamp,
                                    source_type: "API",
                                })
                                .collect()
                        })
                        .unwrap_or_default();
                    (name.clone(), entries)
                })
                .collect(),
        )
    };
    Ok(SimplePublicObject {
        id: o.id.to_string(),
        properties: t.properties.select(&all, &view.properties),
        properties_with_history,
        created_at: o.created_at,
        updated_at: o.updated_at,
        archived: o.archived_at.is_some(),
        archived_at: o.archived_at,
        object_write_trace_id: None,
    })
}

/// How one input of a write batch is answered once stored: its index in `inputs`, the
/// `objectWriteTraceId` it sent, and the properties its answer shows.
struct Answer {
    index: usize,
    trace: Option<String>,
    view: View,
}

/// The checked change of one input: what to store and which unique values it claims.
struct Checked {
    changes: PropertyChanges,
    unique: Vec<UniqueValue>,
    released: Vec<String>,
}

fn check_input(
    t: &ResolvedType,
    path: &str,
    input: &mut SimplePublicObjectInput,
    creating: bool,
) -> Result<Checked, Vec<ValidationError>> {
    let raw: BTreeMap<String, String> = std::mem::take(&mut input.properties)
        .into_iter()
        .map(|(k, v)| (k, v.into_text()))
        .collect();
    let mut problems = Vec::new();
    if !input.associations.is_empty() {
        problems.push(ValidationError::new(
            format!("{path}associations"),
            "NOT_SUPPORTED",
            format!("{path}associations: creating associations with a record is not supported yet; send the record without them"),
        ));
    }
    if creating {
        for required in t.required() {
            if raw.get(required).is_none_or(|v| v.is_empty()) {
                problems.push(ValidationError::new(
                    format!("{path}properties.{required}"),
                    "MISSING_REQUIRED_PROPERTY",
                    format!(
                        "{path}properties.{required} is required for a new {}",
                        t.singular()
                    ),
                ));
            }
        }
    }
    match t.properties.check_input(&format!("{path}properties"), &raw) {
        Ok(changes) => {
            if !problems.is_empty() {
                return Err(problems);
            }
            let unique = t.properties.unique_claims(&changes);
            let released = changes
                .clear
                .iter()
                .filter(|c| t.properties.is_unique(c))
                .cloned()
                .collect();
            Ok(Checked {
                changes,
                unique,
                released,
            })
        }
        Err(mut errors) => {
            problems.append(&mut errors);
            Err(problems)
        }
    }
}

fn invalid_properties(errors: Vec<ValidationError>) -> ApiError {
    let mut e = ApiError::validation(errors);
    e.message = format!("Property values were not valid: {}", e.message);
    e
}

fn conflict(t: &ResolvedType, existing: Option<String>) -> ApiError {
    let mut label = t.singular();
    if let Some(first) = label.get_mut(0..1) {
        first.make_ascii_uppercase();
    }
    ApiError::new(
        Category::Conflict,
        match existing {
            Some(id) => format!("{label} already exists. Existing ID: {id}"),
            None => format!("{label} already exists."),
        },
    )
}

fn object_not_found(id: &str) -> ApiError {
    let mut e = ApiError::not_found(format!(
        "Object not found.  objectId are usually numeric. No record with id {id}."
    ));
    e.context = Some(BTreeMap::from([("id".to_owned(), vec![id.to_owned()])]));
    e
}

/// Which property an `idProperty` names: `None` for the record id.
fn id_property(t: &ResolvedType, raw: Option<&str>) -> Result<Option<String>, ApiError> {
    match raw.map(str::trim).filter(|p| !p.is_empty()) {
        None | Some("hs_object_id") => Ok(None),
        Some(p) if t.properties.is_unique(p) => Ok(Some(p.to_owned())),
        Some(p) => Err(ApiError::validation(vec![ValidationError::new(
            "idProperty",
            "NOT_UNIQUE_PROPERTY",
            format!("idProperty \"{p}\" is not a unique property of this object type; use hs_object_id or a property with hasUniqueValue"),
        )])),
    }
}

/// Finds records by ids or by values of a unique property; the result is keyed by the id as
/// sent, so callers can tell which were found.
async fn lookup(
    state: &AppState,
    caller: &Caller,
    t: &ResolvedType,
    ids: &[String],
    by: Option<&str>,
    archived: bool,
) -> Result<BTreeMap<String, StoredObject>, ApiError> {
    let mut found = BTreeMap::new();
    match by {
        None => {
            let numeric: Vec<(String, ObjectId)> = ids
                .iter()
                .filter_map(|raw| {
                    raw.trim()
                        .parse::<i64>()
                        .ok()
                        .map(|n| (raw.clone(), ObjectId(n)))
                })
                .collect();
            let keys: Vec<ObjectId> = numeric.iter().map(|(_, id)| *id).collect();
            let records = state
                .store
                .get_objects(caller.account, t.type_id, &keys, archived)
                .await?;
            for (raw, id) in numeric {
                if let Some(o) = records.iter().find(|o| o.id == id) {
                    found.insert(raw, o.clone());
                }
            }
        }
        Some(property) => {
            if archived {
                // Archived records no longer hold their unique values.
                return Ok(found);
            }
            let values: Vec<UniqueValue> =
                ids.iter().map(|v| UniqueValue::new(property, v)).collect();
            let records = state
                .store
                .find_by_unique(caller.account, t.type_id, &values)
                .await?;
            for (raw, value) in ids.iter().zip(&values) {
                if let Some(o) = records.iter().find(|o| {
                    o.properties
                        .get(property)
                        .is_some_and(|v| UniqueValue::new(property, v) == *value)
                }) {
                    found.insert(raw.clone(), o.clone());
                }
            }
        }
    }
    Ok(found)
}

fn check_batch_size(n: usize) -> Result<(), ApiError> {
    if n > MAX_BATCH_INPUTS {
        return Err(ApiError::validation(vec![ValidationError::new(
            "inputs",
            "TOO_MANY_INPUTS",
            format!("inputs has {n} items; a batch takes at most {MAX_BATCH_INPUTS}"),
        )]));
    }
    Ok(())
}

fn item_error(index: usize, e: ApiError) -> StandardError {
    let mut context = e.context.unwrap_or_default();
    context.insert("inputIndex".to_owned(), vec![index.to_string()]);
    StandardError {
        status: "error",
        category: e.category.as_str(),
        message: e.message,
        context,
        errors: e.errors,
        links: BTreeMap::new(),
    }
}

/// The batch answer: `ok` when every input succeeded, else 207 with the failures in input
/// order.
fn batch_response(
    results: Vec<SimplePublicObject>,
    mut errors: Vec<StandardError>,
    ok: StatusCode,
    started: chrono::DateTime<Utc>,
) -> Response {
    errors.sort_by_key(|e| {
        e.context
            .get("inputIndex")
            .and_then(|v| v.first())
            .and_then(|v| v.parse::<usize>().ok())
    });
    let failed = !errors.is_empty();
    let body = BatchResponse {
        status: "COMPLETE",
        results,
        num_errors: failed.then_some(errors.len()),
        errors: failed.then_some(errors),
        started_at: started,
        completed_at: Utc::now(),
    };
    let status = if failed { StatusCode::MULTI_STATUS } else { ok };
    (status, axum::Json(body)).into_response()
}

fn store_item_error(t: &ResolvedType, id: Option<&str>, e: StoreError) -> ApiError {
    match e {
        StoreError::Conflict { existing_id, .. } => conflict(t, existing_id),
        StoreError::NotFound => object_not_found(id.unwrap_or("")),
        e => e.into(),
    }
}

/// Creates a record.
#[utoipa::path(post, path = "/crm/v3/objects/{objectType}", tag = "crm",
    params(("objectType" = String, Path, description = "contacts, companies, deals, tickets, 2-<n> or p{portalId}_{name}")),
    request_body = SimplePublicObjectInput, security(("bearer" = [])),
    responses((status = 201, body = SimplePublicObject), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Path(object_type): Path<String>,
    Json(mut input): Json<SimplePublicObjectInput>,
) -> Result<(StatusCode, axum::Json<SimplePublicObject>), ApiError> {
    let t = resolve_objects(&state, &caller, &object_type, Access::Write).await?;
    let checked = check_input(&t, "", &mut input, true).map_err(invalid_properties)?;
    let view = View::written(&t, &checked.changes);
    let mut results = state
        .store
        .create_objects(
            caller.account,
            t.type_id,
            vec![NewObject {
                properties: checked.changes.set,
                unique: checked.unique,
            }],
            Utc::now(),
        )
        .await?;
    let stored = results
        .pop()
        .ok_or_else(|| ApiError::internal(&"the store returned no result"))?;
    let stored = stored.map_err(|e| store_item_error(&t, None, e))?;
    let mut out = render(&state, &caller, &t, stored, &view).await?;
    out.object_write_trace_id = input.object_write_trace_id;
    Ok((StatusCode::CREATED, axum::Json(out)))
}

/// Reads a record by id, or by a unique property with `idProperty`.
#[utoipa::path(get, path = "/crm/v3/objects/{objectType}/{objectId}", tag = "crm",
    params(("objectType" = String, Path), ("objectId" = String, Path),
        ("properties" = Option<Vec<String>>, Query), ("propertiesWithHistory" = Option<Vec<String>>, Query),
        ("archived" = Option<bool>, Query), ("idProperty" = Option<String>, Query)),
    security(("bearer" = [])),
    responses((status = 200, body = SimplePublicObject), (status = 404, body = ErrorBody)))]
pub async fn get_by_id(
    State(state): State<AppState>,
    caller: Caller,
    Path((object_type, object_id)): Path<(String, String)>,
    query: QueryPairs,
) -> Result<axum::Json<SimplePublicObject>, ApiError> {
    let t = resolve_objects(&state, &caller, &object_type, Access::Read).await?;
    let by = id_property(&t, query.first("idProperty"))?;
    let archived = query.bool("archived", false)?;
    let found = lookup(
        &state,
        &caller,
        &t,
        std::slice::from_ref(&object_id),
        by.as_deref(),
        archived,
    )
    .await?;
    let stored = found
        .into_values()
        .next()
        .ok_or_else(|| object_not_found(&object_id))?;
    Ok(axum::Json(
        render(&state, &caller, &t, stored, &View::from_query(&query)).await?,
    ))
}

/// Changes a record's properties; an empty string clears one.
#[utoipa::path(patch, path = "/crm/v3/objects/{objectType}/{objectId}", tag = "crm",
    params(("objectType" = String, Path), ("objectId" = String, Path), ("idProperty" = Option<String>, Query)),
    request_body = SimplePublicObjectInput, security(("bearer" = [])),
    responses((status = 200, body = SimplePublicObject), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path((object_type, object_id)): Path<(String, String)>,
    query: QueryPairs,
    Json(mut input): Json<SimplePublicObjectInput>,
) -> Result<axum::Json<SimplePublicObject>, ApiError> {
    let t = resolve_objects(&state, &caller, &object_type, Access::Write).await?;
    let by = id_property(&t, query.first("idProperty"))?;
    let checked = check_input(&t, "", &mut input, false).map_err(invalid_properties)?;
    let view = View::written(&t, &checked.changes);
    let found = lookup(
        &state,
        &caller,
        &t,
        std::slice::from_ref(&object_id),
        by.as_deref(),
        false,
    )
    .await?;
    let current = found
        .into_values()
        .next()
        .ok_or_else(|| object_not_found(&object_id))?;
    let update = ObjectUpdate {
        id: current.id,
        set: checked.changes.set,
        clear: checked.changes.clear,
        unique: checked.unique,
        released: checked.released,
    };
    let mut results = state
        .store
        .update_objects(caller.account, t.type_id, vec![update], Utc::now())
        .await?;
    let stored = results
        .pop()
        .ok_or_else(|| ApiError::internal(&"the store returned no result"))?
        .map_err(|e| store_item_error(&t, Some(&object_id), e))?;
    let mut out = render(&state, &caller, &t, stored, &view).await?;
    out.object_write_trace_id = input.object_write_trace_id;
    Ok(axum::Json(out))
}

/// Archives a record (HubSpot's delete): it leaves lists and searches and frees its unique
/// values; `archived=true` still reads it.
#[utoipa::path(delete, path = "/crm/v3/objects/{objectType}/{objectId}", tag = "crm",
    params(("objectType" = String, Path), ("objectId" = String, Path)),
    security(("bearer" = [])),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn archive(
    State(state): State<AppState>,
    caller: Caller,
    Path((object_type, object_id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let t = resolve_objects(&state, &caller, &object_type, Access::Write).await?;
    let id = object_id
        .trim()
        .parse::<i64>()
        .map_err(|_| object_not_found(&object_id))?;
    let mut results = state
        .store
        .archive_objects(caller.account, t.type_id, vec![ObjectId(id)], Utc::now())
        .await?;
    results
        .pop()
        .ok_or_else(|| ApiError::internal(&"the store returned no result"))?
        .map_err(|e| store_item_error(&t, Some(&object_id), e))?;
    Ok(StatusCode::NO_CONTENT)
}

/// Lists records by id, `limit` (default 10, at most 100) at a time.
#[utoipa::path(get, path = "/crm/v3/objects/{objectType}", tag = "crm",
    params(("objectType" = String, Path), ("limit" = Option<usize>, Query), ("after" = Option<String>, Query),
        ("properties" = Option<Vec<String>>, Query), ("propertiesWithHistory" = Option<Vec<String>>, Query),
        ("archived" = Option<bool>, Query)),
    security(("bearer" = [])),
    responses((status = 200, body = ObjectPage), (status = 400, body = ErrorBody)))]
pub async fn get_page(
    State(state): State<AppState>,
    caller: Caller,
    Path(object_type): Path<String>,
    query: QueryPairs,
) -> Result<axum::Json<ObjectPage>, ApiError> {
    let t = resolve_objects(&state, &caller, &object_type, Access::Read).await?;
    let limit = query.limit("limit", DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT)?;
    let archived = query.bool("archived", false)?;
    let after = match query
        .first("after")
        .map(str::trim)
        .filter(|a| !a.is_empty())
    {
        None => None,
        Some(a) => Some(ObjectId(a.parse::<i64>().map_err(|_| {
            ApiError::validation(vec![ValidationError::new(
                "after",
                "INVALID_AFTER",
                format!("after \"{a}\" must be the paging.next.after of a previous page"),
            )])
        })?)),
    };
    // One record more than asked tells whether there is a next page.
    let mut records = state
        .store
        .list_objects(caller.account, t.type_id, after, limit + 1, archived)
        .await?;
    let more = records.len() > limit;
    records.truncate(limit);
    let view = View::from_query(&query);
    let next = records.last().map(|o| o.id).filter(|_| more);
    let mut results = Vec::with_capacity(records.len());
    for o in records {
        results.push(render(&state, &caller, &t, o, &view).await?);
    }
    Ok(axum::Json(ObjectPage {
        results,
        paging: next.map(|id| ForwardPaging {
            next: NextPage {
                after: id.to_string(),
                link: format!("/crm/v3/objects/{object_type}?after={id}&limit={limit}"),
            },
        }),
    }))
}

/// Creates up to 100 records; the valid ones are stored even when others fail (207).
#[utoipa::path(post, path = "/crm/v3/objects/{objectType}/batch/create", tag = "crm",
    params(("objectType" = String, Path)),
    request_body = BatchInputSimplePublicObjectInput, security(("bearer" = [])),
    responses((status = 201, body = BatchResponse), (status = 207, body = BatchResponse), (status = 400, body = ErrorBody)))]
pub async fn batch_create(
    State(state): State<AppState>,
    caller: Caller,
    Path(object_type): Path<String>,
    Json(batch): Json<BatchInputSimplePublicObjectInput>,
) -> Result<Response, ApiError> {
    let started = Utc::now();
    let t = resolve_objects(&state, &caller, &object_type, Access::Write).await?;
    check_batch_size(batch.inputs.len())?;
    let mut errors = Vec::new();
    let mut valid = Vec::new();
    for (i, mut input) in batch.inputs.into_iter().enumerate() {
        match check_input(&t, &format!("inputs[{i}]."), &mut input, true) {
            Ok(c) => valid.push((
                Answer {
                    index: i,
                    trace: input.object_write_trace_id,
                    view: View::written(&t, &c.changes),
                },
                NewObject {
                    properties: c.changes.set,
                    unique: c.unique,
                },
            )),
            Err(problems) => errors.push(item_error(i, invalid_properties(problems))),
        }
    }
    // Two inputs of one batch claiming the same unique value: the first one keeps it.
    let mut claimed: BTreeMap<UniqueValue, usize> = BTreeMap::new();
    valid.retain(|(Answer { index: i, .. }, o)| {
        for u in &o.unique {
            if let Some(first) = claimed.get(u) {
                errors.push(item_error(
                    *i,
                    ApiError::validation(vec![ValidationError::new(
                        format!("inputs[{i}].properties.{}", u.property),
                        "DUPLICATE_IN_BATCH",
                        format!(
                            "inputs[{i}].properties.{} repeats the value of inputs[{first}]",
                            u.property
                        ),
                    )]),
                ));
                return false;
            }
        }
        for u in &o.unique {
            claimed.insert(u.clone(), *i);
        }
        true
    });
    let (answers, inputs): (Vec<Answer>, Vec<NewObject>) = valid.into_iter().unzip();
    let stored = if inputs.is_empty() {
        Vec::new()
    } else {
        state
            .store
            .create_objects(caller.account, t.type_id, inputs, Utc::now())
            .await?
    };
    let mut results = Vec::new();
    for (a, r) in answers.into_iter().zip(stored) {
        match r {
            Ok(o) => {
                let mut out = render(&state, &caller, &t, o, &a.view).await?;
                out.object_write_trace_id = a.trace;
                results.push(out);
            }
            Err(e) => errors.push(item_error(a.index, store_item_error(&t, None, e))),
        }
    }
    Ok(batch_response(
        results,
        errors,
        StatusCode::CREATED,
        started,
    ))
}

/// Reads up to 100 records by id or unique property; missing ones are named in a 207.
#[utoipa::path(post, path = "/crm/v3/objects/{objectType}/batch/read", tag = "crm",
    params(("objectType" = String, Path), ("archived" = Option<bool>, Query)),
    request_body = BatchReadInputSimplePublicObjectId, security(("bearer" = [])),
    responses((status = 200, body = BatchResponse), (status = 207, body = BatchResponse), (status = 400, body = ErrorBody)))]
pub async fn batch_read(
    State(state): State<AppState>,
    caller: Caller,
    Path(object_type): Path<String>,
    query: QueryPairs,
    Json(batch): Json<BatchReadInputSimplePublicObjectId>,
) -> Result<Response, ApiError> {
    let started = Utc::now();
    let t = resolve_objects(&state, &caller, &object_type, Access::Read).await?;
    check_batch_size(batch.inputs.len())?;
    let by = id_property(&t, batch.id_property.as_deref())?;
    let archived = query.bool("archived", false)?;
    let ids: Vec<String> = batch.inputs.into_iter().map(|i| i.id).collect();
    let found = lookup(&state, &caller, &t, &ids, by.as_deref(), archived).await?;
    let view = View {
        properties: batch.properties,
        with_history: batch.properties_with_history,
    };
    let mut results = Vec::new();
    let mut errors = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for (i, id) in ids.iter().enumerate() {
        match found.get(id) {
            Some(o) if seen.insert(o.id) => {
                results.push(render(&state, &caller, &t, o.clone(), &view).await?)
            }
            Some(_) => {}
            None => errors.push(item_error(i, object_not_found(id))),
        }
    }
    Ok(batch_response(results, errors, StatusCode::OK, started))
}

/// Updates up to 100 records; each succeeds or fails on its own (207 names the failures).
#[utoipa::path(post, path = "/crm/v3/objects/{objectType}/batch/update", tag = "crm",
    params(("objectType" = String, Path)),
    request_body = BatchInputSimplePublicObjectInput, security(("bearer" = [])),
    responses((status = 200, body = BatchResponse), (status = 207, body = BatchResponse), (status = 400, body = ErrorBody)))]
pub async fn batch_update(
    State(state): State<AppState>,
    caller: Caller,
    Path(object_type): Path<String>,
    Json(batch): Json<BatchInputSimplePublicObjectInput>,
) -> Result<Response, ApiError> {
    let started = Utc::now();
    let t = resolve_objects(&state, &caller, &object_type, Access::Write).await?;
    check_batch_size(batch.inputs.len())?;
    let mut errors = Vec::new();
    let mut updates = Vec::new();
    let mut indexes = Vec::new();
    for (i, mut input) in batch.inputs.into_iter().enumerate() {
        let Some(raw_id) = input.id.clone() else {
            errors.push(item_error(
                i,
                ApiError::validation(vec![ValidationError::required(&format!("inputs[{i}].id"))]),
            ));
            continue;
        };
        let by = match id_property(&t, input.id_property.as_deref()) {
            Ok(by) => by,
            Err(e) => {
                errors.push(item_error(i, e));
                continue;
            }
        };
        let checked = match check_input(&t, &format!("inputs[{i}]."), &mut input, false) {
            Ok(c) => c,
            Err(problems) => {
                errors.push(item_error(i, invalid_properties(problems)));
                continue;
            }
        };
        let found = lookup(
            &state,
            &caller,
            &t,
            std::slice::from_ref(&raw_id),
            by.as_deref(),
            false,
        )
        .await?;
        let Some(current) = found.into_values().next() else {
            errors.push(item_error(i, object_not_found(&raw_id)));
            continue;
        };
        indexes.push((
            Answer {
                index: i,
                trace: input.object_write_trace_id.take(),
                view: View::written(&t, &checked.changes),
            },
            raw_id,
        ));
        updates.push(ObjectUpdate {
            id: current.id,
            set: checked.changes.set,
            clear: checked.changes.clear,
            unique: checked.unique,
            released: checked.released,
        });
    }
    let stored = if updates.is_empty() {
        Vec::new()
    } else {
        state
            .store
            .update_objects(caller.account, t.type_id, updates, Utc::now())
            .await?
    };
    let mut results = Vec::new();
    for ((a, raw_id), r) in indexes.into_iter().zip(stored) {
        match r {
            Ok(o) => {
                let mut out = render(&state, &caller, &t, o, &a.view).await?;
                out.object_write_trace_id = a.trace;
                results.push(out);
            }
            Err(e) => errors.push(item_error(a.index, store_item_error(&t, Some(&raw_id), e))),
        }
    }
    Ok(batch_response(results, errors, StatusCode::OK, started))
}

/// Archives up to 100 records. As in HubSpot the answer is 204 whatever the ids were.
#[utoipa::path(post, path = "/crm/v3/objects/{objectType}/batch/archive", tag = "crm",
    params(("objectType" = String, Path)),
    request_body = BatchInputSimplePublicObjectId, security(("bearer" = [])),
    responses((status = 204), (status = 400, body = ErrorBody)))]
pub async fn batch_archive(
    State(state): State<AppState>,
    caller: Caller,
    Path(object_type): Path<String>,
    Json(batch): Json<BatchInputSimplePublicObjectId>,
) -> Result<StatusCode, ApiError> {
    let t = resolve_objects(&state, &caller, &object_type, Access::Write).await?;
    check_batch_size(batch.inputs.len())?;
    let mut ids = Vec::new();
    let mut problems = Vec::new();
    for (i, input) in batch.inputs.iter().enumerate() {
        match input.id.trim().parse::<i64>() {
            Ok(n) => ids.push(ObjectId(n)),
            Err(_) => problems.push(ValidationError::new(
                format!("inputs[{i}].id"),
                "INVALID_ID",
                format!("inputs[{i}].id \"{}\" is not a record id", input.id),
            )),
        }
    }
    if !problems.is_empty() {
        return Err(ApiError::validation(problems));
    }
    if !ids.is_empty() {
        // Unknown or already archived ids are not an error here, as in HubSpot.
        state
            .store
            .archive_objects(caller.account, t.type_id, ids, Utc::now())
            .await?;
    }
    Ok(StatusCode::NO_CONTENT)
}
