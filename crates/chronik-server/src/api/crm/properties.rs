//! `/crm/v3/properties/{objectType}`: the type's property definitions: HubSpot's defaults
//! (read-only) and the account's custom ones, which stamping and records write to.

use axum::extract::State;
use axum::http::StatusCode;
use chronik_domain::crm::property::PropertyDefinition;
use chronik_domain::crm::schema::{
    apply_property_patch, check_new_property, OptionInput, PropertyInput, PropertyPatch,
};
use chronik_domain::ValidationError;
use chronik_store::{StoreError, StoredProperty};
use chrono::Utc;

use super::wire::*;
use super::{resolve_checked, schema_scopes, Access, ResolvedType};
use crate::auth::Caller;
use crate::error::{ApiError, Category, ErrorBody};
use crate::extract::{Json, Path, QueryPairs};
use crate::state::AppState;

fn option_inputs(options: &[OptionWire]) -> Vec<OptionInput> {
    options
        .iter()
        .map(|o| OptionInput {
            label: o.label.clone(),
            value: o.value.clone(),
            display_order: o.display_order,
            hidden: o.hidden,
            description: o.description.clone(),
        })
        .collect()
}

/// The domain's view of a `PropertyCreate`.
pub(super) fn property_input(p: &PropertyCreate) -> PropertyInput {
    PropertyInput {
        name: p.name.clone(),
        label: p.label.clone(),
        property_type: p.property_type.clone(),
        field_type: p.field_type.clone(),
        group_name: p.group_name.clone(),
        description: p.description.clone(),
        options: option_inputs(&p.options),
        has_unique_value: p.has_unique_value,
        hidden: p.hidden,
        display_order: p.display_order,
        form_field: p.form_field,
    }
}

/// Shapes a definition as HubSpot's `Property`.
pub(super) fn property_out(d: &PropertyDefinition, stored: Option<&StoredProperty>) -> Property {
    Property {
        name: d.name.clone(),
        label: d.label.clone(),
        property_type: d.property_type.as_str(),
        field_type: d.field_type.clone(),
        description: d.description.clone(),
        group_name: d.group_name.clone(),
        options: d.options.iter().map(OptionWire::from).collect(),
        display_order: d.display_order,
        calculated: false,
        external_options: false,
        has_unique_value: d.has_unique_value,
        hidden: d.hidden,
        hubspot_defined: d.hubspot_defined,
        modification_metadata: ModificationMetadata {
            archivable: !d.hubspot_defined,
            read_only_definition: d.hubspot_defined,
            read_only_value: d.read_only_value,
        },
        form_field: d.form_field,
        created_at: stored.map(|s| s.created_at),
        updated_at: stored.map(|s| s.updated_at),
        archived: stored.is_some_and(|s| s.archived_at.is_some()),
        archived_at: stored.and_then(|s| s.archived_at),
    }
}

async fn resolve(
    state: &AppState,
    caller: &Caller,
    object_type: &str,
    access: Access,
) -> Result<ResolvedType, ApiError> {
    resolve_checked(state, caller, object_type, schema_scopes, access).await
}

fn property_not_found(name: &str) -> ApiError {
    ApiError::not_found(format!(
        "Property \"{name}\" does not exist on this object type."
    ))
}

/// Every property of a type (or, with `archived=true`, its archived custom properties).
#[utoipa::path(get, path = "/crm/v3/properties/{objectType}", tag = "crm-properties",
    params(("objectType" = String, Path), ("archived" = Option<bool>, Query)),
    security(("bearer" = [])),
    responses((status = 200, body = PropertyCollection), (status = 404, body = ErrorBody)))]
pub async fn get_all(
    State(state): State<AppState>,
    caller: Caller,
    Path(object_type): Path<String>,
    query: QueryPairs,
) -> Result<axum::Json<PropertyCollection>, ApiError> {
    let t = resolve(&state, &caller, &object_type, Access::Read).await?;
    let results = if query.bool("archived", false)? {
        let archived = state
            .store
            .list_properties(caller.account, t.type_id, true)
            .await?;
        archived
            .iter()
            .map(|s| property_out(&s.definition, Some(s)))
            .collect()
    } else {
        t.properties
            .iter()
            .map(|d| property_out(d, t.custom.iter().find(|s| s.definition.name == d.name)))
            .collect()
    };
    Ok(axum::Json(PropertyCollection { results }))
}

/// One property.
#[utoipa::path(get, path = "/crm/v3/properties/{objectType}/{propertyName}", tag = "crm-properties",
    params(("objectType" = String, Path), ("propertyName" = String, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = Property), (status = 404, body = ErrorBody)))]
pub async fn get_by_name(
    State(state): State<AppState>,
    caller: Caller,
    Path((object_type, name)): Path<(String, String)>,
) -> Result<axum::Json<Property>, ApiError> {
    let t = resolve(&state, &caller, &object_type, Access::Read).await?;
    let d = t
        .properties
        .get(&name)
        .ok_or_else(|| property_not_found(&name))?;
    Ok(axum::Json(property_out(
        d,
        t.custom.iter().find(|s| s.definition.name == name),
    )))
}

/// Creates a custom property.
#[utoipa::path(post, path = "/crm/v3/properties/{objectType}", tag = "crm-properties",
    params(("objectType" = String, Path)),
    request_body = PropertyCreate, security(("bearer" = [])),
    responses((status = 201, body = Property), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Path(object_type): Path<String>,
    Json(body): Json<PropertyCreate>,
) -> Result<(StatusCode, axum::Json<Property>), ApiError> {
    let t = resolve(&state, &caller, &object_type, Access::Write).await?;
    let existing: Vec<PropertyDefinition> = t.properties.iter().cloned().collect();
    let def = check_new_property(&property_input(&body), &existing)?;
    if let Some(prefix) = t.app_property_prefix() {
        if def.name.starts_with(&prefix) {
            return Err(ApiError::validation(vec![ValidationError::new(
                "name",
                "RESERVED_NAME",
                format!("name \"{}\": names starting with {prefix} belong to the app that defines this object; choose another name", def.name),
            )]));
        }
    }
    if t.properties.get(&def.name).is_some() {
        return Err(ApiError::new(
            Category::Conflict,
            format!("A property named \"{}\" already exists.", def.name),
        ));
    }
    let stored = state
        .store
        .create_property(caller.account, t.type_id, &def, Utc::now())
        .await
        .map_err(|e| match e {
            StoreError::Conflict { .. } => ApiError::new(
                Category::Conflict,
                format!(
                    "A property named \"{}\" already exists (it may be archived).",
                    def.name
                ),
            ),
            e => e.into(),
        })?;
    Ok((
        StatusCode::CREATED,
        axum::Json(property_out(&stored.definition, Some(&stored))),
    ))
}

/// Changes a custom property; its type cannot change.
#[utoipa::path(patch, path = "/crm/v3/properties/{objectType}/{propertyName}", tag = "crm-properties",
    params(("objectType" = String, Path), ("propertyName" = String, Path)),
    request_body = PropertyUpdate, security(("bearer" = [])),
    responses((status = 200, body = Property), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path((object_type, name)): Path<(String, String)>,
    Json(body): Json<PropertyUpdate>,
) -> Result<axum::Json<Property>, ApiError> {
    let t = resolve(&state, &caller, &object_type, Access::Write).await?;
    let current = t
        .properties
        .get(&name)
        .ok_or_else(|| property_not_found(&name))?;
    refuse_app_defined(&t, &name)?;
    if body.calculation_formula.is_some() {
        return Err(ApiError::validation(vec![ValidationError::new(
            "calculationFormula",
            "NOT_SUPPORTED",
            "calculationFormula: calculated properties are not supported",
        )]));
    }
    let patch = PropertyPatch {
        label: body.label,
        description: body.description,
        group_name: body.group_name,
        options: body.options.as_deref().map(option_inputs),
        hidden: body.hidden,
        display_order: body.display_order,
        form_field: body.form_field,
        property_type: body.property_type,
        field_type: body.field_type,
    };
    let next = apply_property_patch(current, &patch)?;
    let stored = state
        .store
        .update_property(caller.account, t.type_id, &next, Utc::now())
        .await
        .map_err(|e| match e {
            StoreError::NotFound => property_not_found(&name),
            e => e.into(),
        })?;
    Ok(axum::Json(property_out(&stored.definition, Some(&stored))))
}

/// Archives a custom property; HubSpot's own cannot be archived.
#[utoipa::path(delete, path = "/crm/v3/properties/{objectType}/{propertyName}", tag = "crm-properties",
    params(("objectType" = String, Path), ("propertyName" = String, Path)),
    security(("bearer" = [])),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn archive(
    State(state): State<AppState>,
    caller: Caller,
    Path((object_type, name)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let t = resolve(&state, &caller, &object_type, Access::Write).await?;
    let current = t
        .properties
        .get(&name)
        .ok_or_else(|| property_not_found(&name))?;
    refuse_app_defined(&t, &name)?;
    if current.hubspot_defined {
        return Err(ApiError::new(
            Category::Forbidden,
            format!("Property \"{name}\" is defined by HubSpot and cannot be archived."),
        ));
    }
    state
        .store
        .archive_property(caller.account, t.type_id, &name, Utc::now())
        .await
        .map_err(|e| match e {
            StoreError::NotFound => property_not_found(&name),
            e => e.into(),
        })?;
    Ok(StatusCode::NO_CONTENT)
}

/// An app object's own properties change only with its app's project.
fn refuse_app_defined(t: &ResolvedType, name: &str) -> Result<(), ApiError> {
    if t.app_defined(name) {
        return Err(ApiError::new(
            Category::Forbidden,
            format!("Property \"{name}\" is defined by its app's project; change it there and deploy the project again (chronik project upload)."),
        ));
    }
    Ok(())
}
