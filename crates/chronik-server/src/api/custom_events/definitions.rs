//! `/events/v3/event-definitions`: custom behavioral event definitions and their properties
//! (api-reference §1.5; seed: custom events, "Das Event definieren" and the limits).
//!
//! Every route needs [`DEFINITIONS_SCOPE`]. The rules (names, labels, the 50-property limit,
//! property changes, custom matching ids) live in `chronik_domain::custom_events::definition`;
//! the handlers load what a rule needs, call it, and write the result with one store method.
//! A definition's `primaryObject` and the target of its custom matching id are checked
//! against the CRM types through [`object_types::resolve_type`] (custom objects included).
//!
//! Choices where HubSpot is silent or unconfirmed:
//! - reaching the configured number of definitions (500 by default) is a 400 naming the
//!   limit; a name an account has or ever had is a 409 (deleted names are never reused);
//! - lists are sorted by `name` (`sortOrder=ASC|DESC`), and `after` is the last name of the
//!   previous page; `limit` defaults to 10 and allows 100, as the CRM lists;
//! - HubSpot's default properties and the property a custom matching id reads cannot be
//!   deleted (400); a property's `type` cannot change (400: delete and create it again).

use std::collections::{BTreeMap, HashMap};

use axum::extract::State;
use axum::http::header::LOCATION;
use axum::http::StatusCode;
use chronik_domain::crm::object::{DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT};
use chronik_domain::crm::object_type::ObjectTypeId;
use chronik_domain::crm::property::PropertyType;
use chronik_domain::custom_events::definition::{
    add_event_property, fully_qualified_name, name_from_label, parse_custom_matching_id,
    parse_event_properties, parse_event_property, parse_internal_name, parse_label,
    remove_event_property, update_event_property, CustomMatchingIdInput, EventDefinition,
    EventProperty, EventPropertyInput, EventPropertyPatch,
};
use chronik_domain::error::Problems;
use chronik_domain::{AccountId, DomainError, ValidationError};
use chronik_store::{DefinitionChange, SchemaKey, StoreError, StoredEventDefinition};
use chrono::Utc;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::wire::*;
use super::DEFINITIONS_SCOPE;
use crate::api::crm::wire::{ForwardPaging, ModificationMetadata, NextPage, OptionWire, Property};
use crate::auth::Caller;
use crate::error::{ApiError, Category, ErrorBody, ErrorDetail};
use crate::extract::{Json, Path, QueryPairs};
use crate::object_types;
use crate::state::AppState;

/// Where the definitions live; also the start of every `Location` and paging link.
const BASE: &str = "/events/v3/event-definitions";

/// The `groupName` of every event property.
const GROUP_NAME: &str = "event_properties";

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_page, create))
        .routes(routes!(get_by_name, update, archive))
        .routes(routes!(create_property))
        .routes(routes!(update_property, archive_property))
}

// ---- shaping ----

/// HubSpot's `fieldType` for an event property's type (api-reference §1.5, from the docs).
fn field_type(t: PropertyType) -> &'static str {
    match t {
        PropertyType::String => "text",
        PropertyType::Number => "number",
        PropertyType::Enumeration => "select",
        PropertyType::Bool => "radio",
        PropertyType::Date | PropertyType::Datetime => "date",
    }
}

/// Shapes an event property as HubSpot's `Property`; `position` is its `displayOrder`.
fn property_out(p: &EventProperty, position: usize) -> Property {
    Property {
        name: p.name.clone(),
        label: p.label.clone(),
        property_type: p.property_type.as_str(),
        field_type: field_type(p.property_type).to_owned(),
        description: p.description.clone(),
        group_name: GROUP_NAME.to_owned(),
        options: p.options.iter().map(OptionWire::from).collect(),
        display_order: i32::try_from(position).unwrap_or(i32::MAX),
        calculated: false,
        external_options: false,
        has_unique_value: false,
        hidden: false,
        hubspot_defined: p.hubspot_defined,
        modification_metadata: ModificationMetadata {
            archivable: !p.hubspot_defined,
            read_only_definition: p.hubspot_defined,
            read_only_value: false,
        },
        form_field: false,
        created_at: None,
        updated_at: None,
        archived: false,
        archived_at: None,
    }
}

/// The property `name` of `definition` as returned by the property endpoints.
fn property_of(definition: &EventDefinition, name: &str) -> Result<Property, ApiError> {
    definition
        .all_properties()
        .iter()
        .enumerate()
        .find(|(_, p)| p.name == name)
        .map(|(i, p)| property_out(p, i))
        .ok_or_else(|| ApiError::internal(&format!("property {name} vanished on write")))
}

/// What `primaryObject` says for a stored type id: `CONTACT`… for the standard types, the
/// custom object's name, or the type id itself when its schema is gone.
async fn primary_object_name(
    state: &AppState,
    account: AccountId,
    type_id: ObjectTypeId,
) -> Result<String, ApiError> {
    if let Some(t) = type_id.standard() {
        return Ok(t.singular().to_ascii_uppercase());
    }
    match state
        .store
        .get_schema(account, &SchemaKey::TypeId(type_id))
        .await
    {
        Ok(schema) => Ok(schema.definition.name),
        Err(StoreError::NotFound) => Ok(type_id.to_string()),
        Err(e) => Err(e.into()),
    }
}

/// Shapes a stored definition as `ExternalBehavioralEventTypeDefinition`.
fn definition_out(
    account: AccountId,
    stored: &StoredEventDefinition,
    primary_object: String,
    with_properties: bool,
) -> ExternalBehavioralEventTypeDefinition {
    let d = &stored.definition;
    let properties = if with_properties {
        d.all_properties()
            .iter()
            .enumerate()
            .map(|(i, p)| property_out(p, i))
            .collect()
    } else {
        Vec::new()
    };
    ExternalBehavioralEventTypeDefinition {
        id: stored.id.to_string(),
        name: d.name.clone(),
        fully_qualified_name: fully_qualified_name(account.0, &d.name),
        labels: ObjectTypeDefinitionLabels {
            singular: d.label.clone(),
            plural: None,
        },
        object_type_id: format!("6-{}", stored.id),
        archived: false,
        associations: Vec::new(),
        properties,
        description: d.description.clone(),
        primary_object,
        primary_object_id: d.primary_object_type_id.to_string(),
        tracking_type: "MANUAL",
        custom_matching_id: d.custom_matching_id.as_ref().map(|m| {
            ExternalObjectResolutionMapping {
                primary_object_rule: ExternalPrimaryObjectResolutionRule {
                    target_object_property_name: m.target_object_property_name.clone(),
                    event_property_name: m.event_property_name.clone(),
                },
            }
        }),
        created_at: stored.created_at,
        updated_at: stored.updated_at,
    }
}

/// Shapes one definition with all its properties (single reads and writes).
async fn full_definition(
    state: &AppState,
    account: AccountId,
    stored: &StoredEventDefinition,
) -> Result<ExternalBehavioralEventTypeDefinition, ApiError> {
    let primary =
        primary_object_name(state, account, stored.definition.primary_object_type_id).await?;
    Ok(definition_out(account, stored, primary, true))
}

// ---- inputs ----

fn property_input(p: &ExternalBehavioralEventPropertyCreate) -> EventPropertyInput {
    EventPropertyInput {
        name: p.name.clone(),
        label: p.label.clone(),
        property_type: p.property_type.clone(),
        description: p.description.clone(),
        options: option_pairs(&p.options),
    }
}

fn option_pairs(options: &[OptionWire]) -> Vec<(Option<String>, Option<String>)> {
    options
        .iter()
        .map(|o| (o.label.clone(), o.value.clone()))
        .collect()
}

/// A primary object resolved in the caller's account.
struct Primary {
    /// Its objectTypeId.
    type_id: ObjectTypeId,
    /// How messages name it (`contact`, `car`).
    singular: String,
    /// Its properties whose value identifies one record: the targets a custom matching id may
    /// use.
    unique_targets: Vec<String>,
}

/// Resolves `primaryObject` through the CRM layer (standard types by name or type id, custom
/// objects by `2-<n>`, `p{portalId}_{name}` or short name). An unknown object is the inner
/// error, to be reported with the request's other problems.
async fn resolve_primary(
    state: &AppState,
    caller: &Caller,
    raw: &str,
) -> Result<Result<Primary, ValidationError>, ApiError> {
    let raw = raw.trim();
    let unknown = || {
        ValidationError::new(
            "primaryObject",
            "UNKNOWN_OBJECT",
            format!(
                "primaryObject \"{raw}\" is not an object of this account; use CONTACT, COMPANY, DEAL, TICKET or a custom object's name or objectTypeId"
            ),
        )
    };
    if raw.is_empty() {
        return Ok(Err(unknown()));
    }
    let t = match object_types::resolve_type(state, caller, raw).await {
        Ok(t) => t,
        Err(e) if e.category == Category::ObjectNotFound => return Ok(Err(unknown())),
        Err(e) => return Err(e),
    };
    let mut unique_targets: Vec<String> = t
        .properties
        .unique_properties()
        .map(str::to_owned)
        .collect();
    unique_targets.push("hs_object_id".to_owned());
    unique_targets.sort_unstable();
    unique_targets.dedup();
    Ok(Ok(Primary {
        singular: t.singular(),
        type_id: t.type_id,
        unique_targets,
    }))
}

fn not_found(name: &str) -> ApiError {
    ApiError::not_found(format!(
        "Event definition \"{name}\" does not exist in this account."
    ))
}

/// Loads a live definition of the caller's account, 404 when there is none.
async fn load(
    state: &AppState,
    caller: &Caller,
    name: &str,
) -> Result<StoredEventDefinition, ApiError> {
    state
        .store
        .get_event_definition(caller.account, name)
        .await
        .map_err(|e| match e {
            StoreError::NotFound => not_found(name),
            e => e.into(),
        })
}

/// Applies `change` to the live definition `name` in the store, as one atomic step, so
/// concurrent changes (two properties added at once) are never lost. 404 when the definition
/// does not exist or was deleted meanwhile; a refused change is answered with its reason.
async fn modify(
    state: &AppState,
    caller: &Caller,
    name: &str,
    change: DefinitionChange,
) -> Result<StoredEventDefinition, ApiError> {
    match state
        .store
        .modify_event_definition(caller.account, name, change, Utc::now())
        .await
    {
        Ok(Ok(saved)) => Ok(saved),
        Ok(Err(refused)) => Err(refused.into()),
        Err(StoreError::NotFound) => Err(not_found(name)),
        Err(e) => Err(e.into()),
    }
}

/// `sortOrder`: ascending by name unless `DESC`/`DESCENDING`.
fn descending(query: &QueryPairs) -> Result<bool, ApiError> {
    match query.first("sortOrder").map(str::trim) {
        None | Some("") => Ok(false),
        Some(v) if v.eq_ignore_ascii_case("ASC") || v.eq_ignore_ascii_case("ASCENDING") => {
            Ok(false)
        }
        Some(v) if v.eq_ignore_ascii_case("DESC") || v.eq_ignore_ascii_case("DESCENDING") => {
            Ok(true)
        }
        Some(v) => Err(ApiError::validation(vec![ValidationError::new(
            "sortOrder",
            "INVALID_SORT_ORDER",
            format!("query parameter sortOrder \"{v}\" must be ASC or DESC"),
        )])),
    }
}

// ---- handlers ----

/// Lists the account's definitions, filtered by `searchString` (contained in `name`).
#[utoipa::path(get, path = "/events/v3/event-definitions", tag = "event-definitions",
    params(("after" = Option<String>, Query), ("limit" = Option<usize>, Query),
        ("searchString" = Option<String>, Query), ("includeProperties" = Option<bool>, Query),
        ("sortOrder" = Option<String>, Query, description = "ASC (default) or DESC, by name")),
    security(("bearer" = [])),
    responses((status = 200, body = CollectionResponseWithTotalExternalBehavioralEventTypeDefinitionForwardPaging),
        (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn get_page(
    State(state): State<AppState>,
    caller: Caller,
    query: QueryPairs,
) -> Result<
    axum::Json<CollectionResponseWithTotalExternalBehavioralEventTypeDefinitionForwardPaging>,
    ApiError,
> {
    caller.require_any(&[DEFINITIONS_SCOPE])?;
    let limit = query.limit("limit", DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT)?;
    let include_properties = query.bool("includeProperties", false)?;
    let descending = descending(&query)?;
    let search = query
        .first("searchString")
        .map(|s| s.trim().to_lowercase())
        .filter(|s| !s.is_empty());
    let after = query
        .first("after")
        .map(str::trim)
        .filter(|a| !a.is_empty());

    let mut all = state.store.list_event_definitions(caller.account).await?;
    if let Some(s) = &search {
        all.retain(|d| d.definition.name.contains(s.as_str()));
    }
    // Sorted here by bytes, whatever collation the database sorts names with, so that the
    // `after` cursor means the same on both backends.
    all.sort_by(|a, b| a.definition.name.cmp(&b.definition.name));
    if descending {
        all.reverse();
    }
    let total = all.len();
    let start = match after {
        None => 0,
        Some(a) => all
            .iter()
            .position(|d| {
                let name = d.definition.name.as_str();
                if descending {
                    name < a
                } else {
                    name > a
                }
            })
            .unwrap_or(all.len()),
    };
    let rest = &all[start..];
    let page = &rest[..rest.len().min(limit)];
    let next = page
        .last()
        .filter(|_| rest.len() > limit)
        .map(|d| d.definition.name.clone());

    let mut names: HashMap<ObjectTypeId, String> = HashMap::new();
    let mut results = Vec::with_capacity(page.len());
    for stored in page {
        let type_id = stored.definition.primary_object_type_id;
        let primary = match names.get(&type_id) {
            Some(n) => n.clone(),
            None => {
                let n = primary_object_name(&state, caller.account, type_id).await?;
                names.insert(type_id, n.clone());
                n
            }
        };
        results.push(definition_out(
            caller.account,
            stored,
            primary,
            include_properties,
        ));
    }
    let paging = next.map(|after| {
        let mut pairs = vec![("after", after.clone()), ("limit", limit.to_string())];
        if let Some(s) = &search {
            pairs.push(("searchString", s.clone()));
        }
        if include_properties {
            pairs.push(("includeProperties", "true".to_owned()));
        }
        if descending {
            pairs.push(("sortOrder", "DESC".to_owned()));
        }
        let query = serde_urlencoded::to_string(&pairs).unwrap_or_default();
        ForwardPaging {
            next: NextPage {
                after,
                link: format!("{BASE}?{query}"),
            },
        }
    });
    Ok(axum::Json(
        CollectionResponseWithTotalExternalBehavioralEventTypeDefinitionForwardPaging {
            total,
            results,
            paging,
        },
    ))
}

/// Creates a definition with its custom properties.
#[utoipa::path(post, path = "/events/v3/event-definitions", tag = "event-definitions",
    request_body = ExternalBehavioralEventTypeDefinitionEgg, security(("bearer" = [])),
    responses((status = 201, body = ExternalBehavioralEventTypeDefinition,
            headers(("Location" = String, description = "The new definition's URL"))),
        (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<ExternalBehavioralEventTypeDefinitionEgg>,
) -> Result<
    (
        StatusCode,
        [(axum::http::HeaderName, String); 1],
        axum::Json<ExternalBehavioralEventTypeDefinition>,
    ),
    ApiError,
> {
    caller.require_any(&[DEFINITIONS_SCOPE])?;
    let mut problems: Vec<ValidationError> = Vec::new();
    let label = parse_label("label", body.label.as_deref())
        .map_err(|e| problems.push(e))
        .ok();
    let name = match body
        .name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
    {
        Some(n) => parse_internal_name("name", n)
            .map_err(|e| problems.push(e))
            .ok(),
        None => label.as_deref().map(name_from_label),
    };
    let inputs: Vec<EventPropertyInput> = body
        .property_definitions
        .iter()
        .map(property_input)
        .collect();
    let properties = match parse_event_properties(&inputs) {
        Ok(p) => Some(p),
        Err(DomainError::Invalid(v)) => {
            problems.extend(v);
            None
        }
        Err(e) => return Err(e.into()),
    };
    let primary_raw = body.primary_object.as_deref().unwrap_or("CONTACT");
    let primary = match resolve_primary(&state, &caller, primary_raw).await? {
        Ok(p) => Some(p),
        Err(e) => {
            problems.push(e);
            None
        }
    };
    let description = chronik_domain::custom_events::definition::parse_description(
        "description",
        body.description.as_deref(),
    );
    let description = description
        .map_err(|e| problems.push(e))
        .unwrap_or_default();
    let (Some(label), Some(name), Some(properties), Some(primary)) =
        (label, name, properties, primary)
    else {
        return Err(ApiError::validation(problems));
    };
    let mut definition = EventDefinition {
        name,
        label,
        description,
        primary_object_type_id: primary.type_id,
        include_default_properties: body.include_default_properties.unwrap_or(true),
        properties,
        custom_matching_id: None,
    };
    if let Some(mapping) = &body.custom_matching_id {
        let rule = mapping
            .primary_object_rule
            .as_ref()
            .map(|r| CustomMatchingIdInput {
                target_object_property_name: r.target_object_property_name.clone(),
                event_property_name: r.event_property_name.clone(),
            });
        match parse_custom_matching_id(
            rule.as_ref(),
            &definition,
            &primary.singular,
            &primary.unique_targets,
        ) {
            Ok(m) => definition.custom_matching_id = Some(m),
            Err(DomainError::Invalid(v)) => problems.extend(v),
            Err(e) => return Err(e.into()),
        }
    }
    if !problems.is_empty() {
        return Err(ApiError::validation(problems));
    }

    let max = state.config.max_event_definitions;
    let stored = state
        .store
        .create_event_definition(caller.account, &definition, max, Utc::now())
        .await
        .map_err(|e| match e {
            StoreError::Conflict { .. } => ApiError::new(
                Category::Conflict,
                format!(
                    "An event definition named \"{}\" exists or existed in this account; a deleted definition's name is never reused. Choose another name.",
                    definition.name
                ),
            ),
            StoreError::QuotaExceeded { limit, .. } => quota_exceeded(limit),
            e => e.into(),
        })?;
    let out = full_definition(&state, caller.account, &stored).await?;
    Ok((
        StatusCode::CREATED,
        [(LOCATION, format!("{BASE}/{}", stored.definition.name))],
        axum::Json(out),
    ))
}

/// 400 for an account that already has as many definitions as it may (seed: 500 by default;
/// the operator may configure another number).
fn quota_exceeded(limit: u64) -> ApiError {
    let message = format!(
        "This account already has {limit} event definitions, the most it may have; delete one before creating another."
    );
    ApiError {
        category: Category::ValidationError,
        message: message.clone(),
        errors: vec![ErrorDetail {
            message,
            in_: None,
            code: Some("TOO_MANY_DEFINITIONS".to_owned()),
            context: Some(BTreeMap::from([(
                "limit".to_owned(),
                vec![limit.to_string()],
            )])),
        }],
        context: None,
    }
}

/// One definition, with all its properties.
#[utoipa::path(get, path = "/events/v3/event-definitions/{eventName}", tag = "event-definitions",
    params(("eventName" = String, Path, description = "The definition's short name")),
    security(("bearer" = [])),
    responses((status = 200, body = ExternalBehavioralEventTypeDefinition),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_by_name(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<axum::Json<ExternalBehavioralEventTypeDefinition>, ApiError> {
    caller.require_any(&[DEFINITIONS_SCOPE])?;
    let stored = load(&state, &caller, &name).await?;
    Ok(axum::Json(
        full_definition(&state, caller.account, &stored).await?,
    ))
}

/// Changes a definition's label or description; its name and primary object never change.
/// Answers 201, as HubSpot's spec declares.
#[utoipa::path(patch, path = "/events/v3/event-definitions/{eventName}", tag = "event-definitions",
    params(("eventName" = String, Path, description = "The definition's short name")),
    request_body = ExternalBehavioralEventTypeDefinitionPatch, security(("bearer" = [])),
    responses((status = 201, body = ExternalBehavioralEventTypeDefinition),
        (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    Json(body): Json<ExternalBehavioralEventTypeDefinitionPatch>,
) -> Result<
    (
        StatusCode,
        axum::Json<ExternalBehavioralEventTypeDefinition>,
    ),
    ApiError,
> {
    caller.require_any(&[DEFINITIONS_SCOPE])?;
    let stored = load(&state, &caller, &name).await?;
    let next = stored.definition.clone();
    let mut problems = Problems::new();
    if let Some(new_name) = body.name.as_deref().map(str::trim) {
        if new_name != next.name {
            problems.push(ValidationError::new(
                "name",
                "IMMUTABLE",
                format!(
                    "name of event \"{}\" cannot change (to \"{new_name}\"); create a new event definition instead",
                    next.name
                ),
            ));
        }
    }
    if let Some(raw) = &body.primary_object {
        let same = matches!(
            resolve_primary(&state, &caller, raw).await?,
            Ok(p) if p.type_id == next.primary_object_type_id
        );
        if !same {
            let current =
                primary_object_name(&state, caller.account, next.primary_object_type_id).await?;
            problems.push(ValidationError::new(
                "primaryObject",
                "IMMUTABLE",
                format!(
                    "primaryObject of event \"{}\" is {current} and cannot change (to \"{raw}\"); create a new event definition instead",
                    next.name
                ),
            ));
        }
    }
    let label = match &body.label {
        Some(label) => match parse_label("label", Some(label)) {
            Ok(l) => Some(l),
            Err(e) => {
                problems.push(e);
                None
            }
        },
        None => None,
    };
    let checked = chronik_domain::custom_events::definition::parse_description(
        "description",
        body.description.as_deref(),
    );
    checked.err().into_iter().for_each(|e| problems.push(e));
    problems.finish(())?;
    let description = body.description;
    let change: DefinitionChange = Box::new(move |current| {
        let mut next = current.clone();
        if let Some(label) = label {
            next.label = label;
        }
        if let Some(description) = description {
            next.description = description;
        }
        Ok(next)
    });
    let saved = modify(&state, &caller, &name, change).await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(full_definition(&state, caller.account, &saved).await?),
    ))
}

/// Deletes a definition. Its name stays taken for ever, and its completions go with it.
#[utoipa::path(delete, path = "/events/v3/event-definitions/{eventName}", tag = "event-definitions",
    params(("eventName" = String, Path, description = "The definition's short name")),
    security(("bearer" = [])),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn archive(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require_any(&[DEFINITIONS_SCOPE])?;
    state
        .store
        .delete_event_definition(caller.account, &name, Utc::now())
        .await
        .map_err(|e| match e {
            StoreError::NotFound => not_found(&name),
            e => e.into(),
        })?;
    Ok(StatusCode::NO_CONTENT)
}

/// Adds a custom property (at most 50 per definition).
#[utoipa::path(post, path = "/events/v3/event-definitions/{eventName}/property", tag = "event-definitions",
    params(("eventName" = String, Path, description = "The definition's short name")),
    request_body = ExternalBehavioralEventPropertyCreate, security(("bearer" = [])),
    responses((status = 201, body = Property), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create_property(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    Json(body): Json<ExternalBehavioralEventPropertyCreate>,
) -> Result<(StatusCode, axum::Json<Property>), ApiError> {
    caller.require_any(&[DEFINITIONS_SCOPE])?;
    let mut problems = Problems::new();
    let property = parse_event_property("", &property_input(&body), &mut problems);
    let property = problems
        .finish(property)?
        .ok_or_else(|| ApiError::internal(&"a property was refused without a reason"))?;
    let property_name = property.name.clone();
    let saved = modify(
        &state,
        &caller,
        &name,
        Box::new(move |current| add_event_property(current, property)),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(property_of(&saved.definition, &property_name)?),
    ))
}

/// Changes a custom property's label, description or options. Answers 201, as HubSpot's spec
/// declares.
#[utoipa::path(patch, path = "/events/v3/event-definitions/{eventName}/property/{propertyName}", tag = "event-definitions",
    params(("eventName" = String, Path, description = "The definition's short name"), ("propertyName" = String, Path)),
    request_body = ExternalBehavioralEventPropertyDefinitionPatch, security(("bearer" = [])),
    responses((status = 201, body = Property), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn update_property(
    State(state): State<AppState>,
    caller: Caller,
    Path((name, property_name)): Path<(String, String)>,
    Json(body): Json<ExternalBehavioralEventPropertyDefinitionPatch>,
) -> Result<(StatusCode, axum::Json<Property>), ApiError> {
    caller.require_any(&[DEFINITIONS_SCOPE])?;
    let patch = EventPropertyPatch {
        label: body.label,
        description: body.description,
        options: body.options.as_deref().map(option_pairs),
        property_type: body.property_type,
    };
    let changed = property_name.clone();
    let saved = modify(
        &state,
        &caller,
        &name,
        Box::new(move |current| update_event_property(current, &changed, &patch)),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(property_of(&saved.definition, &property_name)?),
    ))
}

/// Deletes a custom property.
#[utoipa::path(delete, path = "/events/v3/event-definitions/{eventName}/property/{propertyName}", tag = "event-definitions",
    params(("eventName" = String, Path, description = "The definition's short name"), ("propertyName" = String, Path)),
    security(("bearer" = [])),
    responses((status = 204), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn archive_property(
    State(state): State<AppState>,
    caller: Caller,
    Path((name, property_name)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    caller.require_any(&[DEFINITIONS_SCOPE])?;
    modify(
        &state,
        &caller,
        &name,
        Box::new(move |current| remove_event_property(current, &property_name)),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
