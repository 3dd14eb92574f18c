//! App objects: CRM object types an app defines once, in its project
//! (`app/app-objects/*-hsmeta.json`, component type `app-object`), and that every account the
//! app is installed in then has. Their records are served by the same objects API as custom
//! objects.
//!
//! HubSpot's component (its reference and sample project): `uid`, `type: "app-object"`, and a
//! `config` with `name` (upper snake case, e.g. `CAR`), `description`, `singularForm`,
//! `pluralForm`, `appPrefix`, `primaryDisplayLabelPropertyName`,
//! `secondaryDisplayLabelPropertyNames` and `properties` (the fields of the properties API).
//! Records carry the properties with the app's prefix `a{appId}_` (`model` becomes
//! `a1000001_model`); the config, and the definition kept here, name them without it.
//!
//! What HubSpot does not publish, Chronik decides (README, "App objects"): an app object's
//! objectTypeId is `4-<n>` (one id for the type in every account) and its fully qualified name
//! is `a{appId}_{name}`.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::property::{parse_label, PropertyDefinition};
use super::schema::{parse_property, push_err, Labels, PropertyInput, SchemaDefinition};
use super::schema::{MAX_SCHEMA_NAME_CHARS, MAX_UNIQUE_PROPERTIES};
use crate::error::{Problems, ValidationError};
use crate::AppId;

/// The component type of an app object in a project.
pub const APP_OBJECT_COMPONENT: &str = "app-object";

/// HubSpot's bound on a component's `uid` (its project parser: "'uid' must be 64 characters
/// or less").
pub const MAX_UID_CHARS: usize = 64;

/// Our bound on an app object's properties (HubSpot's custom objects allow far more; a
/// config file with more is almost surely a mistake).
pub const MAX_APP_OBJECT_PROPERTIES: usize = 1_000;

/// The prefix the app's properties carry in records: `a{appId}_`.
pub fn property_prefix(app: AppId) -> String {
    format!("a{app}_")
}

/// The fully qualified name of an app object type: `a{appId}_{name}`.
pub fn fully_qualified_name(app: AppId, name: &str) -> String {
    format!("a{app}_{name}")
}

/// An app object as its project defines it, checked; property names are without the app's
/// prefix ([`AppObjectDefinition::schema_for`] adds it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppObjectDefinition {
    /// The component's `uid`, which names it across deploys.
    pub uid: String,
    /// `config.name`, upper snake case (`CAR`).
    pub name: String,
    /// `config.description`.
    pub description: String,
    /// `config.singularForm`, `config.pluralForm`.
    pub labels: Labels,
    /// `config.appPrefix`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_prefix: Option<String>,
    /// `config.primaryDisplayLabelPropertyName`.
    pub primary_display_property: String,
    /// `config.secondaryDisplayLabelPropertyNames`.
    pub secondary_display_properties: Vec<String>,
    /// `config.properties`.
    pub properties: Vec<PropertyDefinition>,
}

impl AppObjectDefinition {
    /// The type as records of `app` see it: a schema whose property names carry the app's
    /// prefix, searchable by its display properties, and the prefixed properties.
    pub fn schema_for(&self, app: AppId) -> (SchemaDefinition, Vec<PropertyDefinition>) {
        let prefix = property_prefix(app);
        let prefixed = |n: &String| format!("{prefix}{n}");
        let secondary: Vec<String> = self
            .secondary_display_properties
            .iter()
            .map(prefixed)
            .collect();
        let mut searchable = vec![prefixed(&self.primary_display_property)];
        searchable.extend(secondary.iter().cloned());
        let schema = SchemaDefinition {
            name: self.name.to_ascii_lowercase(),
            labels: self.labels.clone(),
            description: self.description.clone(),
            primary_display_property: Some(prefixed(&self.primary_display_property)),
            secondary_display_properties: secondary,
            required_properties: Vec::new(),
            searchable_properties: searchable,
            associated_objects: Vec::new(),
        };
        let properties = self
            .properties
            .iter()
            .map(|p| PropertyDefinition {
                name: prefixed(&p.name),
                ..p.clone()
            })
            .collect();
        (schema, properties)
    }

    /// Why `next` may not replace `self` (the same uid deployed again), if it may not: the
    /// name stays, and a property keeps its type and is never removed, since records hold
    /// values of it. Fields are named with `config.` paths.
    pub fn change_problems(&self, next: &AppObjectDefinition) -> Vec<ValidationError> {
        let mut problems = Vec::new();
        if self.name != next.name {
            problems.push(ValidationError::new(
                "config.name",
                "IMMUTABLE",
                format!(
                    "config.name cannot change from \"{}\" to \"{}\" once deployed; give the new object a new uid",
                    self.name, next.name
                ),
            ));
        }
        for old in &self.properties {
            match next.properties.iter().position(|p| p.name == old.name) {
                None => problems.push(ValidationError::new(
                    "config.properties",
                    "PROPERTY_REMOVED",
                    format!(
                        "config.properties no longer has \"{}\", which was deployed before; a deployed property cannot be removed",
                        old.name
                    ),
                )),
                Some(i) if next.properties[i].property_type != old.property_type => {
                    problems.push(ValidationError::new(
                        format!("config.properties[{i}].type"),
                        "IMMUTABLE",
                        format!(
                            "config.properties[{i}].type cannot change from {} to {} once deployed",
                            old.property_type.as_str(),
                            next.properties[i].property_type.as_str()
                        ),
                    ))
                }
                Some(_) => {}
            }
        }
        problems
    }
}

/// An `app-object` component as read from its file (unknown fields are ignored: HubSpot's
/// config carries UI settings, such as `propertyGroups` and `settings`, that Chronik has no
/// use for).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppObjectConfig {
    /// `name`.
    pub name: Option<String>,
    /// `description`.
    pub description: Option<String>,
    /// `singularForm`.
    pub singular_form: Option<String>,
    /// `pluralForm`.
    pub plural_form: Option<String>,
    /// `appPrefix`.
    pub app_prefix: Option<String>,
    /// `primaryDisplayLabelPropertyName`.
    pub primary_display_label_property_name: Option<String>,
    /// `secondaryDisplayLabelPropertyNames`.
    #[serde(default)]
    pub secondary_display_label_property_names: Vec<String>,
    /// `properties`.
    #[serde(default)]
    pub properties: Option<Vec<ConfigProperty>>,
    /// `defaultCreateFormFields`: only checked to name existing properties.
    #[serde(default)]
    pub default_create_form_fields: Vec<FormField>,
}

/// One of `config.defaultCreateFormFields`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FormField {
    /// `propertyName`.
    pub property_name: Option<String>,
}

/// One of `config.properties`: the fields of the properties API, and `calculationFormula`,
/// which is refused as the properties API refuses it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfigProperty {
    /// The property's fields.
    #[serde(flatten)]
    pub input: PropertyInput,
    /// `calculationFormula`.
    pub calculation_formula: Option<String>,
}

/// Checks a component's `uid` (`field` names it).
pub fn check_uid(field: &str, uid: Option<&str>, problems: &mut Problems) -> Option<String> {
    match uid {
        None | Some("") => {
            problems.push(ValidationError::required(field));
            None
        }
        Some(u) if u.chars().count() > MAX_UID_CHARS => {
            problems.push(ValidationError::new(
                field,
                "TOO_LONG",
                format!(
                    "{field} has {} characters; at most {MAX_UID_CHARS} are allowed",
                    u.chars().count()
                ),
            ));
            None
        }
        Some(u)
            if !u
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')) =>
        {
            problems.push(ValidationError::new(
                field,
                "INVALID_FORMAT",
                format!("{field} \"{u}\" may use only letters, digits, _, - and ."),
            ));
            None
        }
        Some(u) => Some(u.to_owned()),
    }
}

fn check_object_name(name: Option<&str>, problems: &mut Problems) -> Option<String> {
    let field = "config.name";
    match name {
        None | Some("") => {
            problems.push(ValidationError::required(field));
            None
        }
        Some(n) if n.chars().count() > MAX_SCHEMA_NAME_CHARS => {
            problems.push(ValidationError::new(
                field,
                "TOO_LONG",
                format!(
                    "{field} has {} characters; at most {MAX_SCHEMA_NAME_CHARS} are allowed",
                    n.chars().count()
                ),
            ));
            None
        }
        Some(n)
            if !n.starts_with(|c: char| c.is_ascii_uppercase())
                || !n
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_') =>
        {
            problems.push(ValidationError::new(
                field,
                "INVALID_FORMAT",
                format!("{field} \"{n}\" must be upper snake case (MY_OBJECT_NAME): it starts with A-Z and uses only A-Z, 0-9 and _"),
            ));
            None
        }
        Some(n) => Some(n.to_owned()),
    }
}

fn required_text(field: &str, value: Option<&str>, problems: &mut Problems) -> Option<String> {
    match value.map(str::trim) {
        None | Some("") => {
            problems.push(ValidationError::required(field));
            None
        }
        Some(v) => Some(v.to_owned()),
    }
}

/// Checks an `app-object` component's `uid` and `config`, with every problem named by its
/// path inside the file (`config.properties[2].type`).
pub fn check_app_object(
    uid: Option<&str>,
    config: &AppObjectConfig,
    problems: &mut Problems,
) -> Option<AppObjectDefinition> {
    let uid = check_uid("uid", uid, problems);
    let name = check_object_name(config.name.as_deref(), problems);
    let description = required_text(
        "config.description",
        config.description.as_deref(),
        problems,
    );
    let singular = push_err(
        problems,
        parse_label("config.singularForm", config.singular_form.as_deref()),
    );
    let plural = push_err(
        problems,
        parse_label("config.pluralForm", config.plural_form.as_deref()),
    );
    let mut properties = Vec::new();
    let mut names = BTreeSet::new();
    match &config.properties {
        None => problems.push(ValidationError::required("config.properties")),
        Some(list) if list.is_empty() => problems.push(ValidationError::new(
            "config.properties",
            "REQUIRED",
            "config.properties needs at least one property (the primary display property)",
        )),
        Some(list) if list.len() > MAX_APP_OBJECT_PROPERTIES => {
            problems.push(ValidationError::new(
                "config.properties",
                "TOO_MANY_PROPERTIES",
                format!(
                    "config.properties has {} properties; at most {MAX_APP_OBJECT_PROPERTIES} are allowed",
                    list.len()
                ),
            ))
        }
        Some(list) => {
            for (i, p) in list.iter().enumerate() {
                let path = format!("config.properties[{i}].");
                if p.calculation_formula.is_some() {
                    problems.push(ValidationError::new(
                        format!("{path}calculationFormula"),
                        "NOT_SUPPORTED",
                        format!("{path}calculationFormula: calculated properties are not supported"),
                    ));
                }
                // Types are case-insensitive in project files (`STRING` in HubSpot's table,
                // `string` in its samples).
                let mut input = p.input.clone();
                input.property_type = input.property_type.map(|t| t.to_ascii_lowercase());
                if let Some(def) = parse_property(&path, &input, problems) {
                    if !names.insert(def.name.clone()) {
                        problems.push(ValidationError::new(
                            format!("{path}name"),
                            "DUPLICATE_PROPERTY",
                            format!("{path}name \"{}\" appears twice", def.name),
                        ));
                    }
                    properties.push(def);
                }
            }
        }
    }
    let unique = properties.iter().filter(|p| p.has_unique_value).count();
    if unique > MAX_UNIQUE_PROPERTIES {
        problems.push(ValidationError::new(
            "config.properties",
            "TOO_MANY_UNIQUE_PROPERTIES",
            format!("config.properties has {unique} unique properties; at most {MAX_UNIQUE_PROPERTIES} are allowed"),
        ));
    }
    // References are checked only when every property parsed, so that one bad property is
    // not reported twice.
    let all_parsed = config
        .properties
        .as_ref()
        .is_some_and(|l| l.len() == properties.len());
    let reference = |field: String, n: &str, problems: &mut Problems| {
        if all_parsed && !names.contains(n) {
            problems.push(ValidationError::new(
                field.clone(),
                "PROPERTY_DOESNT_EXIST",
                format!("{field} \"{n}\" is not one of config.properties (name it without the app's a<appId>_ prefix)"),
            ));
        }
    };
    let primary = required_text(
        "config.primaryDisplayLabelPropertyName",
        config.primary_display_label_property_name.as_deref(),
        problems,
    );
    if let Some(p) = &primary {
        reference(
            "config.primaryDisplayLabelPropertyName".to_owned(),
            p,
            problems,
        );
    }
    for (i, n) in config
        .secondary_display_label_property_names
        .iter()
        .enumerate()
    {
        reference(
            format!("config.secondaryDisplayLabelPropertyNames[{i}]"),
            n,
            problems,
        );
    }
    for (i, f) in config.default_create_form_fields.iter().enumerate() {
        match f.property_name.as_deref() {
            Some(n) => reference(
                format!("config.defaultCreateFormFields[{i}].propertyName"),
                n,
                problems,
            ),
            None => problems.push(ValidationError::required(&format!(
                "config.defaultCreateFormFields[{i}].propertyName"
            ))),
        }
    }
    Some(AppObjectDefinition {
        uid: uid?,
        name: name?,
        description: description?,
        labels: Labels {
            singular: singular?,
            plural: plural?,
        },
        app_prefix: config.app_prefix.clone().filter(|p| !p.trim().is_empty()),
        primary_display_property: primary?,
        secondary_display_properties: config.secondary_display_label_property_names.clone(),
        properties,
    })
}

/// Parses a fully qualified app-object name (`a1000001_CAR`, any case): the app and the
/// upper-case name.
pub fn parse_fully_qualified_name(segment: &str) -> Option<(AppId, String)> {
    let rest = segment.strip_prefix(['a', 'A'])?;
    let (app, name) = rest.split_once('_')?;
    if app.is_empty() || !app.chars().all(|c| c.is_ascii_digit()) || name.is_empty() {
        return None;
    }
    Some((AppId(app.parse().ok()?), name.to_ascii_uppercase()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crm::property::PropertyType;
    use crate::DomainError;

    fn property(name: &str, t: &str) -> ConfigProperty {
        ConfigProperty {
            input: PropertyInput {
                name: Some(name.to_owned()),
                label: Some(name.to_uppercase()),
                property_type: Some(t.to_owned()),
                ..PropertyInput::default()
            },
            calculation_formula: None,
        }
    }

    fn car() -> AppObjectConfig {
        AppObjectConfig {
            name: Some("CAR".to_owned()),
            description: Some("Cars on the lot".to_owned()),
            singular_form: Some("Car".to_owned()),
            plural_form: Some("Cars".to_owned()),
            app_prefix: Some("Lot".to_owned()),
            primary_display_label_property_name: Some("model".to_owned()),
            secondary_display_label_property_names: vec!["year".to_owned()],
            properties: Some(vec![
                property("model", "string"),
                property("year", "NUMBER"),
            ]),
            default_create_form_fields: Vec::new(),
        }
    }

    fn check(uid: &str, config: &AppObjectConfig) -> Result<AppObjectDefinition, Vec<String>> {
        let mut problems = Problems::new();
        let def = check_app_object(Some(uid), config, &mut problems);
        match problems.finish(()) {
            Ok(()) => Ok(def.expect("a definition when there are no problems")),
            Err(DomainError::Invalid(errors)) => Err(errors.into_iter().map(|e| e.field).collect()),
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn a_valid_config_becomes_a_definition_with_upper_case_types_folded() {
        let def = check("car_object", &car()).unwrap();
        assert_eq!(def.name, "CAR");
        assert_eq!(def.labels.plural, "Cars");
        assert_eq!(def.properties[1].property_type, PropertyType::Number);
        assert_eq!(def.primary_display_property, "model");
    }

    #[test]
    fn records_see_the_properties_with_the_apps_prefix() {
        let def = check("car_object", &car()).unwrap();
        let (schema, props) = def.schema_for(AppId(1_000_001));
        assert_eq!(schema.name, "car");
        assert_eq!(
            schema.primary_display_property.as_deref(),
            Some("a1000001_model")
        );
        assert_eq!(schema.secondary_display_properties, ["a1000001_year"]);
        assert_eq!(
            schema.searchable_properties,
            ["a1000001_model", "a1000001_year"]
        );
        let names: Vec<_> = props.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["a1000001_model", "a1000001_year"]);
    }

    #[test]
    fn every_problem_is_named_by_its_path_in_the_file() {
        let mut config = car();
        config.name = Some("Car".to_owned());
        config.plural_form = None;
        config.primary_display_label_property_name = Some("colour".to_owned());
        config.secondary_display_label_property_names = vec!["make".to_owned()];
        let errors = check("car object", &config).unwrap_err();
        assert_eq!(
            errors,
            [
                "uid",
                "config.name",
                "config.pluralForm",
                "config.primaryDisplayLabelPropertyName",
                "config.secondaryDisplayLabelPropertyNames[0]"
            ]
        );
    }

    #[test]
    fn property_problems_name_the_property_by_index() {
        let mut config = car();
        let mut bad = property("Make", "colour");
        bad.calculation_formula = Some("1".to_owned());
        config.properties = Some(vec![property("model", "string"), bad]);
        let errors = check("car", &config).unwrap_err();
        assert_eq!(
            errors,
            [
                "config.properties[1].calculationFormula",
                "config.properties[1].name",
                "config.properties[1].type"
            ]
        );
    }

    #[test]
    fn uid_is_at_most_64_characters() {
        assert!(check(&"u".repeat(MAX_UID_CHARS), &car()).is_ok());
        assert_eq!(
            check(&"u".repeat(MAX_UID_CHARS + 1), &car()).unwrap_err(),
            ["uid"]
        );
    }

    #[test]
    fn at_most_a_thousand_properties() {
        let mut config = car();
        let mut list: Vec<_> = (0..MAX_APP_OBJECT_PROPERTIES - 1)
            .map(|i| property(&format!("p{i}"), "string"))
            .collect();
        list.push(property("model", "string"));
        config.properties = Some(list.clone());
        config.secondary_display_label_property_names = Vec::new();
        assert!(check("car", &config).is_ok());
        list.push(property("extra", "string"));
        config.properties = Some(list);
        assert_eq!(check("car", &config).unwrap_err(), ["config.properties"]);
    }

    #[test]
    fn a_redeploy_keeps_the_name_and_every_property_with_its_type() {
        let before = check("car", &car()).unwrap();
        let mut added = car();
        added
            .properties
            .as_mut()
            .unwrap()
            .push(property("vin", "string"));
        assert!(before
            .change_problems(&check("car", &added).unwrap())
            .is_empty());

        let mut changed = car();
        changed.name = Some("AUTO".to_owned());
        changed.properties = Some(vec![property("model", "number")]);
        changed.secondary_display_label_property_names = Vec::new();
        let fields: Vec<_> = before
            .change_problems(&check("car", &changed).unwrap())
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(
            fields,
            [
                "config.name",
                "config.properties[0].type",
                "config.properties"
            ]
        );
    }

    #[test]
    fn fully_qualified_names_parse() {
        assert_eq!(
            parse_fully_qualified_name("a1000001_car"),
            Some((AppId(1_000_001), "CAR".to_owned()))
        );
        assert_eq!(parse_fully_qualified_name("cars"), None);
        assert_eq!(parse_fully_qualified_name("a_car"), None);
        assert_eq!(fully_qualified_name(AppId(7), "CAR"), "a7_CAR");
    }
}
