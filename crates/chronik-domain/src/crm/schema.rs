//! Custom object schemas (api-reference §5.3) and custom property definitions: what the
//! properties API and the schemas API accept, checked with every problem named.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::object_type::StandardType;
use super::property::{
    parse_label, parse_property_name, PropertyDefinition, PropertyOption, PropertyType,
    MAX_PROPERTY_OPTIONS,
};
use crate::error::{DomainError, Problems, ValidationError};

/// HubSpot: an object type can have at most 10 properties with unique values.
pub const MAX_UNIQUE_PROPERTIES: usize = 10;

/// Our own bound on a custom object's name, which becomes part of its fully qualified name.
pub const MAX_SCHEMA_NAME_CHARS: usize = 100;

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
            Some(v) if !v.is_empty() => Some(v.to_owned()),
            _ => {
                problems.push(ValidationError::required(&format!("{path}[{i}].value")));
                None
            }
        };
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
                description: o.description.clone(),
            });
        }
    }
    parsed
}

/// Checks a new custom property; `path` prefixes field names (`""` or `properties[2].`).
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
        group_name: input.group_name.clone().unwrap_or_default(),
        description: input.description.clone().unwrap_or_default(),
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
        next.description = d.clone();
    }
    if let Some(g) = &patch.group_name {
        next.group_name = g.clone();
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
    pub associated_objects: Vec<String>,
}

/// Resolves an `associatedObjects` entry (`CONTACT`, `contacts`, `0-1`, `2-17`) to a type id.
pub fn associated_type_id(raw: &str) -> Option<String> {
    if let Some(t) = StandardType::parse(raw) {
        return Some(t.type_id().to_owned());
    }
    let rest = raw.strip_prefix("2-")?;
    (!rest.is_empty() && rest.chars().all(|c| c.is_ascii_digit())).then(|| raw.to_owned())
}

/// Checks a new schema: its definition and its custom properties.
pub fn check_schema(
    input: &SchemaInput,
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
        Some((s, p)) => {
            let s = push_err(&mut problems, parse_label("labels.singular", s.as_deref()));
            let p = push_err(&mut problems, parse_label("labels.plural", p.as_deref()));
            s.zip(p)
                .map(|(singular, plural)| Labels { singular, plural })
        }
    };
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
        match associated_type_id(a) {
            Some(id) => associated.push(id),
            None => problems.push(ValidationError::new(
                format!("associatedObjects[{i}]"),
                "INVALID_OBJECT_TYPE",
                format!("associatedObjects[{i}] \"{a}\" is not CONTACT, COMPANY, DEAL, TICKET or an objectTypeId"),
            )),
        }
    }
    problems.finish(())?;
    let (Some(name), Some(labels)) = (name, labels) else {
        return Err(DomainError::Invalid(Vec::new()));
    };
    Ok((
        SchemaDefinition {
            name,
            labels,
            description: input.description.clone().unwrap_or_default(),
            primary_display_property: input.primary_display_property.clone(),
            secondary_display_properties: input.secondary_display_properties.clone(),
            required_properties: input.required_properties.clone(),
            searchable_properties: input.searchable_properties.clone(),
            associated_objects: associated,
        },
        properties,
    ))
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
        let (def, props) = check_schema(&SchemaInput {
            name: Some("Cars".into()),
            labels: Some((Some("Car".into()), Some("Cars".into()))),
            primary_display_property: Some("model".into()),
            required_properties: vec!["model".into()],
            properties: vec![prop("model", "string"), prop("year", "number")],
            associated_objects: vec!["CONTACT".into(), "0-2".into()],
            ..Default::default()
        })
        .unwrap();
        assert_eq!(def.name, "cars");
        assert_eq!(def.associated_objects, vec!["0-1", "0-2"]);
        assert_eq!(props.len(), 2);
        assert_eq!(
            props[0].field_type, "text",
            "fieldType defaults to the type's first"
        );
    }

    #[test]
    fn every_schema_problem_is_named() {
        let err = check_schema(&SchemaInput {
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
        })
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
}
