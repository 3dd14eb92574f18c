//! Object types as every API family sees them: a `{objectType}` path segment or an event
//! type's object type resolved in the caller's account ([`resolve_type`]: standard types by
//! name, singular or plural, or type id; custom objects by `2-<n>` or `p{portalId}_{name}`; app
//! objects by `4-<n>` or `a{appId}_{NAME}` where the app is installed), with its property
//! definitions, and the scopes that reach its records and schemas (SPEC.md, issue 5).
//!
//! The CRM routes (`api/crm/`), the custom event definitions and reads (`api/custom_events/`)
//! and the timeline families call this module; none of them imports another family's handlers.

use chronik_domain::crm::app_object::property_prefix;
use chronik_domain::crm::object::PropertySet;
use chronik_domain::crm::object_type::{
    fully_qualified_name, ObjectTypeId, ObjectTypeRef, StandardType,
};
use chronik_domain::crm::property::{
    custom_object_system_properties, standard_properties, PropertyDefinition,
};
use chronik_store::{
    AppObjectKey, SchemaKey, StoreError, StoredAppObject, StoredProperty, StoredSchema,
};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::AppState;

/// Reading or writing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// `…read`
    Read,
    /// `…write`
    Write,
}

impl Access {
    fn suffix(self) -> &'static str {
        match self {
            Access::Read => "read",
            Access::Write => "write",
        }
    }
}

/// An object type resolved for one account: its id, its definitions and its schema.
pub struct ResolvedType {
    /// The objectTypeId.
    pub type_id: ObjectTypeId,
    /// Set for the four standard types.
    pub standard: Option<StandardType>,
    /// Set for custom objects, and for app objects (their schema as records see it).
    pub schema: Option<StoredSchema>,
    /// Set for app objects.
    pub app_object: Option<StoredAppObject>,
    /// Every property definition (default and custom).
    pub properties: PropertySet,
    /// The custom properties as stored (for the properties API).
    pub custom: Vec<StoredProperty>,
}

/// What a path segment resolved to, before properties are read.
struct Found {
    type_id: ObjectTypeId,
    standard: Option<StandardType>,
    schema: Option<StoredSchema>,
    app_object: Option<StoredAppObject>,
    /// Properties of the type itself (defaults, or an app object's own).
    own: Vec<PropertyDefinition>,
}

impl ResolvedType {
    /// The singular label used in messages (`contact`, `car`).
    pub fn singular(&self) -> String {
        match (&self.standard, &self.schema) {
            (Some(t), _) => t.singular().to_owned(),
            (None, Some(s)) => s.definition.labels.singular.to_lowercase(),
            (None, None) => "record".to_owned(),
        }
    }

    /// Properties the free-text `query` of a search looks in.
    pub fn searchable(&self) -> Vec<&str> {
        match (&self.standard, &self.schema) {
            (Some(StandardType::Contacts), _) => vec![
                "firstname",
                "lastname",
                "email",
                "phone",
                "company",
                "website",
            ],
            (Some(StandardType::Companies), _) => vec!["name", "domain", "website", "phone"],
            (Some(StandardType::Deals), _) => vec!["dealname"],
            (Some(StandardType::Tickets), _) => vec!["subject", "content"],
            (None, Some(s)) => s
                .definition
                .searchable_properties
                .iter()
                .map(String::as_str)
                .collect(),
            (None, None) => Vec::new(),
        }
    }

    /// The prefix of an app object's own properties (`a{appId}_`), which the account's
    /// properties may not use, so that a later deploy can add any name.
    pub fn app_property_prefix(&self) -> Option<String> {
        self.app_object.as_ref().map(|a| property_prefix(a.app))
    }

    /// Whether `name` is a property of an app object's own, which only its app's project
    /// changes.
    pub fn app_defined(&self, name: &str) -> bool {
        self.app_object.as_ref().is_some_and(|a| {
            let prefix = property_prefix(a.app);
            name.strip_prefix(&prefix)
                .is_some_and(|n| a.definition.properties.iter().any(|p| p.name == n))
        })
    }

    /// Properties a create must set (custom objects' `requiredProperties`).
    pub fn required(&self) -> &[String] {
        self.schema
            .as_ref()
            .map(|s| s.definition.required_properties.as_slice())
            .unwrap_or(&[])
    }
}

/// The scopes, any one of which grants `access` to records of a type (SPEC.md, issue 5:
/// `crm.objects.<type>.read|write`, `crm.objects.custom.*` for custom objects, and HubSpot's
/// `tickets` scope for tickets).
pub fn object_scopes(standard: Option<StandardType>, access: Access) -> Vec<String> {
    match standard {
        Some(StandardType::Tickets) => vec![
            "tickets".to_owned(),
            format!("crm.objects.tickets.{}", access.suffix()),
        ],
        Some(t) => vec![format!("crm.objects.{}.{}", t.plural(), access.suffix())],
        None => vec![format!("crm.objects.custom.{}", access.suffix())],
    }
}

/// The scopes for property definitions and schemas of a type (`crm.schemas.<type>.*`).
pub fn schema_scopes(standard: Option<StandardType>, access: Access) -> Vec<String> {
    match standard {
        Some(StandardType::Tickets) => vec![
            "tickets".to_owned(),
            format!("crm.schemas.tickets.{}", access.suffix()),
        ],
        Some(t) => vec![format!("crm.schemas.{}.{}", t.plural(), access.suffix())],
        None => vec![format!("crm.schemas.custom.{}", access.suffix())],
    }
}

/// Checks that `caller` holds one of `scopes`.
pub fn require(caller: &Caller, scopes: &[String]) -> Result<(), ApiError> {
    let refs: Vec<&str> = scopes.iter().map(String::as_str).collect();
    caller.require_any(&refs)
}

/// Resolves a `{objectType}` path segment in the caller's account, without checking scopes.
pub async fn resolve_type(
    state: &AppState,
    caller: &Caller,
    segment: &str,
) -> Result<ResolvedType, ApiError> {
    let account = caller.account;
    let found = match ObjectTypeRef::parse(segment, account.0) {
        ObjectTypeRef::Standard(t) => Found {
            type_id: t.type_id(),
            standard: Some(t),
            schema: None,
            app_object: None,
            own: standard_properties(t),
        },
        ObjectTypeRef::CustomTypeId(n) => custom_type(
            lookup_schema(
                state,
                caller,
                SchemaKey::TypeId(ObjectTypeId::Custom(n)),
                segment,
            )
            .await?,
        ),
        ObjectTypeRef::CustomName(name) => {
            custom_type(lookup_schema(state, caller, SchemaKey::Name(name), segment).await?)
        }
        ObjectTypeRef::AppTypeId(n) => {
            app_type(lookup_app_object(state, caller, AppObjectKey::Number(n), segment).await?)
        }
        ObjectTypeRef::AppName { app, name, custom } => {
            match state
                .store
                .app_object_in_account(account, &AppObjectKey::Name(app, name))
                .await
            {
                Ok(a) => app_type(a),
                Err(StoreError::NotFound) => custom_type(
                    lookup_schema(state, caller, SchemaKey::Name(custom), segment).await?,
                ),
                Err(e) => return Err(e.into()),
            }
        }
    };
    let custom = state
        .store
        .list_properties(account, found.type_id, false)
        .await?;
    let mut defs = found.own;
    if let Some(s) = &found.schema {
        // A custom object or app object shows its display properties by default.
        let mut shown: Vec<&String> = s.definition.secondary_display_properties.iter().collect();
        shown.extend(s.definition.primary_display_property.iter());
        for d in &mut defs {
            d.returned_by_default |= shown.contains(&&d.name);
        }
        defs.extend(custom.iter().map(|p| {
            let mut d = p.definition.clone();
            d.returned_by_default = shown.contains(&&d.name);
            d
        }));
    } else {
        defs.extend(custom.iter().map(|p| p.definition.clone()));
    }
    let (created, modified) = match found.standard {
        Some(t) => ("createdate", t.last_modified_property()),
        None => ("hs_createdate", "hs_lastmodifieddate"),
    };
    Ok(ResolvedType {
        type_id: found.type_id,
        standard: found.standard,
        schema: found.schema,
        app_object: found.app_object,
        properties: PropertySet::new(defs, created, modified),
        custom,
    })
}

fn custom_type(schema: StoredSchema) -> Found {
    Found {
        type_id: schema.type_id,
        standard: None,
        schema: Some(schema),
        app_object: None,
        own: custom_object_system_properties(),
    }
}

/// An app object as records see it: a schema of its own (prefixed property names) beside the
/// stored type.
fn app_type(app_object: StoredAppObject) -> Found {
    let (definition, properties) = app_object.definition.schema_for(app_object.app);
    let schema = StoredSchema {
        type_id: app_object.type_id(),
        id: app_object.type_id().number().to_string(),
        definition,
        created_at: app_object.created_at,
        updated_at: app_object.updated_at,
        archived_at: None,
        associations: Vec::new(),
    };
    let mut own = custom_object_system_properties();
    own.extend(properties);
    Found {
        type_id: schema.type_id,
        standard: None,
        schema: Some(schema),
        app_object: Some(app_object),
        own,
    }
}

async fn lookup_app_object(
    state: &AppState,
    caller: &Caller,
    key: AppObjectKey,
    segment: &str,
) -> Result<StoredAppObject, ApiError> {
    match state.store.app_object_in_account(caller.account, &key).await {
        Ok(a) => Ok(a),
        Err(StoreError::NotFound) => Err(ApiError::not_found(format!(
            "Unable to infer object type from: {segment}. No app installed in this account defines an app object {segment}; deploy the app's project (chronik project upload) and install the app."
        ))),
        Err(e) => Err(e.into()),
    }
}

async fn lookup_schema(
    state: &AppState,
    caller: &Caller,
    key: SchemaKey,
    segment: &str,
) -> Result<StoredSchema, ApiError> {
    match state.store.get_schema(caller.account, &key).await {
        Ok(s) => Ok(s),
        Err(StoreError::NotFound) => Err(ApiError::not_found(format!(
            "Unable to infer object type from: {segment}. Use contacts, companies, deals, tickets, a custom object's objectTypeId (2-…) or its fully qualified name ({}).",
            fully_qualified_name(caller.account.0, "<name>")
        ))),
        Err(e) => Err(e.into()),
    }
}

/// Resolves `{objectType}` and checks the object scope for `access`.
pub async fn resolve_objects(
    state: &AppState,
    caller: &Caller,
    segment: &str,
    access: Access,
) -> Result<ResolvedType, ApiError> {
    resolve_checked(state, caller, segment, object_scopes, access).await
}

/// Resolves `{objectType}` after checking the scope that `scopes` names for it. The scope
/// follows from the path alone, so it is checked before the store is asked about the type:
/// a caller without it never learns which custom types exist.
pub async fn resolve_checked(
    state: &AppState,
    caller: &Caller,
    segment: &str,
    scopes: fn(Option<StandardType>, Access) -> Vec<String>,
    access: Access,
) -> Result<ResolvedType, ApiError> {
    let standard = match ObjectTypeRef::parse(segment, caller.account.0) {
        ObjectTypeRef::Standard(t) => Some(t),
        _ => None,
    };
    require(caller, &scopes(standard, access))?;
    resolve_type(state, caller, segment).await
}
