//! Custom object schemas (api-reference §5.3) and custom property definitions: what the
//! properties API and the schemas API accept, checked with every problem named.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::object_type::{ObjectTypeId, StandardType};
use super::property::{
    parse_label, parse_property_name, PropertyDefinition, PropertyOption, PropertyType,
    MAX_PROPERTY_LABEL_CHARS, MAX_PROPERTY_OPTIONS,
};
use crate::error::{DomainError, Problems, ValidationError};
use crate::text::{check_max_chars, parse_optional_text, MAX_DESCRIPTION_CHARS};

/// HubSpot: an object type can have at most 10 properties with unique values.
pub const MAX_UNIQUE_PROPERTIES: usize = 10;

/// Our own bound on a custom object's name, which becomes part of its fully qualified name.
pub const MAX_SCHEMA_NAME_CHARS: usize = 100;

/// Our own bound on the `name` of an association definition (HubSpot publishes none): the
/// same as a property's internal name, which it resembles.
pub const MAX_ASSOCIATION_NAME_CHARS: usize = 100;

/// A property definition as sent (`PropertyCreate`, `ObjectTypePropertyCreate`, and the
/// `properties` of an app object's config file, which reads it with serde).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PropertyInput {
    /// `name`.
    pub name: Option<String>,
    /// `label`.
    pub label: Option<String>,
    /// `type`.
    #[serde(rename = "type")]
    pub property_type: Option<String>,
    /// `fieldType`.
    pub field_type: Option<String>,
    /// `groupName`.
    pub group_name: Option<String>,
    /// `description`.
    pub description: Option<String>,
    /// `options`.
    #[serde(default)]
    pub options: Vec<OptionInput>,
    /// `hasUniqueValue`.
    pub has_unique_value: Option<bool>,
    /// `hidden`.
    pub hidden: Option<bool>,
    /// `displayOrder`.
    pub display_order: Option<i32>,
    /// `formField`.
    pub form_field: Option<bool>,
}

/// An enumeration option as sent.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OptionInput {
    /// `label`.
    pub label: Option<String>,
    /// `value`.
    pub value: Option<String>,
    /// `displayOrder`.
    pub display_order: Option<i32>,
    /// `hidden`.
    pub hidden: Option<bool>,
    /// `description`.
    pub description: Option<String>,
}

/// The value, or `None` with its problem recorded.
pub(super) fn push_err<T>(problems: &mut Problems, r: Result<T, ValidationError>) -> Option<T> {
    match r {
        Ok(v) => Some(v),
        Err(e) => {
            problems.push(e);
            None
        }
    }
}

fn parse_options(
    path: &str,
    options: &[OptionInput],
    problems: &mut Problems,
) -> Vec<PropertyOption> {
    if options.len() > MAX_PROPERTY_OPTIONS {
        problems.push(ValidationError::new(
            path,
            "TOO_MANY_OPTIONS",
            format!(
                "{path} has {} options; at most {MAX_PROPERTY_OPTIONS} are allowed",
                options.len()
            ),
        ));
    }
    let mut seen = BTreeSet::new();
    let mut parsed = Vec::new();
    for (i, o) in options.iter().enumerate() {
        let label = push_err(
            problems,
            parse_label(&format!("{path}[{i}].label"), o.label.as_deref()),
        );
        let value = match o.value.as_deref() {
            Some(v) if !v.is_empty() => push_err(
                problems,
                check_max_chars(&format!("{path}[{i}].value"), v, MAX_PROPERTY_LABEL_CHARS)
                    .map(|()| v.to_owned()),
            ),
            _ => {
                problems.push(ValidationError::required(&format!("{path}[{i}].value")));
                None
            }
        };
        let description = o.description.as_deref().and_then(|d| {
            push_err(
                problems,
                check_max_chars(
                    &format!("{path}[{i}].description"),
                    d,
                    MAX_DESCRIPTION_CHARS,
                )
                .map(|()| d.to_owned()),
            )
        });
        if let Some(v) = &value {
            if v.contains(';') {
                problems.push(ValidationError::new(
                    format!("{path}[{i}].value"),
                    "INVALID_FORMAT",
                    format!("{path}[{i}].value \"{v}\" may not contain ';', which separates checkbox values"),
                ));
            }
            if !seen.insert(v.clone()) {
                problems.push(ValidationError::new(
                    format!("{path}[{i}].value"),
                    "DUPLICATE_OPTION",
                    format!("{path}[{i}].value \"{v}\" appears twice"),
                ));
            }
        }
        if let (Some(label), Some(value)) = (label, value) {
            parsed.push(PropertyOption {
                label,
                value,
                display_order: o.display_order.unwrap_or(i as i32),
                hidden: o.hidden.unwrap_or(false),
                description,
            });
        }
    }
    parsed
}

/// Checks a property's `groupName`: optional, at most [`MAX_PROPERTY_LABEL_CHARS`] characters.
pub fn parse_group_name(field: &str, raw: Option<&str>) -> Result<String, ValidationError> {
    parse_optional_text(field, raw, MAX_PROPERTY_LABEL_CHARS)
}

/// Checks a new custom property; `path` prefixes field names (`""` or `properties[2].`): its
/// name, label, type and field type, options, `groupName` and `description`
/// ([`MAX_DESCRIPTION_CHARS`]).
pub fn parse_property(
    path: &str,
    input: &PropertyInput,
    problems: &mut Problems,
) -> Option<PropertyDefinition> {
    let field = |f: &str| format!("{path}{f}");
    let name = match input.name.as_deref() {
        Some(n) => push_err(problems, parse_property_name(&field("name"), n)),
        None => {
            problems.push(ValidationError::required(&field("name")));
            None
        }
    };
    let label = push_err(
        problems,
        parse_label(&field("label"), input.label.as_deref()),
    );
    let property_type = match input.property_type.as_deref() {
        Some(t) => match PropertyType::parse(t) {
            Some(t) => Some(t),
            None => {
                problems.push(ValidationError::new(
                    field("type"),
                    "INVALID_TYPE",
                    format!("{} \"{t}\" must be one of string, number, date, datetime, bool, enumeration", field("type")),
                ));
                None
            }
        },
        None => {
            problems.push(ValidationError::required(&field("type")));
            None
        }
    };
    let field_type = match (property_type, input.field_type.as_deref()) {
        (Some(t), Some(ft)) if t.allowed_field_types().contains(&ft) => Some(ft.to_owned()),
        (Some(t), Some(ft)) => {
            problems.push(ValidationError::new(
                field("fieldType"),
                "INVALID_FIELD_TYPE",
                format!(
                    "{} \"{ft}\" does not fit type {}; use one of {}",
                    field("fieldType"),
                    t.as_str(),
                    t.allowed_field_types().join(", ")
                ),
            ));
            None
        }
        (Some(t), None) => Some(t.allowed_field_types()[0].to_owned()),
        (None, _) => None,
    };
    let options = parse_options(&field("options"), &input.options, problems);
    if property_type == Some(PropertyType::Enumeration) && input.options.is_empty() {
        problems.push(ValidationError::new(
            field("options"),
            "REQUIRED",
            format!(
                "{} needs at least one option for an enumeration",
                field("options")
            ),
        ));
    }
    if property_type.is_some_and(|t| t != PropertyType::Enumeration) && !input.options.is_empty() {
        problems.push(ValidationError::new(
            field("options"),
            "OPTIONS_NOT_ALLOWED",
            format!("{} is only for enumeration properties", field("options")),
        ));
    }
    let group_name = push_err(
        problems,
        parse_group_name(&field("groupName"), input.group_name.as_deref()),
    );
    let description = push_err(
        problems,
        parse_optional_text(
            &field("description"),
            input.description.as_deref(),
            MAX_DESCRIPTION_CHARS,
        ),
    );
    let unique = input.has_unique_value.unwrap_or(false);
    if unique
        && property_type.is_some_and(|t| !matches!(t, PropertyType::String | PropertyType::Number))
    {
        problems.push(ValidationError::new(
            field("hasUniqueValue"),
            "UNIQUE_NOT_ALLOWED",
            format!(
                "{} is only allowed on string and number properties",
                field("hasUniqueValue")
            ),
        ));
    }
    Some(PropertyDefinition {
        name: name?,
        label: label?,
        property_type: property_type?,
        field_type: field_type?,
        group_name: group_name?,
        description: description?,
        options,
        has_unique_value: unique,
        hidden: input.hidden.unwrap_or(false),
        display_order: input.display_order.unwrap_or(-1),
        form_field: input.form_field.unwrap_or(true),
        hubspot_defined: false,
        read_only_value: false,
        returned_by_default: false,
    })
}

/// Checks a new custom property for one object type whose existing properties are `existing`.
pub fn check_new_property(
    input: &PropertyInput,
    existing: &[PropertyDefinition],
) -> Result<PropertyDefinition, DomainError> {
    let mut problems = Problems::new();
    let def = parse_property("", input, &mut problems);
    if let Some(d) = &def {
        if d.has_unique_value
            && existing
                .iter()
                .filter(|p| p.has_unique_value && !p.hubspot_defined)
                .count()
                >= MAX_UNIQUE_PROPERTIES
        {
            problems.push(ValidationError::new(
                "hasUniqueValue",
                "TOO_MANY_UNIQUE_PROPERTIES",
                format!("this object type already has {MAX_UNIQUE_PROPERTIES} unique properties, the most HubSpot allows"),
            ));
        }
    }
    problems.finish(())?;
    def.ok_or_else(|| DomainError::Invalid(Vec::new()))
}

/// What a property update (`PropertyUpdate`) may change.
#[derive(Debug, Clone, Default)]
pub struct PropertyPatch {
    /// `label`.
    pub label: Option<String>,
    /// `description`.
    pub description: Option<String>,
    /// `groupName`.
    pub group_name: Option<String>,
    /// `options` (replaces all of them).
    pub options: Option<Vec<OptionInput>>,
    /// `hidden`.
    pub hidden: Option<bool>,
    /// `displayOrder`.
    pub display_order: Option<i32>,
    /// `formField`.
    pub form_field: Option<bool>,
    /// `type`: must stay what it is.
    pub property_type: Option<String>,
    /// `fieldType`.
    pub field_type: Option<String>,
}

/// Applies `patch` to a custom property; HubSpot-defined properties are read-only.
pub fn apply_property_patch(
    current: &PropertyDefinition,
    patch: &PropertyPatch,
) -> Result<PropertyDefinition, DomainError> {
    if current.hubspot_defined {
        return Err(DomainError::Forbidden(format!(
            "Property \"{}\" is defined by HubSpot and cannot be changed",
            current.name
        )));
    }
    let mut problems = Problems::new();
    let mut next = current.clone();
    if let Some(label) = &patch.label {
        if let Some(l) = push_err(&mut problems, parse_label("label", Some(label))) {
            next.label = l;
        }
    }
    if let Some(t) = &patch.property_type {
        if PropertyType::parse(t) != Some(current.property_type) {
            problems.push(ValidationError::new(
                "type",
                "TYPE_CHANGE_NOT_ALLOWED",
                format!("type cannot change from {} to \"{t}\"; delete the property and create it again", current.property_type.as_str()),
            ));
        }
    }
    if let Some(ft) = &patch.field_type {
        if current
            .property_type
            .allowed_field_types()
            .contains(&ft.as_str())
        {
            next.field_type = ft.clone();
        } else {
            problems.push(ValidationError::new(
                "fieldType",
                "INVALID_FIELD_TYPE",
                format!(
                    "fieldType \"{ft}\" does not fit type {}",
                    current.property_type.as_str()
                ),
            ));
        }
    }
    if let Some(options) = &patch.options {
        if current.property_type != PropertyType::Enumeration {
            problems.push(ValidationError::new(
                "options",
                "OPTIONS_NOT_ALLOWED",
                "options is only for enumeration properties",
            ));
        } else if options.is_empty() {
            problems.push(ValidationError::new(
                "options",
                "REQUIRED",
                "options needs at least one option for an enumeration",
            ));
        } else {
            next.options = parse_options("options", options, &mut problems);
        }
    }
    if let Some(d) = &patch.description {
        if let Some(d) = push_err(
            &mut problems,
            parse_optional_text("description", Some(d), MAX_DESCRIPTION_CHARS),
        ) {
            next.description = d;
        }
    }
    if let Some(g) = &patch.group_name {
        if let Some(g) = push_err(&mut problems, parse_group_name("groupName", Some(g))) {
            next.group_name = g;
        }
    }
    if let Some(h) = patch.hidden {
        next.hidden = h;
    }
    if let Some(o) = patch.display_order {
        next.display_order = o;
    }
    if let Some(f) = patch.form_field {
        next.form_field = f;
    }
    problems.finish(next)
}

/// `labels` of a schema.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Labels {
    /// Singular label.
    pub singular: String,
    /// Plural label.
    pub plural: String,
}

/// A schema as sent (`ObjectSchemaEgg`).
#[derive(Debug, Clone, Default)]
pub struct SchemaInput {
    /// `name`.
    pub name: Option<String>,
    /// `labels.singular`, `labels.plural`.
    pub labels: Option<(Option<String>, Option<String>)>,
    /// `description`.
    pub description: Option<String>,
    /// `primaryDisplayProperty`.
    pub primary_display_property: Option<String>,
    /// `secondaryDisplayProperties`.
    pub secondary_display_properties: Vec<String>,
    /// `requiredProperties`.
    pub required_properties: Vec<String>,
    /// `searchableProperties`.
    pub searchable_properties: Vec<String>,
    /// `properties`.
    pub properties: Vec<PropertyInput>,
    /// `associatedObjects`.
    pub associated_objects: Vec<String>,
}

/// A checked schema definition (what the store keeps; ids are the store's).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SchemaDefinition {
    /// The short name (`cars`).
    pub name: String,
    /// Labels.
    pub labels: Labels,
    /// Description.
    pub description: String,
    /// Shown as the record's title.
    pub primary_display_property: Option<String>,
    /// Shown under the title.
    pub secondary_display_properties: Vec<String>,
    /// Required on create.
    pub required_properties: Vec<String>,
    /// Searched by the free-text `query`.
    pub searchable_properties: Vec<String>,
    /// Object type ids this type associates with (`0-1`, ...).
    pub associated_objects: Vec<ObjectTypeId>,
}

/// Resolves an `associatedObjects` entry (`CONTACT`, `contacts`, `0-1`, `2-17`) to a type id:
/// a standard type by name or type id, or a custom object's type id.
pub fn associated_type_id(raw: &str) -> Option<ObjectTypeId> {
    if let Some(t) = StandardType::parse(raw) {
        return Some(t.type_id());
    }
    ObjectTypeId::parse(raw).filter(|id| id.is_custom())
}

/// Resolves an `associatedObjects` entry or a `toObjectTypeId` (`field` names it): a standard
/// type by name or type id, or the type id of one of the account's live custom object schemas
/// (`custom_type_ids`). A `2-<n>` of another account, of an archived schema or of none at all
/// is refused naming the id: an association to it could never hold a record.
pub fn check_associated_type(
    field: &str,
    raw: &str,
    custom_type_ids: &[ObjectTypeId],
) -> Result<ObjectTypeId, ValidationError> {
    match associated_type_id(raw) {
        None => Err(ValidationError::new(
            field,
            "INVALID_OBJECT_TYPE",
            format!("{field} \"{raw}\" is not CONTACT, COMPANY, DEAL, TICKET or an objectTypeId"),
        )),
        Some(id) if id.standard().is_some() || custom_type_ids.contains(&id) => Ok(id),
        Some(id) => Err(ValidationError::new(
            field,
            "OBJECT_TYPE_NOT_FOUND",
            format!("{field} \"{id}\" is not an object type of this account; use CONTACT, COMPANY, DEAL, TICKET or the objectTypeId of one of its custom object schemas"),
        )),
    }
}

/// Checks a schema's `labels.singular` and `labels.plural` with [`parse_label`] (required,
/// at most [`MAX_PROPERTY_LABEL_CHARS`]), the same on create and on change: on a change
/// (`current` set) an absent label keeps its value, and a sent one must be valid, empty
/// included.
fn parse_labels(
    sent: &(Option<String>, Option<String>),
    current: Option<&Labels>,
    problems: &mut Problems,
) -> Option<Labels> {
    let one = |field: &str, raw: &Option<String>, kept: Option<&String>| match (raw, kept) {
        (None, Some(kept)) => Ok(kept.clone()),
        (raw, _) => parse_label(field, raw.as_deref()),
    };
    let singular = push_err(
        problems,
        one("labels.singular", &sent.0, current.map(|l| &l.singular)),
    );
    let plural = push_err(
        problems,
        one("labels.plural", &sent.1, current.map(|l| &l.plural)),
    );
    singular
        .zip(plural)
        .map(|(singular, plural)| Labels { singular, plural })
}

/// Checks a new schema: its definition and its custom properties. `custom_type_ids` are the
/// type ids of the account's live custom object schemas, which `associatedObjects` may name
/// ([`check_associated_type`]).
pub fn check_schema(
    input: &SchemaInput,
    custom_type_ids: &[ObjectTypeId],
) -> Result<(SchemaDefinition, Vec<PropertyDefinition>), DomainError> {
    let mut problems = Problems::new();
    let name = match input.name.as_deref() {
        None | Some("") => {
            problems.push(ValidationError::required("name"));
            None
        }
        Some(n) => {
            let chars = n.chars().count();
            let first_ok = n.chars().next().is_some_and(|c| c.is_ascii_alphabetic());
            if chars > MAX_SCHEMA_NAME_CHARS {
                problems.push(ValidationError::new(
                    "name",
                    "TOO_LONG",
                    format!(
                        "name has {chars} characters; at most {MAX_SCHEMA_NAME_CHARS} are allowed"
                    ),
                ));
                None
            } else if !first_ok || !n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                problems.push(ValidationError::new(
                    "name",
                    "INVALID_FORMAT",
                    format!(
                        "name \"{n}\" must start with a letter and use only letters, digits and _"
                    ),
                ));
                None
            } else {
                Some(n.to_ascii_lowercase())
            }
        }
    };
    let labels = match &input.labels {
        None => {
            problems.push(ValidationError::required("labels"));
            None
        }
        Some(sent) => parse_labels(sent, None, &mut problems),
    };
    let description = push_err(
        &mut problems,
        parse_optional_text(
            "description",
            input.description.as_deref(),
            MAX_DESCRIPTION_CHARS,
        ),
    );
    let mut properties = Vec::new();
    let mut names = BTreeSet::new();
    for (i, p) in input.properties.iter().enumerate() {
        if let Some(def) = parse_property(&format!("properties[{i}]."), p, &mut problems) {
            if !names.insert(def.name.clone()) {
                problems.push(ValidationError::new(
                    format!("properties[{i}].name"),
                    "DUPLICATE_PROPERTY",
                    format!("properties[{i}].name \"{}\" appears twice", def.name),
                ));
            }
            properties.push(def);
        }
    }
    let unique = properties.iter().filter(|p| p.has_unique_value).count();
    if unique > MAX_UNIQUE_PROPERTIES {
        problems.push(ValidationError::new(
            "properties",
            "TOO_MANY_UNIQUE_PROPERTIES",
            format!("properties has {unique} unique properties; at most {MAX_UNIQUE_PROPERTIES} are allowed"),
        ));
    }
    let check_refs = |field: &str, list: &[String], problems: &mut Problems| {
        for (i, n) in list.iter().enumerate() {
            if !names.contains(n) {
                problems.push(ValidationError::new(
                    format!("{field}[{i}]"),
                    "PROPERTY_DOESNT_EXIST",
                    format!("{field}[{i}] \"{n}\" is not one of the schema's properties"),
                ));
            }
        }
    };
    check_refs(
        "requiredProperties",
        &input.required_properties,
        &mut problems,
    );
    check_refs(
        "searchableProperties",
        &input.searchable_properties,
        &mut problems,
    );
    check_refs(
        "secondaryDisplayProperties",
        &input.secondary_display_properties,
        &mut problems,
    );
    if let Some(p) = &input.primary_display_property {
        if !names.contains(p) {
            problems.push(ValidationError::new(
                "primaryDisplayProperty",
                "PROPERTY_DOESNT_EXIST",
                format!("primaryDisplayProperty \"{p}\" is not one of the schema's properties"),
            ));
        }
    }
    let mut associated = Vec::new();
    for (i, a) in input.associated_objects.iter().enumerate() {
        let field = format!("associatedObjects[{i}]");
        if let Some(id) = push_err(
            &mut problems,
            check_associated_type(&field, a, custom_type_ids),
        ) {
            associated.push(id);
        }
    }
    problems.finish(())?;
    let (Some(name), Some(labels), Some(description)) = (name, labels, description) else {
        return Err(DomainError::Invalid(Vec::new()));
    };
    Ok((
        SchemaDefinition {
            name,
            labels,
            description,
            primary_display_property: input.primary_display_property.clone(),
            secondary_display_properties: input.secondary_display_properties.clone(),
            required_properties: input.required_properties.clone(),
            searchable_properties: input.searchable_properties.clone(),
            associated_objects: associated,
        },
        properties,
    ))
}

/// What a schema update (`ObjectTypeDefinitionPatch`) may change; `None` keeps the value.
#[derive(Debug, Clone, Default)]
pub struct SchemaPatch {
    /// `labels.singular`, `labels.plural` (each kept when absent).
    pub labels: Option<(Option<String>, Option<String>)>,
    /// `description`.
    pub description: Option<String>,
    /// `clearDescription`: empties the description, whatever `description` says.
    pub clear_description: bool,
    /// `primaryDisplayProperty`.
    pub primary_display_property: Option<String>,
    /// `secondaryDisplayProperties`.
    pub secondary_display_properties: Option<Vec<String>>,
    /// `requiredProperties`.
    pub required_properties: Option<Vec<String>>,
    /// `searchableProperties`.
    pub searchable_properties: Option<Vec<String>>,
}

/// Applies `patch` to a schema whose live custom properties are named `property_names`: the
/// lists and the display property must name them, the labels are checked as on create
/// (an empty one is refused), the description is bounded as on create. Every problem is
/// listed.
pub fn apply_schema_patch(
    current: &SchemaDefinition,
    property_names: &[String],
    patch: &SchemaPatch,
) -> Result<SchemaDefinition, DomainError> {
    let mut next = current.clone();
    let mut problems = Problems::new();
    let check = |field: &str, list: &[String], problems: &mut Problems| {
        for (i, n) in list.iter().enumerate() {
            if !property_names.contains(n) {
                problems.push(ValidationError::new(
                    format!("{field}[{i}]"),
                    "PROPERTY_DOESNT_EXIST",
                    format!("{field}[{i}] \"{n}\" is not a property of this object type"),
                ));
            }
        }
    };
    if let Some(l) = &patch.required_properties {
        check("requiredProperties", l, &mut problems);
        next.required_properties = l.clone();
    }
    if let Some(l) = &patch.searchable_properties {
        check("searchableProperties", l, &mut problems);
        next.searchable_properties = l.clone();
    }
    if let Some(l) = &patch.secondary_display_properties {
        check("secondaryDisplayProperties", l, &mut problems);
        next.secondary_display_properties = l.clone();
    }
    if let Some(p) = &patch.primary_display_property {
        // A single name, not a list: its field has no index.
        if !property_names.contains(p) {
            problems.push(ValidationError::new(
                "primaryDisplayProperty",
                "PROPERTY_DOESNT_EXIST",
                format!("primaryDisplayProperty \"{p}\" is not a property of this object type"),
            ));
        }
        next.primary_display_property = Some(p.clone());
    }
    if let Some(sent) = &patch.labels {
        if let Some(labels) = parse_labels(sent, Some(&current.labels), &mut problems) {
            next.labels = labels;
        }
    }
    if patch.clear_description {
        next.description.clear();
    } else if let Some(d) = &patch.description {
        if let Some(d) = push_err(
            &mut problems,
            parse_optional_text("description", Some(d), MAX_DESCRIPTION_CHARS),
        ) {
            next.description = d;
        }
    }
    problems.finish(next)
}

/// An association definition as sent (`AssociationDefinitionEgg`).
#[derive(Debug, Clone, Default)]
pub struct AssociationInput {
    /// `fromObjectTypeId`: must be the schema's own type id.
    pub from_object_type_id: Option<String>,
    /// `toObjectTypeId`.
    pub to_object_type_id: Option<String>,
    /// `name`.
    pub name: Option<String>,
}

/// A checked association definition: the type it leads to and its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssociationDefinition {
    /// The other type's id (`0-1`, `2-17`).
    pub to_type_id: ObjectTypeId,
    /// Its name, when one was sent.
    pub name: Option<String>,
}

/// Checks a new association definition from the schema of `type_id`: `fromObjectTypeId` is
/// that type, `toObjectTypeId` a standard type or one of `custom_type_ids` (the account's live
/// custom object schemas, [`check_associated_type`]), `name` at most
/// [`MAX_ASSOCIATION_NAME_CHARS`].
pub fn check_association(
    type_id: ObjectTypeId,
    input: &AssociationInput,
    custom_type_ids: &[ObjectTypeId],
) -> Result<AssociationDefinition, DomainError> {
    let mut problems = Problems::new();
    match input.from_object_type_id.as_deref() {
        Some(from) if associated_type_id(from) == Some(type_id) => {}
        Some(from) => problems.push(ValidationError::new(
            "fromObjectTypeId",
            "INVALID_OBJECT_TYPE",
            format!("fromObjectTypeId \"{from}\" must be this schema's objectTypeId {type_id}"),
        )),
        None => problems.push(ValidationError::required("fromObjectTypeId")),
    }
    let to = match input.to_object_type_id.as_deref() {
        Some(raw) => push_err(
            &mut problems,
            check_associated_type("toObjectTypeId", raw, custom_type_ids),
        ),
        None => {
            problems.push(ValidationError::required("toObjectTypeId"));
            None
        }
    };
    if let Some(name) = &input.name {
        push_err(
            &mut problems,
            check_max_chars("name", name, MAX_ASSOCIATION_NAME_CHARS),
        );
    }
    problems.finish(())?;
    let to_type_id = to.ok_or_else(|| ValidationError::required("toObjectTypeId"))?;
    Ok(AssociationDefinition {
        to_type_id,
        name: input.name.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prop(name: &str, t: &str) -> PropertyInput {
        PropertyInput {
            name: Some(name.into()),
            label: Some(name.to_uppercase()),
            property_type: Some(t.into()),
            ..Default::default()
        }
    }

    #[test]
    fn a_valid_schema_is_accepted() {
        let (def, props) = check_schema(
            &SchemaInput {
                name: Some("Cars".into()),
                labels: Some((Some("Car".into()), Some("Cars".into()))),
                primary_display_property: Some("model".into()),
                required_properties: vec!["model".into()],
                properties: vec![prop("model", "string"), prop("year", "number")],
                associated_objects: vec!["CONTACT".into(), "0-2".into()],
                ..Default::default()
            },
            &[],
        )
        .unwrap();
        assert_eq!(def.name, "cars");
        let shown: Vec<String> = def
            .associated_objects
            .iter()
            .map(|t| t.to_string())
            .collect();
        assert_eq!(shown, ["0-1", "0-2"]);
        assert_eq!(props.len(), 2);
        assert_eq!(
            props[0].field_type, "text",
            "fieldType defaults to the type's first"
        );
    }

    #[test]
    fn every_schema_problem_is_named() {
        let err = check_schema(
            &SchemaInput {
                name: Some("1cars".into()),
                labels: Some((Some("Car".into()), None)),
                primary_display_property: Some("nope".into()),
                required_properties: vec!["missing".into()],
                properties: vec![
                    prop("model", "text"),
                    prop("model", "string"),
                    prop("model", "string"),
                ],
                associated_objects: vec!["PLANET".into()],
                ..Default::default()
            },
            &[],
        )
        .unwrap_err();
        let DomainError::Invalid(problems) = err else {
            panic!()
        };
        let fields: BTreeSet<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        for expected in [
            "name",
            "labels.plural",
            "properties[0].type",
            "properties[2].name",
            "requiredProperties[0]",
            "primaryDisplayProperty",
            "associatedObjects[0]",
        ] {
            assert!(
                fields.contains(expected),
                "{expected} not reported: {fields:?}"
            );
        }
    }

    #[test]
    fn enumeration_needs_options_and_field_type_must_fit() {
        let mut problems = Problems::new();
        let mut p = prop("color", "enumeration");
        p.field_type = Some("text".into());
        assert!(parse_property("", &p, &mut problems).is_none());
        let DomainError::Invalid(found) = problems.finish(()).unwrap_err() else {
            panic!()
        };
        let codes: Vec<&str> = found.iter().map(|e| e.code).collect();
        assert!(
            codes.contains(&"INVALID_FIELD_TYPE") && codes.contains(&"REQUIRED"),
            "{codes:?}"
        );
    }

    #[test]
    fn ten_unique_properties_pass_and_eleven_are_refused() {
        let unique = |i: usize| PropertyInput {
            has_unique_value: Some(true),
            ..prop(&format!("u{i}"), "string")
        };
        let existing: Vec<PropertyDefinition> = (0..9)
            .map(|i| {
                let mut problems = Problems::new();
                parse_property("", &unique(i), &mut problems).unwrap()
            })
            .collect();
        assert!(check_new_property(&unique(9), &existing).is_ok());
        let mut ten = existing.clone();
        ten.push(check_new_property(&unique(9), &existing).unwrap());
        let err = check_new_property(&unique(10), &ten)
            .unwrap_err()
            .to_string();
        assert!(err.contains("10"), "{err}");
    }

    #[test]
    fn type_cannot_change_and_hubspot_properties_are_read_only() {
        let mut problems = Problems::new();
        let current = parse_property("", &prop("color", "string"), &mut problems).unwrap();
        let err = apply_property_patch(
            &current,
            &PropertyPatch {
                property_type: Some("number".into()),
                ..Default::default()
            },
        )
        .unwrap_err();
        assert!(err.to_string().contains("type cannot change"));
        let renamed = apply_property_patch(
            &current,
            &PropertyPatch {
                label: Some("Colour".into()),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(renamed.label, "Colour");
        let email = super::super::property::standard_properties(StandardType::Contacts)
            .into_iter()
            .find(|p| p.name == "email")
            .unwrap();
        assert!(matches!(
            apply_property_patch(&email, &PropertyPatch::default()),
            Err(DomainError::Forbidden(_))
        ));
    }

    fn fields_and_codes(err: DomainError) -> Vec<(String, &'static str)> {
        let DomainError::Invalid(problems) = err else {
            panic!("not a validation error: {err:?}")
        };
        problems.into_iter().map(|p| (p.field, p.code)).collect()
    }

    fn cars(associated: &[&str]) -> SchemaInput {
        SchemaInput {
            name: Some("cars".into()),
            labels: Some((Some("Car".into()), Some("Cars".into()))),
            properties: vec![prop("model", "string")],
            associated_objects: associated.iter().map(|a| (*a).to_owned()).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn associated_objects_name_standard_types_or_the_accounts_own_custom_types() {
        let own = vec![ObjectTypeId::Custom(7)];
        let (def, _) = check_schema(
            &cars(&["CONTACT", "companies", "0-3", "ticket", "2-7"]),
            &own,
        )
        .unwrap();
        let shown: Vec<String> = def
            .associated_objects
            .iter()
            .map(|t| t.to_string())
            .collect();
        assert_eq!(shown, ["0-1", "0-2", "0-3", "0-5", "2-7"]);

        let err = check_schema(&cars(&["CONTACT", "2-1001", "2-7", "PLANET"]), &own).unwrap_err();
        let message = err.to_string();
        assert_eq!(
            fields_and_codes(err),
            [
                ("associatedObjects[1]".to_owned(), "OBJECT_TYPE_NOT_FOUND"),
                ("associatedObjects[3]".to_owned(), "INVALID_OBJECT_TYPE"),
            ]
        );
        assert!(message.contains("\"2-1001\""), "names the id: {message}");
    }

    #[test]
    fn association_definitions_lead_to_known_types_with_a_bounded_name() {
        let own = vec![ObjectTypeId::Custom(7), ObjectTypeId::Custom(8)];
        let input = |to: &str, name: Option<String>| AssociationInput {
            from_object_type_id: Some("2-7".into()),
            to_object_type_id: Some(to.into()),
            name,
        };
        let ok = check_association(
            ObjectTypeId::Custom(7),
            &input("2-8", Some("n".repeat(100))),
            &own,
        )
        .unwrap();
        assert_eq!(ok.to_type_id, ObjectTypeId::Custom(8));
        assert_eq!(
            check_association(ObjectTypeId::Custom(7), &input("DEAL", None), &own)
                .unwrap()
                .to_type_id,
            ObjectTypeId::Standard(StandardType::Deals)
        );
        assert_eq!(
            fields_and_codes(
                check_association(
                    ObjectTypeId::Custom(7),
                    &input("2-1001", Some("n".repeat(101))),
                    &own
                )
                .unwrap_err()
            ),
            [
                ("toObjectTypeId".to_owned(), "OBJECT_TYPE_NOT_FOUND"),
                ("name".to_owned(), "TOO_LONG"),
            ]
        );
        let wrong_from = AssociationInput {
            from_object_type_id: Some("2-8".into()),
            ..input("0-1", None)
        };
        assert_eq!(
            fields_and_codes(
                check_association(ObjectTypeId::Custom(7), &wrong_from, &own).unwrap_err()
            ),
            [("fromObjectTypeId".to_owned(), "INVALID_OBJECT_TYPE")]
        );
    }

    #[test]
    fn schema_description_of_2000_characters_passes_and_2001_fail() {
        let mut input = cars(&[]);
        input.description = Some("d".repeat(MAX_DESCRIPTION_CHARS));
        assert!(check_schema(&input, &[]).is_ok());
        input.description = Some("d".repeat(MAX_DESCRIPTION_CHARS + 1));
        let err = check_schema(&input, &[]).unwrap_err();
        assert!(
            err.to_string().contains("2001") && err.to_string().contains("2000"),
            "{err}"
        );
        assert_eq!(
            fields_and_codes(err),
            [("description".to_owned(), "TOO_LONG")]
        );
    }

    fn stored_cars() -> SchemaDefinition {
        check_schema(&cars(&[]), &[]).unwrap().0
    }

    #[test]
    fn a_patch_checks_labels_as_create_does() {
        let current = stored_cars();
        let names = vec!["model".to_owned()];
        let patch = |singular: Option<&str>, plural: Option<&str>| SchemaPatch {
            labels: Some((singular.map(str::to_owned), plural.map(str::to_owned))),
            ..Default::default()
        };
        let kept = apply_schema_patch(&current, &names, &patch(Some("Auto"), None)).unwrap();
        assert_eq!(
            kept.labels,
            Labels {
                singular: "Auto".into(),
                plural: "Cars".into()
            }
        );
        assert_eq!(
            fields_and_codes(
                apply_schema_patch(&current, &names, &patch(Some(""), Some("  "))).unwrap_err()
            ),
            [
                ("labels.singular".to_owned(), "REQUIRED"),
                ("labels.plural".to_owned(), "REQUIRED"),
            ]
        );
        let long = "L".repeat(MAX_PROPERTY_LABEL_CHARS + 1);
        assert_eq!(
            fields_and_codes(
                apply_schema_patch(&current, &names, &patch(None, Some(&long))).unwrap_err()
            ),
            [("labels.plural".to_owned(), "TOO_LONG")]
        );
        let at_limit = "L".repeat(MAX_PROPERTY_LABEL_CHARS);
        assert!(apply_schema_patch(&current, &names, &patch(None, Some(&at_limit))).is_ok());
    }

    #[test]
    fn a_patch_bounds_the_description_and_checks_property_names() {
        let current = stored_cars();
        let names = vec!["model".to_owned()];
        let at_limit = SchemaPatch {
            description: Some("d".repeat(MAX_DESCRIPTION_CHARS)),
            ..Default::default()
        };
        assert_eq!(
            apply_schema_patch(&current, &names, &at_limit)
                .unwrap()
                .description
                .len(),
            MAX_DESCRIPTION_CHARS
        );
        let past = SchemaPatch {
            description: Some("d".repeat(MAX_DESCRIPTION_CHARS + 1)),
            required_properties: Some(vec!["model".into(), "nope".into()]),
            ..Default::default()
        };
        assert_eq!(
            fields_and_codes(apply_schema_patch(&current, &names, &past).unwrap_err()),
            [
                ("requiredProperties[1]".to_owned(), "PROPERTY_DOESNT_EXIST"),
                ("description".to_owned(), "TOO_LONG"),
            ]
        );
        let cleared = SchemaPatch {
            clear_description: true,
            description: Some("ignored".into()),
            ..Default::default()
        };
        assert_eq!(
            apply_schema_patch(&current, &names, &cleared)
                .unwrap()
                .description,
            ""
        );
    }

    #[test]
    fn property_texts_are_bounded_at_the_limit_and_one_past() {
        let with = |group: usize, description: usize, value: usize, option_description: usize| {
            let mut p = prop("color", "enumeration");
            p.group_name = Some("g".repeat(group));
            p.description = Some("d".repeat(description));
            p.options = vec![OptionInput {
                label: Some("Red".into()),
                value: Some("v".repeat(value)),
                description: Some("o".repeat(option_description)),
                ..Default::default()
            }];
            check_new_property(&p, &[])
        };
        let (l, d) = (MAX_PROPERTY_LABEL_CHARS, MAX_DESCRIPTION_CHARS);
        let ok = with(l, d, l, d).unwrap();
        assert_eq!(ok.group_name.len(), l);
        assert_eq!(ok.options[0].description.as_deref().map(str::len), Some(d));
        assert_eq!(
            fields_and_codes(with(l + 1, d + 1, l + 1, d + 1).unwrap_err()),
            [
                ("options[0].value".to_owned(), "TOO_LONG"),
                ("options[0].description".to_owned(), "TOO_LONG"),
                ("groupName".to_owned(), "TOO_LONG"),
                ("description".to_owned(), "TOO_LONG"),
            ]
        );
        let mut long_label = prop("color", "enumeration");
        long_label.options = vec![OptionInput {
            label: Some("x".repeat(100_000)),
            value: Some("x".into()),
            ..Default::default()
        }];
        let err = check_new_property(&long_label, &[]).unwrap_err();
        assert!(err.to_string().contains("100000"), "{err}");
    }

    #[test]
    fn a_property_patch_bounds_description_and_group_name() {
        let mut problems = Problems::new();
        let current = parse_property("", &prop("color", "string"), &mut problems).unwrap();
        let patch = |group: usize, description: usize| PropertyPatch {
            group_name: Some("g".repeat(group)),
            description: Some("d".repeat(description)),
            ..Default::default()
        };
        let ok = apply_property_patch(
            &current,
            &patch(MAX_PROPERTY_LABEL_CHARS, MAX_DESCRIPTION_CHARS),
        )
        .unwrap();
        assert_eq!(ok.description.len(), MAX_DESCRIPTION_CHARS);
        assert_eq!(
            fields_and_codes(
                apply_property_patch(
                    &current,
                    &patch(MAX_PROPERTY_LABEL_CHARS + 1, MAX_DESCRIPTION_CHARS + 1)
                )
                .unwrap_err()
            ),
            [
                ("description".to_owned(), "TOO_LONG"),
                ("groupName".to_owned(), "TOO_LONG"),
            ]
        );
    }
}
