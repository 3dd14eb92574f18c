//! An app's timeline event type: a name, the object type its events belong to, header and
//! detail templates, and typed properties (v3: tokens), some stamping a CRM property.
//!
//! The v3 endpoints build a definition over HTTP (whole, or step by step: a template, then its
//! tokens, then its templates); v4 reads it from a project file ([`Origin`]). Either way it is
//! checked by [`EventTypeDefinition::check`], which also compiles its templates, and changed
//! only through the functions here, so the rules (limits, unique names, immutable `name` and
//! `type` of a property, immutable object type) hold for both.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::crm::object_type::{ObjectTypeId, StandardType};
use crate::error::{DomainError, Problems, ValidationError};
use crate::render::Templates;
use crate::text::{check_max_chars, check_no_control_chars};

/// At most this many event types per app (seed: timeline events v3, "bis zu 750
/// Event-Vorlagen"; the v4 seed says the same).
pub const MAX_EVENT_TYPES_PER_APP: u64 = 750;

/// At most this many properties (tokens) per event type (seed: "bis zu 500 Token pro
/// Chronik-Event-Vorlage").
pub const MAX_PROPERTIES_PER_TYPE: usize = 500;

/// The longest property name (SPEC.md: `^[A-Za-z0-9_\-.]{1,500}$`).
pub const MAX_PROPERTY_NAME_CHARS: usize = 500;

/// The longest event type name, property label or option text. The v3 seed sets none; this is
/// Chronik's bound so that a definition's size stays bounded (v4 names are at most 50, checked
/// by the project rules).
pub const MAX_TEXT_CHARS: usize = 1_000;

/// The longest header template (the v4 seed's limit; v3 names none and gets the same).
pub const MAX_HEADER_TEMPLATE_CHARS: usize = 1_000;

/// The longest detail template (the v4 seed's limit; v3 names none and gets the same).
pub const MAX_DETAIL_TEMPLATE_CHARS: usize = 10_000;

/// At most this many options per enumeration property. Not a seed figure: Chronik's bound,
/// as many as a type may have properties.
pub const MAX_OPTIONS_PER_PROPERTY: usize = 500;

/// Names a property may not have: the names the templates see besides the properties
/// (`timestamp`, `extraData`), and the Handlebars keywords and helpers HubSpot reserves (the
/// legacy docs name `log` and `lookup`; the block helpers and `this`/`else` would be read as
/// keywords by the template engine).
pub const RESERVED_PROPERTY_NAMES: &[&str] = &[
    crate::render::TIMESTAMP_KEY,
    crate::render::EXTRA_DATA_KEY,
    "log",
    "lookup",
    "each",
    "if",
    "unless",
    "with",
    "else",
    "this",
    "formatDate",
];

/// Where a definition came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Origin {
    /// Created over HTTP (timeline events v3).
    Http,
    /// Deployed from a project file (app events v4), by its `uid`.
    Project {
        /// The component's `uid`.
        uid: String,
    },
}

/// The object type of an event type's events: its id, and the text it was defined with
/// (v3 echoes `objectType` as sent).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventObjectType {
    /// The objectTypeId.
    pub type_id: ObjectTypeId,
    /// As the definition named it (`contacts`, `CONTACT`, `deal`, …).
    pub as_sent: String,
}

impl EventObjectType {
    /// A v3 `objectType`: `contacts`, `companies`, `deals` or `tickets`, also singular and in
    /// any case; kept as sent.
    pub fn parse_v3(field: &str, raw: &str) -> Result<Self, ValidationError> {
        let trimmed = raw.trim();
        match StandardType::ALL.into_iter().find(|t| {
            trimmed.eq_ignore_ascii_case(t.plural()) || trimmed.eq_ignore_ascii_case(t.singular())
        }) {
            Some(t) => Ok(EventObjectType {
                type_id: t.type_id(),
                as_sent: trimmed.to_owned(),
            }),
            None if trimmed.is_empty() => Err(ValidationError::required(field)),
            None => Err(ValidationError::new(
                field,
                "INVALID_OBJECT_TYPE",
                format!(
                    "{field} \"{trimmed}\" is not an object type timeline events can belong to: use contacts, companies, deals or tickets"
                ),
            )),
        }
    }
}

/// A property's type (v3 token types; v4 in upper case).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PropertyType {
    /// Any text.
    String,
    /// A number.
    Number,
    /// A point in time, in epoch milliseconds.
    Date,
    /// One of the property's options, by value.
    Enumeration,
}

impl PropertyType {
    /// Every type, in the order the docs list them.
    pub const ALL: [PropertyType; 4] = [
        PropertyType::String,
        PropertyType::Number,
        PropertyType::Date,
        PropertyType::Enumeration,
    ];

    /// The v3 wire name (`string`); v4 writes it in upper case.
    pub fn as_str(self) -> &'static str {
        match self {
            PropertyType::String => "string",
            PropertyType::Number => "number",
            PropertyType::Date => "date",
            PropertyType::Enumeration => "enumeration",
        }
    }

    /// Parses a type name in either case (SPEC.md).
    pub fn parse(field: &str, raw: &str) -> Result<Self, ValidationError> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(ValidationError::required(field));
        }
        PropertyType::ALL
            .into_iter()
            .find(|t| trimmed.eq_ignore_ascii_case(t.as_str()))
            .ok_or_else(|| {
                ValidationError::new(
                    field,
                    "INVALID_TYPE",
                    format!("{field} \"{trimmed}\" is not a property type: use string, number, date or enumeration"),
                )
            })
    }
}

/// One option of an enumeration property.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PropertyOption {
    /// What people see.
    pub label: String,
    /// What events send.
    pub value: String,
}

/// A typed property of an event type (a v3 token).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventProperty {
    /// Its name: the key events send it under and templates read it by. Immutable.
    pub name: String,
    /// What people see in lists and reports.
    pub label: String,
    /// Its type. Immutable.
    #[serde(rename = "type")]
    pub property_type: PropertyType,
    /// The options of an enumeration; empty for the other types.
    pub options: Vec<PropertyOption>,
    /// The CRM property of the event's record this property's value stamps, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object_property_name: Option<String>,
    /// When it was added.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// An app's timeline event type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventTypeDefinition {
    /// Its name.
    pub name: String,
    /// The object type of its events. Immutable.
    pub object_type: EventObjectType,
    /// The header template (one line of Markdown and Handlebars), when defined.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header_template: Option<String>,
    /// The detail template, when defined.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail_template: Option<String>,
    /// Its properties, in the order they were defined.
    pub properties: Vec<EventProperty>,
    /// Where it came from.
    pub origin: Origin,
}

/// The parts of a property a v3 token update may change (`name` and `type` cannot).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PropertyUpdate {
    /// The new label.
    pub label: String,
    /// The new options (an enumeration needs at least one).
    pub options: Vec<PropertyOption>,
    /// The new stamped CRM property, or none.
    pub object_property_name: Option<String>,
}

impl EventTypeDefinition {
    /// The property of this name.
    pub fn property(&self, name: &str) -> Option<&EventProperty> {
        self.properties.iter().find(|p| p.name == name)
    }

    /// Checks every rule (name, templates, properties and their limits), reporting every
    /// problem at once, and gives the compiled templates. Fields are named as in a v3 body
    /// (`tokens[2].name`).
    pub fn check(&self) -> Result<Templates, DomainError> {
        let mut problems = Problems::new();
        let mut check = |r: Result<(), ValidationError>| {
            if let Err(e) = r {
                problems.push(e);
            }
        };
        check(check_text("name", &self.name));
        if let Some(h) = &self.header_template {
            check(check_max_chars(
                "headerTemplate",
                h,
                MAX_HEADER_TEMPLATE_CHARS,
            ));
        }
        if let Some(d) = &self.detail_template {
            check(check_max_chars(
                "detailTemplate",
                d,
                MAX_DETAIL_TEMPLATE_CHARS,
            ));
        }
        if self.properties.len() > MAX_PROPERTIES_PER_TYPE {
            check(Err(too_many_properties(self.properties.len())));
        }
        let mut seen = std::collections::HashSet::new();
        for (i, p) in self.properties.iter().enumerate() {
            let path = format!("tokens[{i}]");
            for e in check_property(&path, p) {
                check(Err(e));
            }
            if !seen.insert(p.name.as_str()) {
                check(Err(ValidationError::new(
                    format!("{path}.name"),
                    "DUPLICATE",
                    format!(
                        "{path}.name \"{}\" is defined twice: token names are unique per template",
                        p.name
                    ),
                )));
            }
        }
        problems.finish(())?;
        // Compile only a definition that is otherwise sound (the sizes above bound the work).
        Templates::compile(
            self.header_template.as_deref(),
            self.detail_template.as_deref(),
        )
    }
}

/// Checks one property's own rules (not uniqueness), every problem at once.
pub fn check_property(path: &str, p: &EventProperty) -> Vec<ValidationError> {
    let mut problems = Vec::new();
    if let Err(e) = check_property_name(&format!("{path}.name"), &p.name) {
        problems.push(e);
    }
    if let Err(e) = check_text(&format!("{path}.label"), &p.label) {
        problems.push(e);
    }
    problems.extend(check_options(
        &format!("{path}.options"),
        p.property_type,
        &p.options,
    ));
    if let Some(name) = &p.object_property_name {
        if let Err(e) = check_object_property_name(&format!("{path}.objectPropertyName"), name) {
            problems.push(e);
        }
    }
    problems
}

/// A property name: letters, digits, `.`, `-`, `_`, at most [`MAX_PROPERTY_NAME_CHARS`], not
/// one of [`RESERVED_PROPERTY_NAMES`].
pub fn check_property_name(field: &str, name: &str) -> Result<(), ValidationError> {
    if name.is_empty() {
        return Err(ValidationError::required(field));
    }
    if name.chars().count() > MAX_PROPERTY_NAME_CHARS {
        return Err(ValidationError::new(
            field,
            "TOO_LONG",
            format!("{field} is longer than {MAX_PROPERTY_NAME_CHARS} characters"),
        ));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')))
    {
        return Err(ValidationError::new(
            field,
            "INVALID_NAME",
            format!(
                "{field} \"{}\" holds {bad:?}: a token name may hold only letters, digits, '.', '-' and '_'",
                name.escape_debug()
            ),
        ));
    }
    if RESERVED_PROPERTY_NAMES.contains(&name) {
        return Err(ValidationError::new(
            field,
            "RESERVED_NAME",
            format!(
                "{field} \"{name}\" is reserved (the templates use it): choose another name; reserved are {}",
                RESERVED_PROPERTY_NAMES.join(", ")
            ),
        ));
    }
    Ok(())
}

/// The options of a property of type `t`: at least one (and at most
/// [`MAX_OPTIONS_PER_PROPERTY`]) for an enumeration, each with a label and a value, values
/// unique; none for the other types.
pub fn check_options(
    field: &str,
    t: PropertyType,
    options: &[PropertyOption],
) -> Vec<ValidationError> {
    let mut problems = Vec::new();
    if t != PropertyType::Enumeration {
        if !options.is_empty() {
            problems.push(ValidationError::new(
                field,
                "OPTIONS_NOT_ALLOWED",
                format!(
                    "{field}: only enumeration tokens have options; a {} token takes none",
                    t.as_str()
                ),
            ));
        }
        return problems;
    }
    if options.is_empty() {
        problems.push(ValidationError::new(
            field,
            "REQUIRED",
            format!("{field}: an enumeration token needs at least one option"),
        ));
    }
    if options.len() > MAX_OPTIONS_PER_PROPERTY {
        problems.push(ValidationError::new(
            field,
            "TOO_MANY",
            format!(
                "{field} has {} options; at most {MAX_OPTIONS_PER_PROPERTY} are allowed",
                options.len()
            ),
        ));
        return problems;
    }
    let mut values = std::collections::HashSet::new();
    for (i, o) in options.iter().enumerate() {
        if let Err(e) = check_text(&format!("{field}[{i}].label"), &o.label) {
            problems.push(e);
        }
        if let Err(e) = check_text(&format!("{field}[{i}].value"), &o.value) {
            problems.push(e);
        }
        if !values.insert(o.value.as_str()) {
            problems.push(ValidationError::new(
                format!("{field}[{i}].value"),
                "DUPLICATE",
                format!(
                    "{field}[{i}].value \"{}\" is given twice: option values are unique",
                    o.value
                ),
            ));
        }
    }
    problems
}

/// The CRM property a token stamps: a property name (a letter, then letters, digits and `_`,
/// at most 100). Upper case is allowed because HubSpot's own token example stamps
/// `customPropertyPetType`; whether the record type has the property is decided when an
/// event stamps it (an event naming a property the account lacks is refused, naming it).
pub fn check_object_property_name(field: &str, name: &str) -> Result<(), ValidationError> {
    let ok = name.len() <= 100
        && name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(ValidationError::new(
            field,
            "INVALID_PROPERTY_NAME",
            format!(
                "{field} \"{}\" is not a CRM property name (a letter, then letters, digits and '_', at most 100)",
                name.escape_debug()
            ),
        ))
    }
}

/// A name, label or option text: not empty, no control characters, at most
/// [`MAX_TEXT_CHARS`].
fn check_text(field: &str, value: &str) -> Result<(), ValidationError> {
    if value.trim().is_empty() {
        return Err(ValidationError::required(field));
    }
    check_no_control_chars(field, value)?;
    check_max_chars(field, value, MAX_TEXT_CHARS)
}

fn too_many_properties(n: usize) -> ValidationError {
    ValidationError::new(
        "tokens",
        "TOO_MANY",
        format!(
            "a template may have at most {MAX_PROPERTIES_PER_TYPE} tokens; this one would have {n}"
        ),
    )
}

/// Adds a property (v3: `POST …/tokens`). `Conflict` when the type has one of that name;
/// refused past [`MAX_PROPERTIES_PER_TYPE`].
pub fn add_property(
    current: &EventTypeDefinition,
    mut property: EventProperty,
    now: DateTime<Utc>,
) -> Result<(EventTypeDefinition, Templates), DomainError> {
    let problems = check_property("", &property);
    if !problems.is_empty() {
        return Err(DomainError::Invalid(strip_dot(problems)));
    }
    if current.property(&property.name).is_some() {
        return Err(DomainError::Conflict(format!(
            "the template already has a token named \"{}\": token names are unique per template (update it with PUT …/tokens/{})",
            property.name, property.name
        )));
    }
    if current.properties.len() >= MAX_PROPERTIES_PER_TYPE {
        // The same refusal as a create or replacement with too many tokens.
        return Err(too_many_properties(current.properties.len() + 1).into());
    }
    property.created_at = now;
    property.updated_at = now;
    let mut next = current.clone();
    next.properties.push(property);
    let templates = next.check()?;
    Ok((next, templates))
}

/// Changes a property's label, options and stamped CRM property (v3: `PUT …/tokens/{name}`).
/// `NotFound` when the type has none of that name.
pub fn update_property(
    current: &EventTypeDefinition,
    name: &str,
    update: PropertyUpdate,
    now: DateTime<Utc>,
) -> Result<(EventTypeDefinition, Templates), DomainError> {
    let mut next = current.clone();
    let Some(p) = next.properties.iter_mut().find(|p| p.name == name) else {
        return Err(no_such_property(name));
    };
    p.label = update.label;
    p.options = update.options;
    p.object_property_name = update.object_property_name;
    p.updated_at = now;
    let problems = check_property("", p);
    if !problems.is_empty() {
        return Err(DomainError::Invalid(strip_dot(problems)));
    }
    let templates = next.check()?;
    Ok((next, templates))
}

/// Removes a property (v3: `DELETE …/tokens/{name}`). `NotFound` when the type has none of
/// that name. Events already stored keep their values; renders no longer see them.
pub fn remove_property(
    current: &EventTypeDefinition,
    name: &str,
) -> Result<(EventTypeDefinition, Templates), DomainError> {
    let mut next = current.clone();
    let before = next.properties.len();
    next.properties.retain(|p| p.name != name);
    if next.properties.len() == before {
        return Err(no_such_property(name));
    }
    let templates = next.check()?;
    Ok((next, templates))
}

/// Replaces a definition as a whole (v3: `PUT` of a template). The object type stays; a
/// property kept by name keeps its `createdAt` and must keep its type.
pub fn replace(
    current: &EventTypeDefinition,
    mut replacement: EventTypeDefinition,
    now: DateTime<Utc>,
) -> Result<(EventTypeDefinition, Templates), DomainError> {
    if replacement.object_type.type_id != current.object_type.type_id {
        return Err(ValidationError::new(
            "objectType",
            "IMMUTABLE",
            format!(
                "objectType cannot change: the template's events belong to {}",
                current.object_type.as_sent
            ),
        )
        .into());
    }
    replacement.object_type = current.object_type.clone();
    replacement.origin = current.origin.clone();
    let mut problems = Vec::new();
    for (i, p) in replacement.properties.iter_mut().enumerate() {
        match current.property(&p.name) {
            Some(old) if old.property_type != p.property_type => {
                problems.push(ValidationError::new(
                    format!("tokens[{i}].type"),
                    "IMMUTABLE",
                    format!(
                        "tokens[{i}].type: the type of token \"{}\" cannot change (it is {}); remove the token and add one under another name",
                        p.name,
                        old.property_type.as_str()
                    ),
                ));
            }
            Some(old) => {
                let unchanged = old.label == p.label
                    && old.options == p.options
                    && old.object_property_name == p.object_property_name;
                p.created_at = old.created_at;
                p.updated_at = if unchanged { old.updated_at } else { now };
            }
            None => {
                p.created_at = now;
                p.updated_at = now;
            }
        }
    }
    if !problems.is_empty() {
        return Err(DomainError::Invalid(problems));
    }
    let templates = replacement.check()?;
    Ok((replacement, templates))
}

fn no_such_property(name: &str) -> DomainError {
    DomainError::NotFound(format!("the template has no token named \"{name}\""))
}

/// Field paths of a lone property checked with an empty prefix start with a dot; drop it.
fn strip_dot(mut problems: Vec<ValidationError>) -> Vec<ValidationError> {
    for p in &mut problems {
        if let Some(rest) = p.field.strip_prefix('.') {
            p.field = rest.to_owned();
        }
        if let Some(rest) = p.message.strip_prefix('.') {
            p.message = rest.to_owned();
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t0() -> DateTime<Utc> {
        DateTime::from_timestamp_millis(1_600_000_000_000).unwrap()
    }

    pub(crate) fn prop(name: &str, t: PropertyType) -> EventProperty {
        EventProperty {
            name: name.into(),
            label: format!("{name} label"),
            property_type: t,
            options: if t == PropertyType::Enumeration {
                vec![PropertyOption {
                    label: "A".into(),
                    value: "a".into(),
                }]
            } else {
                Vec::new()
            },
            object_property_name: None,
            created_at: t0(),
            updated_at: t0(),
        }
    }

    pub(crate) fn def(props: Vec<EventProperty>) -> EventTypeDefinition {
        EventTypeDefinition {
            name: "Webinar".into(),
            object_type: EventObjectType::parse_v3("objectType", "contacts").unwrap(),
            header_template: Some("Registered for {{webinarName}}".into()),
            detail_template: None,
            properties: props,
            origin: Origin::Http,
        }
    }

    fn fields(e: DomainError) -> Vec<String> {
        match e {
            DomainError::Invalid(v) => v.into_iter().map(|e| e.field).collect(),
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    #[test]
    fn object_types_accept_plural_singular_and_upper_case_and_echo_as_sent() {
        for raw in ["contacts", "CONTACT", "Companies", "deal", "TICKETS"] {
            let t = EventObjectType::parse_v3("objectType", raw).unwrap();
            assert_eq!(t.as_sent, raw);
        }
        let e = EventObjectType::parse_v3("objectType", "products").unwrap_err();
        assert!(
            e.message.contains("contacts, companies, deals or tickets"),
            "{e}"
        );
    }

    #[test]
    fn property_names_follow_the_character_rule_and_reserved_names() {
        assert!(check_property_name("name", "pet.name-2_x").is_ok());
        let e = check_property_name("name", "pet name").unwrap_err();
        assert_eq!(e.code, "INVALID_NAME");
        for reserved in ["timestamp", "extraData", "log", "lookup", "this"] {
            assert_eq!(
                check_property_name("name", reserved).unwrap_err().code,
                "RESERVED_NAME"
            );
        }
        let at = "a".repeat(MAX_PROPERTY_NAME_CHARS);
        assert!(check_property_name("name", &at).is_ok());
        let past = "a".repeat(MAX_PROPERTY_NAME_CHARS + 1);
        assert_eq!(
            check_property_name("name", &past).unwrap_err().code,
            "TOO_LONG"
        );
    }

    #[test]
    fn enumerations_need_options_and_others_take_none() {
        let mut e = prop("kind", PropertyType::Enumeration);
        e.options.clear();
        assert_eq!(
            fields(def(vec![e]).check().unwrap_err()),
            ["tokens[0].options"]
        );
        let mut s = prop("name", PropertyType::String);
        s.options.push(PropertyOption {
            label: "x".into(),
            value: "x".into(),
        });
        assert_eq!(
            fields(def(vec![s]).check().unwrap_err()),
            ["tokens[0].options"]
        );
    }

    #[test]
    fn token_count_is_limited_at_500() {
        let props = |n: usize| {
            (0..n)
                .map(|i| prop(&format!("t{i}"), PropertyType::String))
                .collect::<Vec<_>>()
        };
        assert!(def(props(MAX_PROPERTIES_PER_TYPE)).check().is_ok());
        let e = def(props(MAX_PROPERTIES_PER_TYPE + 1)).check().unwrap_err();
        assert!(e.to_string().contains("at most 500 tokens"), "{e}");
        let full = def(props(MAX_PROPERTIES_PER_TYPE));
        let e = add_property(&full, prop("one_more", PropertyType::String), t0()).unwrap_err();
        assert_eq!(fields(e), ["tokens"]);
    }

    #[test]
    fn duplicate_names_are_refused_in_a_definition_and_when_added() {
        let d = def(vec![
            prop("a", PropertyType::String),
            prop("a", PropertyType::Number),
        ]);
        assert_eq!(fields(d.check().unwrap_err()), ["tokens[1].name"]);
        let one = def(vec![prop("a", PropertyType::String)]);
        let e = add_property(&one, prop("a", PropertyType::String), t0()).unwrap_err();
        assert!(matches!(e, DomainError::Conflict(_)), "{e:?}");
    }

    #[test]
    fn templates_that_do_not_compile_are_refused_with_their_field() {
        let mut d = def(Vec::new());
        d.detail_template = Some("{{#if x}}open".into());
        let e = d.check().unwrap_err();
        assert_eq!(fields(e), ["detailTemplate"]);
        d.detail_template = Some("x".repeat(MAX_DETAIL_TEMPLATE_CHARS + 1));
        assert_eq!(fields(d.check().unwrap_err()), ["detailTemplate"]);
        d.detail_template = Some("x".repeat(MAX_DETAIL_TEMPLATE_CHARS));
        assert!(d.check().is_ok());
    }

    #[test]
    fn updates_keep_name_and_type_and_stamp_updated_at() {
        let d = def(vec![prop("kind", PropertyType::Enumeration)]);
        let later = t0() + chrono::Duration::days(1);
        let (next, _) = update_property(
            &d,
            "kind",
            PropertyUpdate {
                label: "Kind".into(),
                options: vec![PropertyOption {
                    label: "B".into(),
                    value: "b".into(),
                }],
                object_property_name: Some("kind_of_pet".into()),
            },
            later,
        )
        .unwrap();
        let p = next.property("kind").unwrap();
        assert_eq!((p.created_at, p.updated_at), (t0(), later));
        assert_eq!(p.object_property_name.as_deref(), Some("kind_of_pet"));
        let e = update_property(
            &d,
            "kind",
            PropertyUpdate {
                label: "Kind".into(),
                options: Vec::new(),
                object_property_name: None,
            },
            later,
        )
        .unwrap_err();
        assert_eq!(fields(e), ["options"]);
        assert!(matches!(
            update_property(
                &d,
                "nope",
                PropertyUpdate {
                    label: "x".into(),
                    options: vec![],
                    object_property_name: None
                },
                later
            ),
            Err(DomainError::NotFound(_))
        ));
        assert!(matches!(
            remove_property(&d, "nope"),
            Err(DomainError::NotFound(_))
        ));
        assert!(remove_property(&d, "kind").unwrap().0.properties.is_empty());
    }

    #[test]
    fn replacing_keeps_object_type_created_at_and_refuses_a_type_change() {
        let d = def(vec![prop("a", PropertyType::String)]);
        let later = t0() + chrono::Duration::days(1);
        let mut r = def(vec![
            prop("a", PropertyType::String),
            prop("b", PropertyType::Number),
        ]);
        r.properties[1].created_at = later; // whatever the caller sent
        let (next, _) = replace(&d, r, later).unwrap();
        assert_eq!(next.properties[0].created_at, t0());
        assert_eq!(next.properties[0].updated_at, t0(), "unchanged token");
        assert_eq!(next.properties[1].created_at, later);

        let r = def(vec![prop("a", PropertyType::Number)]);
        assert_eq!(
            fields(replace(&d, r, later).unwrap_err()),
            ["tokens[0].type"]
        );

        let mut r = def(Vec::new());
        r.object_type = EventObjectType::parse_v3("objectType", "deals").unwrap();
        assert_eq!(fields(replace(&d, r, later).unwrap_err()), ["objectType"]);
    }

    #[test]
    fn stamped_property_names_take_hubspots_camel_case_example() {
        for ok in ["customPropertyPetType", "pet_type", "a1"] {
            assert!(
                check_object_property_name("objectPropertyName", ok).is_ok(),
                "{ok}"
            );
        }
        for bad in ["", "1pet", "pet-type", "pet type", &"a".repeat(101)] {
            assert!(
                check_object_property_name("objectPropertyName", bad).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_definition_round_trips_through_its_stored_json() {
        let mut p = prop("kind", PropertyType::Enumeration);
        p.object_property_name = Some("kind".into());
        let d = def(vec![p]);
        let json = serde_json::to_string(&d).unwrap();
        assert_eq!(
            serde_json::from_str::<EventTypeDefinition>(&json).unwrap(),
            d
        );
    }
}
