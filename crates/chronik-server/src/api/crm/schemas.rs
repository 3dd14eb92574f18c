//! `/crm-object-schemas/v3/schemas` (the path both SDKs call; `/crm/v3/schemas` is rewritten
//! to it before routing, see `crate::serve`): custom object schemas.

use axum::extract::State;
use axum::http::StatusCode;
use chronik_domain::crm::object_type::{fully_qualified_name, ObjectTypeId, ObjectTypeRef};
use chronik_domain::crm::property::custom_object_system_properties;
use chronik_domain::crm::schema::{
    apply_schema_patch, check_association, check_schema, AssociationInput, SchemaInput, SchemaPatch,
};
use chronik_domain::AccountId;
use chronik_store::{SchemaKey, StoreError, StoredSchema};
use chrono::Utc;

use super::properties::{property_input, property_out};
use super::wire::*;
use super::{require, Access};
use crate::auth::Caller;
use crate::error::{ApiError, Category, ErrorBody};
use crate::extract::{Json, Path, QueryPairs};
use crate::state::AppState;

fn scopes(access: Access) -> Vec<String> {
    super::schema_scopes(None, access)
}

async fn schema_out(
    state: &AppState,
    caller: &Caller,
    s: StoredSchema,
) -> Result<ObjectSchema, ApiError> {
    let custom = state
        .store
        .list_properties(caller.account, s.type_id, false)
        .await?;
    let mut properties: Vec<Property> = custom_object_system_properties()
        .iter()
        .map(|d| property_out(d, None))
        .collect();
    properties.extend(custom.iter().map(|p| property_out(&p.definition, Some(p))));
    let d = s.definition;
    Ok(ObjectSchema {
        id: s.id,
        fully_qualified_name: fully_qualified_name(caller.account.0, &d.name),
        object_type_id: s.type_id.to_string(),
        name: d.name,
        labels: LabelsWire {
            singular: Some(d.labels.singular),
            plural: Some(d.labels.plural),
        },
        description: Some(d.description).filter(|d| !d.is_empty()),
        primary_display_property: d.primary_display_property,
        secondary_display_properties: d.secondary_display_properties,
        required_properties: d.required_properties,
        searchable_properties: d.searchable_properties,
        properties,
        associations: s
            .associations
            .into_iter()
            .map(|a| AssociationDefinition {
                id: a.id,
                from_object_type_id: a.from_type_id.to_string(),
                to_object_type_id: a.to_type_id.to_string(),
                name: a.name,
                created_at: a.created_at,
                updated_at: a.updated_at,
            })
            .collect(),
        meta_type: "PORTAL_SPECIFIC",
        archived: s.archived_at.is_some(),
        created_at: s.created_at,
        updated_at: s.updated_at,
    })
}

fn key(caller: &Caller, segment: &str) -> Result<SchemaKey, ApiError> {
    match ObjectTypeRef::parse(segment, caller.account.0) {
        ObjectTypeRef::CustomTypeId(n) => Ok(SchemaKey::TypeId(ObjectTypeId::Custom(n))),
        ObjectTypeRef::CustomName(name) | ObjectTypeRef::AppName { custom: name, .. } => {
            Ok(SchemaKey::Name(name))
        }
        ObjectTypeRef::AppTypeId(_) => Err(ApiError::new(
            Category::ValidationError,
            format!(
                "{segment} is an app object type: its app's project defines it (chronik project upload), not a custom object schema"
            ),
        )),
        ObjectTypeRef::Standard(t) => Err(ApiError::new(
            Category::ValidationError,
            format!(
                "{} is a standard object type; only custom object schemas are served here",
                t.plural()
            ),
        )),
    }
}

/// The type ids of the account's live custom object schemas: the custom types an association
/// may lead to.
async fn custom_type_ids(
    state: &AppState,
    account: AccountId,
) -> Result<Vec<ObjectTypeId>, ApiError> {
    Ok(state
        .store
        .list_schemas(account, false)
        .await?
        .into_iter()
        .map(|s| s.type_id)
        .collect())
}

async fn find(state: &AppState, caller: &Caller, segment: &str) -> Result<StoredSchema, ApiError> {
    let key = key(caller, segment)?;
    state
        .store
        .get_schema(caller.account, &key)
        .await
        .map_err(|e| match e {
            StoreError::NotFound => ApiError::not_found(format!(
                "No custom object schema {segment} exists in this account."
            )),
            e => e.into(),
        })
}

/// Every custom object schema of the account.
#[utoipa::path(get, path = "/crm-object-schemas/v3/schemas", tag = "crm-schemas",
    params(("archived" = Option<bool>, Query)),
    security(("bearer" = [])),
    responses((status = 200, body = SchemaCollection)))]
pub async fn get_all(
    State(state): State<AppState>,
    caller: Caller,
    query: QueryPairs,
) -> Result<axum::Json<SchemaCollection>, ApiError> {
    require(&caller, &scopes(Access::Read))?;
    let schemas = state
        .store
        .list_schemas(caller.account, query.bool("archived", false)?)
        .await?;
    let mut results = Vec::with_capacity(schemas.len());
    for s in schemas {
        results.push(schema_out(&state, &caller, s).await?);
    }
    Ok(axum::Json(SchemaCollection { results }))
}

/// Creates a custom object schema with its properties.
#[utoipa::path(post, path = "/crm-object-schemas/v3/schemas", tag = "crm-schemas",
    request_body = ObjectSchemaEgg, security(("bearer" = [])),
    responses((status = 201, body = ObjectSchema), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Json(egg): Json<ObjectSchemaEgg>,
) -> Result<(StatusCode, axum::Json<ObjectSchema>), ApiError> {
    require(&caller, &scopes(Access::Write))?;
    let input = SchemaInput {
        name: egg.name,
        labels: egg.labels.map(|l| (l.singular, l.plural)),
        description: egg.description,
        primary_display_property: egg.primary_display_property,
        secondary_display_properties: egg.secondary_display_properties,
        required_properties: egg.required_properties,
        searchable_properties: egg.searchable_properties,
        properties: egg.properties.iter().map(property_input).collect(),
        associated_objects: egg.associated_objects,
    };
    let known = custom_type_ids(&state, caller.account).await?;
    let (definition, properties) = check_schema(&input, &known)?;
    let stored = state
        .store
        .create_schema(caller.account, &definition, &properties, Utc::now())
        .await
        .map_err(|e| match e {
            StoreError::Conflict { .. } => ApiError::new(
                Category::Conflict,
                format!(
                    "A custom object schema named \"{}\" already exists in this account.",
                    definition.name
                ),
            ),
            e => e.into(),
        })?;
    Ok((
        StatusCode::CREATED,
        axum::Json(schema_out(&state, &caller, stored).await?),
    ))
}

/// One schema, by objectTypeId (`2-<n>`) or fully qualified name (`p{portalId}_{name}`).
#[utoipa::path(get, path = "/crm-object-schemas/v3/schemas/{objectType}", tag = "crm-schemas",
    params(("objectType" = String, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = ObjectSchema), (status = 404, body = ErrorBody)))]
pub async fn get_by_id(
    State(state): State<AppState>,
    caller: Caller,
    Path(object_type): Path<String>,
) -> Result<axum::Json<ObjectSchema>, ApiError> {
    require(&caller, &scopes(Access::Read))?;
    let s = find(&state, &caller, &object_type).await?;
    Ok(axum::Json(schema_out(&state, &caller, s).await?))
}

/// Changes a schema's labels, description and display, required and searchable properties.
#[utoipa::path(patch, path = "/crm-object-schemas/v3/schemas/{objectType}", tag = "crm-schemas",
    params(("objectType" = String, Path)),
    request_body = ObjectTypeDefinitionPatch, security(("bearer" = [])),
    responses((status = 200, body = ObjectSchema), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(object_type): Path<String>,
    Json(patch): Json<ObjectTypeDefinitionPatch>,
) -> Result<axum::Json<ObjectSchema>, ApiError> {
    require(&caller, &scopes(Access::Write))?;
    let current = find(&state, &caller, &object_type).await?;
    let names: Vec<String> = state
        .store
        .list_properties(caller.account, current.type_id, false)
        .await?
        .into_iter()
        .map(|p| p.definition.name)
        .collect();
    let next = apply_schema_patch(
        &current.definition,
        &names,
        &SchemaPatch {
            labels: patch.labels.map(|l| (l.singular, l.plural)),
            description: patch.description,
            clear_description: patch.clear_description == Some(true),
            primary_display_property: patch.primary_display_property,
            secondary_display_properties: patch.secondary_display_properties,
            required_properties: patch.required_properties,
            searchable_properties: patch.searchable_properties,
        },
    )?;
    let stored = state
        .store
        .update_schema(caller.account, current.type_id, &next, Utc::now())
        .await?;
    Ok(axum::Json(schema_out(&state, &caller, stored).await?))
}

/// Archives a schema; its records must be archived first.
#[utoipa::path(delete, path = "/crm-object-schemas/v3/schemas/{objectType}", tag = "crm-schemas",
    params(("objectType" = String, Path), ("archived" = Option<bool>, Query)),
    security(("bearer" = [])),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn archive(
    State(state): State<AppState>,
    caller: Caller,
    Path(object_type): Path<String>,
) -> Result<StatusCode, ApiError> {
    require(&caller, &scopes(Access::Write))?;
    let current = find(&state, &caller, &object_type).await?;
    state
        .store
        .archive_schema(caller.account, current.type_id, Utc::now())
        .await
        .map_err(|e| match e {
            StoreError::Conflict { .. } => ApiError::new(
                Category::Conflict,
                format!(
                    "Object type {} still has records; archive them before the schema.",
                    current.type_id
                ),
            ),
            e => e.into(),
        })?;
    Ok(StatusCode::NO_CONTENT)
}

/// Adds an association definition from the schema to another object type.
#[utoipa::path(post, path = "/crm-object-schemas/v3/schemas/{objectType}/associations", tag = "crm-schemas",
    params(("objectType" = String, Path)),
    request_body = AssociationDefinitionEgg, security(("bearer" = [])),
    responses((status = 201, body = AssociationDefinition), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn create_association(
    State(state): State<AppState>,
    caller: Caller,
    Path(object_type): Path<String>,
    Json(egg): Json<AssociationDefinitionEgg>,
) -> Result<(StatusCode, axum::Json<AssociationDefinition>), ApiError> {
    require(&caller, &scopes(Access::Write))?;
    let current = find(&state, &caller, &object_type).await?;
    let known = custom_type_ids(&state, caller.account).await?;
    let checked = check_association(
        current.type_id,
        &AssociationInput {
            from_object_type_id: egg.from_object_type_id,
            to_object_type_id: egg.to_object_type_id,
            name: egg.name,
        },
        &known,
    )?;
    let a = state
        .store
        .create_schema_association(
            caller.account,
            current.type_id,
            checked.to_type_id,
            checked.name.as_deref(),
            Utc::now(),
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(AssociationDefinition {
            id: a.id,
            from_object_type_id: a.from_type_id.to_string(),
            to_object_type_id: a.to_type_id.to_string(),
            name: a.name,
            created_at: a.created_at,
            updated_at: a.updated_at,
        }),
    ))
}
