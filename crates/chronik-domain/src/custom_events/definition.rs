//! Event definitions (`/events/v3/event-definitions`): names, labels, primary objects, the
//! properties of a new definition and later changes to them, and custom matching ids.

use super::completion::MAX_VALUE_CHARS;
use crate::crm::object_type::ObjectTypeId;
use crate::crm::property::{simple_options, PropertyOption, PropertyType};
use crate::error::{DomainError, Problems, ValidationError};
use crate::text::{check_max_chars, parse_optional_text, MAX_DESCRIPTION_CHARS};

/// Seed (custom events, limits): labels are at most 50 characters.
pub const MAX_LABEL_CHARS: usize = 50;

/// Seed (custom events, limits): internal names are at most 50 characters.
pub const MAX_NAME_CHARS: usize = 50;

/// api-reference §1.5: at most 50 custom properties per definition.
pub const MAX_CUSTOM_PROPERTIES: usize = 50;

/// Seed (custom events, limits): 500 event definitions per account. SPEC.md makes it a
/// configurable quota; this is the default.
pub const DEFAULT_MAX_DEFINITIONS: u64 = 500;

/// The record type a definition's completions belong to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrimaryObject {
    /// `CONTACT` (the default).
    Contact,
    /// `COMPANY`.
    Company,
    /// `DEAL`.
    Deal,
    /// `TICKET`.
    Ticket,
    /// A custom object, by the name or type id the caller gave (resolved by the server).
    Custom(String),
}

impl PrimaryObject {
    /// Parses `primaryObject`: the four standard names in any case, else a custom object.
    pub fn parse(raw: &str) -> PrimaryObject {
        match raw.to_ascii_uppercase().as_str() {
            "CONTACT" | "CONTACTS" | "0-1" => PrimaryObject::Contact,
            "COMPANY" | "COMPANIES" | "0-2" => PrimaryObject::Company,
            "DEAL" | "DEALS" | "0-3" => PrimaryObject::Deal,
            "TICKET" | "TICKETS" | "0-5" => PrimaryObject::Ticket,
            _ => PrimaryObject::Custom(raw.to_owned()),
        }
    }
}

/// Checks an internal name (event or property): starts with a letter, then `a-z`, `0-9`,
/// `_`; at most [`MAX_NAME_CHARS`] characters.
pub fn parse_internal_name(field: &str, raw: &str) -> Result<String, ValidationError> {
    let chars = raw.chars().count();
    if chars == 0 {
        return Err(ValidationError::required(field));
    }
    if chars > MAX_NAME_CHARS {
        return Err(ValidationError::new(
            field,
            "TOO_LONG",
            format!(
                "{field} has {chars} characters; an internal name has at most {MAX_NAME_CHARS}"
            ),
        ));
    }
    let first = raw.chars().next().is_some_and(|c| c.is_ascii_lowercase());
    if !first
        || !raw
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    {
        return Err(ValidationError::new(
            field,
            "INVALID_NAME",
            format!(
                "{field} \"{raw}\" must start with a letter and use only lower-case a-z, 0-9 and _"
            ),
        ));
    }
    Ok(raw.to_owned())
}

/// Checks a label: required, at most [`MAX_LABEL_CHARS`] characters.
pub fn parse_label(field: &str, raw: Option<&str>) -> Result<String, ValidationError> {
    let label = raw.map(str::trim).unwrap_or_default();
    let chars = label.chars().count();
    if chars == 0 {
        return Err(ValidationError::required(field));
    }
    if chars > MAX_LABEL_CHARS {
        return Err(ValidationError::new(
            field,
            "TOO_LONG",
            format!("{field} has {chars} characters; a label has at most {MAX_LABEL_CHARS}"),
        ));
    }
    Ok(label.to_owned())
}

/// Checks the `description` of a definition or of one of its properties: optional, at most
/// [`MAX_DESCRIPTION_CHARS`] characters (our own bound; the seed and HubSpot's spec give none).
pub fn parse_description(field: &str, raw: Option<&str>) -> Result<String, ValidationError> {
    parse_optional_text(field, raw, MAX_DESCRIPTION_CHARS)
}

/// The internal name HubSpot derives from a label when none is sent: lower-cased, every run of
/// other characters an `_`, a leading digit prefixed, cut to [`MAX_NAME_CHARS`].
pub fn name_from_label(label: &str) -> String {
    let mut name = String::new();
    for c in label.trim().to_lowercase().chars() {
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            name.push(c);
        } else if !name.ends_with('_') {
            name.push('_');
        }
    }
    let mut name = name.trim_matches('_').to_owned();
    if !name.starts_with(|c: char| c.is_ascii_lowercase()) {
        name.insert_str(0, "e_");
    }
    name.chars()
        .take(MAX_NAME_CHARS)
        .collect::<String>()
        .trim_end_matches('_')
        .to_owned()
}

/// The fully qualified name completions are sent with: `pe{portalId}_{name}`.
pub fn fully_qualified_name(portal_id: i64, name: &str) -> String {
    format!("pe{portal_id}_{name}")
}

/// The internal name in `fqn` when it is a fully qualified name of `portal_id`'s events (the
/// inverse of [`fully_qualified_name`]); `None` for another account's or another kind's.
pub fn short_name(portal_id: i64, fqn: &str) -> Option<&str> {
    fqn.strip_prefix("pe")?
        .strip_prefix(portal_id.to_string().as_str())?
        .strip_prefix('_')
}

/// `customMatchingId.primaryObjectRule`: the event property whose value finds the record by a
/// unique property of the primary object.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomMatchingId {
    /// The record's unique property (e.g. `email`).
    pub target_object_property_name: String,
    /// The event property that holds its value.
    pub event_property_name: String,
}

/// A checked event definition, as the store keeps it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventDefinition {
    /// Internal name (unique per account, never reused).
    pub name: String,
    /// Label.
    pub label: String,
    /// Description.
    pub description: String,
    /// The objectTypeId of the primary object (`0-1` for contacts, `2-<n>` for a custom object).
    pub primary_object_type_id: ObjectTypeId,
    /// Whether HubSpot's default event properties belong to it.
    pub include_default_properties: bool,
    /// Its custom properties, in the order they were added.
    pub properties: Vec<EventProperty>,
    /// How completions find their record, when set.
    pub custom_matching_id: Option<CustomMatchingId>,
}

impl EventDefinition {
    /// Every property a completion may set: the custom ones and, when included, the default
    /// ones.
    pub fn all_properties(&self) -> Vec<EventProperty> {
        let mut all = self.properties.clone();
        if self.include_default_properties {
            all.extend(default_event_properties());
        }
        all
    }

    /// The property `name` (custom, or default when included).
    pub fn property(&self, name: &str) -> Option<EventProperty> {
        self.all_properties().into_iter().find(|p| p.name == name)
    }
}

/// One property of an event definition.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventProperty {
    /// Internal name.
    pub name: String,
    /// Label.
    pub label: String,
    /// Data type.
    #[serde(rename = "type")]
    pub property_type: PropertyType,
    /// Description.
    pub description: String,
    /// Options of an enumeration.
    pub options: Vec<PropertyOption>,
    /// Whether HubSpot defines it (the default event properties).
    pub hubspot_defined: bool,
}

impl EventProperty {
    /// Whether values may be up to 1,024 characters instead of 256 (SPEC.md: `hs_url`,
    /// `hs_referrer` and properties of URL type; the define-events guide counts every string
    /// property whose name contains `url`, `referrer` or `link`).
    pub fn is_url(&self) -> bool {
        self.property_type == PropertyType::String
            && ["url", "referrer", "link"]
                .iter()
                .any(|part| self.name.contains(part))
    }
}

/// A property as sent (`ExternalBehavioralEventPropertyCreate`).
#[derive(Debug, Clone, Default)]
pub struct EventPropertyInput {
    /// `name` (derived from the label when absent).
    pub name: Option<String>,
    /// `label`.
    pub label: Option<String>,
    /// `type`.
    pub property_type: Option<String>,
    /// `description`.
    pub description: Option<String>,
    /// `options[]` as `(label, value)`.
    pub options: Vec<(Option<String>, Option<String>)>,
}

/// Checks one property definition; `path` prefixes field names (`propertyDefinitions[2].`).
pub fn parse_event_property(
    path: &str,
    input: &EventPropertyInput,
    problems: &mut Problems,
) -> Option<EventProperty> {
    let field = |f: &str| format!("{path}{f}");
    let label = match parse_label(&field("label"), input.label.as_deref()) {
        Ok(l) => Some(l),
        Err(e) => {
            problems.push(e);
            None
        }
    };
    let name = match (&input.name, &label) {
        (Some(n), _) => parse_internal_name(&field("name"), n)
            .map_err(|e| problems.push(e))
            .ok(),
        (None, Some(l)) => Some(name_from_label(l)),
        (None, None) => None,
    };
    if name.as_deref().is_some_and(|n| n.starts_with("hs_")) {
        problems.push(ValidationError::new(
            field("name"),
            "RESERVED_NAME",
            format!(
                "{} may not start with hs_, which HubSpot's default event properties use",
                field("name")
            ),
        ));
    }
    let property_type = match input.property_type.as_deref() {
        None => {
            problems.push(ValidationError::required(&field("type")));
            None
        }
        Some(t) => match PropertyType::parse(&t.to_ascii_lowercase()) {
            Some(t) => Some(t),
            None => {
                problems.push(ValidationError::new(
                    field("type"),
                    "INVALID_TYPE",
                    format!("{} \"{t}\" must be one of bool, enumeration, date, datetime, number, string", field("type")),
                ));
                None
            }
        },
    };
    let description = parse_description(&field("description"), input.description.as_deref())
        .map_err(|e| problems.push(e))
        .ok();
    let options = parse_options(path, &input.options, problems);
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
    Some(EventProperty {
        name: name?,
        label: label?,
        property_type: property_type?,
        description: description?,
        options,
        hubspot_defined: false,
    })
}

/// Checks the custom properties of a new definition: each one, at most
/// [`MAX_CUSTOM_PROPERTIES`], no name twice.
pub fn parse_event_properties(
    inputs: &[EventPropertyInput],
) -> Result<Vec<EventProperty>, DomainError> {
    let mut problems = Problems::new();
    if inputs.len() > MAX_CUSTOM_PROPERTIES {
        problems.push(ValidationError::new(
            "propertyDefinitions",
            "TOO_MANY_PROPERTIES",
            format!(
                "propertyDefinitions has {} properties; a definition has at most {MAX_CUSTOM_PROPERTIES}",
                inputs.len()
            ),
        ));
    }
    let mut parsed: Vec<EventProperty> = Vec::new();
    for (i, input) in inputs.iter().enumerate() {
        if let Some(p) =
            parse_event_property(&format!("propertyDefinitions[{i}]."), input, &mut problems)
        {
            if parsed.iter().any(|q| q.name == p.name) {
                problems.push(ValidationError::new(
                    format!("propertyDefinitions[{i}].name"),
                    "DUPLICATE_PROPERTY",
                    format!("propertyDefinitions[{i}].name \"{}\" appears twice", p.name),
                ));
            }
            parsed.push(p);
        }
    }
    problems.finish(parsed)
}

/// Checks `options[]` as `(label, value)` pairs; each needs both, of at most
/// [`MAX_VALUE_CHARS`] characters: a completion carries an option's value, so a longer one
/// could never be sent, and its label gets the same bound. `path` prefixes the field names.
fn parse_options(
    path: &str,
    inputs: &[(Option<String>, Option<String>)],
    problems: &mut Problems,
) -> Vec<PropertyOption> {
    let mut options = Vec::new();
    for (i, (label, value)) in inputs.iter().enumerate() {
        match (
            label.as_deref().filter(|l| !l.is_empty()),
            value.as_deref().filter(|v| !v.is_empty()),
        ) {
            (Some(l), Some(v)) => {
                let label_field = format!("{path}options[{i}].label");
                let value_field = format!("{path}options[{i}].value");
                let label = check_max_chars(&label_field, l, MAX_VALUE_CHARS);
                let value = check_max_chars(&value_field, v, MAX_VALUE_CHARS);
                match (label, value) {
                    (Ok(()), Ok(())) => options.push(PropertyOption {
                        label: l.to_owned(),
                        value: v.to_owned(),
                        display_order: i as i32,
                        hidden: false,
                        description: None,
                    }),
                    (label, value) => {
                        label.err().into_iter().for_each(|e| problems.push(e));
                        value.err().into_iter().for_each(|e| problems.push(e));
                    }
                }
            }
            (None, _) => problems.push(ValidationError::required(&format!(
                "{path}options[{i}].label"
            ))),
            (_, None) => problems.push(ValidationError::required(&format!(
                "{path}options[{i}].value"
            ))),
        }
    }
    options
}

/// Adds a checked property to an existing definition (`POST …/property`): at most
/// [`MAX_CUSTOM_PROPERTIES`] custom ones, and no name twice.
pub fn add_event_property(
    definition: &EventDefinition,
    property: EventProperty,
) -> Result<EventDefinition, DomainError> {
    if definition.properties.len() >= MAX_CUSTOM_PROPERTIES {
        return Err(ValidationError::new(
            "propertyDefinitions",
            "TOO_MANY_PROPERTIES",
            format!(
                "event \"{}\" already has {} custom properties; a definition has at most {MAX_CUSTOM_PROPERTIES}, so delete one before adding another",
                definition.name,
                definition.properties.len()
            ),
        )
        .into());
    }
    if definition.property(&property.name).is_some() {
        return Err(DomainError::Conflict(format!(
            "event \"{}\" already has a property named \"{}\"",
            definition.name, property.name
        )));
    }
    let mut next = definition.clone();
    next.properties.push(property);
    Ok(next)
}

/// A property change as sent (`PATCH …/property/{propertyName}`). Only the label, the
/// description and the options may change; `property_type` is there to refuse a change.
#[derive(Debug, Clone, Default)]
pub struct EventPropertyPatch {
    /// `label`.
    pub label: Option<String>,
    /// `description`.
    pub description: Option<String>,
    /// `options[]` as `(label, value)`; replaces every option.
    pub options: Option<Vec<(Option<String>, Option<String>)>>,
    /// `type`: must be absent or the current type.
    pub property_type: Option<String>,
}

fn custom_property_index(
    definition: &EventDefinition,
    name: &str,
    verb: &str,
) -> Result<usize, DomainError> {
    if let Some(i) = definition.properties.iter().position(|p| p.name == name) {
        return Ok(i);
    }
    if definition.property(name).is_some() {
        return Err(ValidationError::new(
            "propertyName",
            "HUBSPOT_DEFINED",
            format!("property \"{name}\" is one of HubSpot's default event properties and cannot be {verb}"),
        )
        .into());
    }
    Err(DomainError::NotFound(format!(
        "event \"{}\" has no property named \"{name}\"",
        definition.name
    )))
}

/// Applies a property change to the custom property `name` of `definition`. A type change
/// is refused (HubSpot: delete the property and create it again), as are changes to
/// HubSpot's default properties.
pub fn update_event_property(
    definition: &EventDefinition,
    name: &str,
    patch: &EventPropertyPatch,
) -> Result<EventDefinition, DomainError> {
    let i = custom_property_index(definition, name, "changed")?;
    let mut property = definition.properties[i].clone();
    let mut problems = Problems::new();
    if let Some(t) = &patch.property_type {
        if !t.eq_ignore_ascii_case(property.property_type.as_str()) {
            problems.push(ValidationError::new(
                "type",
                "IMMUTABLE",
                format!(
                    "type of property \"{name}\" is {} and cannot change to \"{t}\"; delete the property and create it again with the new type",
                    property.property_type.as_str()
                ),
            ));
        }
    }
    if let Some(label) = &patch.label {
        match parse_label("label", Some(label)) {
            Ok(l) => property.label = l,
            Err(e) => problems.push(e),
        }
    }
    if let Some(description) = &patch.description {
        match parse_description("description", Some(description)) {
            Ok(d) => property.description = d,
            Err(e) => problems.push(e),
        }
    }
    if let Some(options) = &patch.options {
        if property.property_type == PropertyType::Enumeration && options.is_empty() {
            problems.push(ValidationError::new(
                "options",
                "REQUIRED",
                "options needs at least one option for an enumeration",
            ));
        }
        property.options = parse_options("", options, &mut problems);
    }
    let mut next = definition.clone();
    next.properties[i] = property;
    problems.finish(next)
}

/// Removes the custom property `name` of `definition`. HubSpot's default properties and
/// the property a custom matching id reads cannot be deleted.
pub fn remove_event_property(
    definition: &EventDefinition,
    name: &str,
) -> Result<EventDefinition, DomainError> {
    let i = custom_property_index(definition, name, "deleted")?;
    if let Some(rule) = &definition.custom_matching_id {
        if rule.event_property_name == name {
            return Err(ValidationError::new(
                "propertyName",
                "IN_USE",
                format!(
                    "property \"{name}\" is the customMatchingId's eventPropertyName of event \"{}\" and cannot be deleted",
                    definition.name
                ),
            )
            .into());
        }
    }
    let mut next = definition.clone();
    next.properties.remove(i);
    Ok(next)
}

/// `customMatchingId.primaryObjectRule` as sent.
#[derive(Debug, Clone, Default)]
pub struct CustomMatchingIdInput {
    /// `targetObjectPropertyName`.
    pub target_object_property_name: Option<String>,
    /// `eventPropertyName`.
    pub event_property_name: Option<String>,
}

/// The field path of `customMatchingId.primaryObjectRule`.
const RULE_PATH: &str = "customMatchingId.primaryObjectRule";

/// Checks a custom matching id against the definition it belongs to. `rule` is `None` when
/// `primaryObjectRule` is missing. The event property must be one of the definition's
/// properties (custom, or default when included); the target must be one of
/// `unique_targets`, the primary object's properties whose value identifies one record
/// (`primary` names the object in messages).
pub fn parse_custom_matching_id(
    rule: Option<&CustomMatchingIdInput>,
    definition: &EventDefinition,
    primary: &str,
    unique_targets: &[String],
) -> Result<CustomMatchingId, DomainError> {
    let Some(rule) = rule else {
        return Err(ValidationError::required(RULE_PATH).into());
    };
    let mut problems = Problems::new();
    let event_field = format!("{RULE_PATH}.eventPropertyName");
    let target_field = format!("{RULE_PATH}.targetObjectPropertyName");
    let event = rule
        .event_property_name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty());
    let target = rule
        .target_object_property_name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty());
    match event {
        None => problems.push(ValidationError::required(&event_field)),
        Some(e) if definition.property(e).is_none() => problems.push(ValidationError::new(
            &event_field,
            "UNKNOWN_PROPERTY",
            format!(
                "{event_field} \"{e}\" is not a property of this event; name one of its propertyDefinitions{}",
                if definition.include_default_properties {
                    " or a default hs_ property"
                } else {
                    ""
                }
            ),
        )),
        Some(_) => {}
    }
    match target {
        None => problems.push(ValidationError::required(&target_field)),
        Some(t) if !unique_targets.iter().any(|u| u == t) => problems.push(ValidationError::new(
            &target_field,
            "NOT_UNIQUE",
            format!(
                "{target_field} \"{t}\" is not a unique property of {primary}; use one of {}",
                unique_targets.join(", ")
            ),
        )),
        Some(_) => {}
    }
    problems.finish(CustomMatchingId {
        target_object_property_name: target.unwrap_or_default().to_owned(),
        event_property_name: event.unwrap_or_default().to_owned(),
    })
}

fn default_property(
    name: &str,
    label: &str,
    property_type: PropertyType,
    options: &[&str],
) -> EventProperty {
    EventProperty {
        name: name.to_owned(),
        label: label.to_owned(),
        property_type,
        description: String::new(),
        options: simple_options(options),
        hubspot_defined: true,
    }
}

/// Seed (custom events, attribution): the asset types `hs_page_content_type` and
/// `hs_asset_type` accept.
pub const ASSET_TYPES: &[&str] = &[
    "STANDARD_PAGE",
    "LANDING_PAGE",
    "BLOG_POST",
    "KNOWLEDGE_ARTICLE",
    "AD",
    "CALL",
    "CONTACT_IMPORT",
    "CONVERSATION",
    "CUSTOM_BEHAVIORAL_EVENT_NAME",
    "EMAIL",
    "EXTERNAL_PAGE",
    "INTEGRATIONS",
    "MARKETING_EVENT",
    "MEDIA_BRIDGE",
    "MEETING",
    "SALES_EMAIL",
    "SEQUENCE",
    "SOCIAL_POST",
    "OTHER",
];

/// Seed (custom events, attribution): the interaction sources `hs_touchpoint_source` accepts.
pub const TOUCHPOINT_SOURCES: &[&str] = &[
    "CONVERSATION",
    "DIRECT_TRAFFIC",
    "EMAIL_MARKETING",
    "HUBSPOT_CRM",
    "INTEGRATION",
    "MARKETING_EVENT",
    "OFFLINE",
    "ORGANIC_SEARCH",
    "OTHER_CAMPAIGNS",
    "PAID_SEARCH",
    "PAID_SOCIAL",
    "REFERRALS",
    "SALES",
];

/// HubSpot's default event properties (api-reference §1.5), added when a definition is
/// created with `includeDefaultProperties` (the default). `hs_url` is the generic URL property
/// the send limits name.
pub fn default_event_properties() -> Vec<EventProperty> {
    use PropertyType::{Enumeration, Number, String as Text};
    let mut props: Vec<EventProperty> = [
        ("hs_asset_description", "Asset description"),
        ("hs_asset_title", "Asset title"),
        ("hs_browser", "Browser"),
        ("hs_campaign_id", "Campaign"),
        ("hs_city", "City"),
        ("hs_country", "Country"),
        ("hs_device_name", "Device name"),
        ("hs_element_class", "Element class"),
        ("hs_element_id", "Element ID"),
        ("hs_element_text", "Element text"),
        ("hs_link_href", "Link href"),
        ("hs_operating_system", "Operating system"),
        ("hs_operating_version", "Operating version"),
        ("hs_page_id", "Page ID"),
        ("hs_page_title", "Page title"),
        ("hs_page_url", "Page URL"),
        ("hs_parent_module_id", "Parent module ID"),
        ("hs_referrer", "Referrer"),
        ("hs_region", "Region"),
        ("hs_tracking_name", "Tracking name"),
        ("hs_url", "URL"),
        ("hs_user_agent", "User agent"),
        ("hs_utm_campaign", "UTM campaign"),
        ("hs_utm_content", "UTM content"),
        ("hs_utm_medium", "UTM medium"),
        ("hs_utm_source", "UTM source"),
        ("hs_utm_term", "UTM term"),
        ("hs_language", "Language"),
    ]
    .iter()
    .map(|(n, l)| default_property(n, l, Text, &[]))
    .collect();
    props.push(default_property(
        "hs_screen_height",
        "Screen height",
        Number,
        &[],
    ));
    props.push(default_property(
        "hs_screen_width",
        "Screen width",
        Number,
        &[],
    ));
    props.push(default_property(
        "hs_device_type",
        "Device type",
        Enumeration,
        &[
            "Game Console",
            "PDA",
            "Personal Computer",
            "Desktop",
            "Smartphone",
            "Smart TV",
            "Tablet",
            "Wearable Computer",
            "Unknown",
        ],
    ));
    props.push(default_property(
        "hs_page_content_type",
        "Page content type",
        Enumeration,
        ASSET_TYPES,
    ));
    props.push(default_property(
        "hs_asset_type",
        "Asset type",
        Enumeration,
        ASSET_TYPES,
    ));
    props.push(default_property(
        "hs_touchpoint_source",
        "Touchpoint source",
        Enumeration,
        TOUCHPOINT_SOURCES,
    ));
    props.sort_by(|a, b| a.name.cmp(&b.name));
    props
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_names_come_back_only_from_the_accounts_own_names() {
        assert_eq!(
            short_name(123, &fully_qualified_name(123, "login")),
            Some("login")
        );
        assert_eq!(short_name(12, "pe123_login"), None);
        assert_eq!(short_name(123, "pe12_login"), None);
        assert_eq!(short_name(123, "ae123_login"), None);
        assert_eq!(short_name(123, "pe123login"), None);
    }

    #[test]
    fn names_at_50_pass_and_51_fail() {
        assert!(parse_internal_name("name", &"a".repeat(50)).is_ok());
        let e = parse_internal_name("name", &"a".repeat(51)).unwrap_err();
        assert!(
            e.message.contains("51") && e.message.contains("50"),
            "{}",
            e.message
        );
        for bad in ["1abc", "Abc", "a-b", "a b", "_a"] {
            assert_eq!(
                parse_internal_name("name", bad).unwrap_err().code,
                "INVALID_NAME",
                "{bad}"
            );
        }
    }

    #[test]
    fn labels_at_50_pass_and_51_fail() {
        assert!(parse_label("label", Some(&"L".repeat(50))).is_ok());
        let e = parse_label("label", Some(&"L".repeat(51))).unwrap_err();
        assert!(e.message.contains("51") && e.message.contains("50"));
        assert_eq!(parse_label("label", None).unwrap_err().code, "REQUIRED");
    }

    #[test]
    fn names_derive_from_labels() {
        assert_eq!(name_from_label("Login Event"), "login_event");
        assert_eq!(name_from_label("  Paid -- Order #1 "), "paid_order_1");
        assert_eq!(name_from_label("2FA used"), "e_2fa_used");
        assert!(parse_internal_name("name", &name_from_label(&"x".repeat(80))).is_ok());
    }

    #[test]
    fn primary_objects_parse_in_any_case() {
        assert_eq!(PrimaryObject::parse("contact"), PrimaryObject::Contact);
        assert_eq!(PrimaryObject::parse("DEAL"), PrimaryObject::Deal);
        assert_eq!(
            PrimaryObject::parse("p123_cars"),
            PrimaryObject::Custom("p123_cars".into())
        );
    }

    #[test]
    fn fifty_properties_pass_and_51_fail() {
        let input = |i: usize| EventPropertyInput {
            label: Some(format!("P{i}")),
            property_type: Some("string".into()),
            ..Default::default()
        };
        assert_eq!(
            parse_event_properties(&(0..50).map(input).collect::<Vec<_>>())
                .unwrap()
                .len(),
            50
        );
        let e = parse_event_properties(&(0..51).map(input).collect::<Vec<_>>())
            .unwrap_err()
            .to_string();
        assert!(e.contains("51") && e.contains("50"), "{e}");
    }

    #[test]
    fn bad_properties_are_each_named() {
        let err = parse_event_properties(&[
            EventPropertyInput {
                label: Some("Color".into()),
                property_type: Some("colour".into()),
                ..Default::default()
            },
            EventPropertyInput {
                name: Some("hs_mine".into()),
                label: Some("Mine".into()),
                property_type: Some("string".into()),
                ..Default::default()
            },
            EventPropertyInput {
                label: Some("Size".into()),
                property_type: Some("enumeration".into()),
                ..Default::default()
            },
            EventPropertyInput {
                label: Some("Size".into()),
                property_type: Some("string".into()),
                ..Default::default()
            },
        ])
        .unwrap_err();
        let DomainError::Invalid(problems) = err else {
            panic!()
        };
        let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(
            fields,
            vec![
                "propertyDefinitions[0].type",
                "propertyDefinitions[1].name",
                "propertyDefinitions[2].options",
                "propertyDefinitions[3].name"
            ]
        );
    }

    #[test]
    fn url_properties_are_the_url_referrer_and_link_strings() {
        let by_name = |n: &str| {
            default_event_properties()
                .into_iter()
                .find(|p| p.name == n)
                .unwrap()
        };
        assert!(by_name("hs_url").is_url());
        assert!(by_name("hs_referrer").is_url());
        assert!(by_name("hs_page_url").is_url());
        assert!(by_name("hs_link_href").is_url());
        assert!(!by_name("hs_page_title").is_url());
        assert!(!by_name("hs_screen_width").is_url());
    }

    #[test]
    fn attribution_properties_take_exactly_the_seed_values() {
        let props = default_event_properties();
        let values = |n: &str| -> Vec<String> {
            props
                .iter()
                .find(|p| p.name == n)
                .unwrap()
                .options
                .iter()
                .map(|o| o.value.clone())
                .collect()
        };
        assert_eq!(values("hs_page_content_type").len(), ASSET_TYPES.len());
        assert_eq!(values("hs_asset_type"), values("hs_page_content_type"));
        assert_eq!(values("hs_touchpoint_source").len(), 13);
        assert_eq!(fully_qualified_name(123, "login"), "pe123_login");
    }

    fn definition_with(n: usize) -> EventDefinition {
        EventDefinition {
            name: "login".into(),
            label: "Login".into(),
            description: String::new(),
            primary_object_type_id: crate::crm::object_type::StandardType::Contacts.type_id(),
            include_default_properties: true,
            properties: (0..n)
                .map(|i| EventProperty {
                    name: format!("p{i}"),
                    label: format!("P{i}"),
                    property_type: PropertyType::String,
                    description: String::new(),
                    options: Vec::new(),
                    hubspot_defined: false,
                })
                .collect(),
            custom_matching_id: None,
        }
    }

    fn code(e: DomainError) -> &'static str {
        match e {
            DomainError::Invalid(v) => v[0].code,
            other => panic!("not invalid: {other:?}"),
        }
    }

    #[test]
    fn added_properties_stop_at_50_and_names_stay_unique() {
        let new = |name: &str| EventProperty {
            name: name.into(),
            ..definition_with(1).properties[0].clone()
        };
        let grown = add_event_property(&definition_with(49), new("fifty")).unwrap();
        assert_eq!(grown.properties.len(), 50);
        let e = add_event_property(&grown, new("more")).unwrap_err();
        assert!(e.to_string().contains("50"), "{e}");
        assert_eq!(code(e), "TOO_MANY_PROPERTIES");
        assert!(matches!(
            add_event_property(&definition_with(3), new("p1")),
            Err(DomainError::Conflict(_))
        ));
    }

    #[test]
    fn property_patches_change_label_description_options_but_not_type() {
        let mut d = definition_with(2);
        d.properties[1].property_type = PropertyType::Enumeration;
        d.properties[1].options = simple_options(&["a"]);
        let next = update_event_property(
            &d,
            "p1",
            &EventPropertyPatch {
                label: Some("Size".into()),
                description: Some("How big".into()),
                options: Some(vec![(Some("B".into()), Some("b".into()))]),
                property_type: Some("ENUMERATION".into()),
            },
        )
        .unwrap();
        assert_eq!(next.properties[1].label, "Size");
        assert_eq!(next.properties[1].description, "How big");
        assert_eq!(next.properties[1].options[0].value, "b");

        let type_change = EventPropertyPatch {
            property_type: Some("number".into()),
            ..Default::default()
        };
        let e = update_event_property(&d, "p0", &type_change).unwrap_err();
        assert!(e.to_string().contains("delete"), "{e}");
        assert_eq!(code(e), "IMMUTABLE");
        let no_options = EventPropertyPatch {
            options: Some(Vec::new()),
            ..Default::default()
        };
        assert_eq!(
            code(update_event_property(&d, "p1", &no_options).unwrap_err()),
            "REQUIRED"
        );
        let long = EventPropertyPatch {
            label: Some("L".repeat(51)),
            ..Default::default()
        };
        assert_eq!(
            code(update_event_property(&d, "p0", &long).unwrap_err()),
            "TOO_LONG"
        );
        assert_eq!(
            code(update_event_property(&d, "hs_city", &long).unwrap_err()),
            "HUBSPOT_DEFINED"
        );
        assert!(matches!(
            update_event_property(&d, "nope", &long),
            Err(DomainError::NotFound(_))
        ));
    }

    #[test]
    fn properties_in_use_or_hubspot_defined_cannot_be_removed() {
        let mut d = definition_with(2);
        d.custom_matching_id = Some(CustomMatchingId {
            target_object_property_name: "email".into(),
            event_property_name: "p0".into(),
        });
        assert_eq!(code(remove_event_property(&d, "p0").unwrap_err()), "IN_USE");
        assert_eq!(
            code(remove_event_property(&d, "hs_city").unwrap_err()),
            "HUBSPOT_DEFINED"
        );
        assert!(matches!(
            remove_event_property(&d, "nope"),
            Err(DomainError::NotFound(_))
        ));
        let next = remove_event_property(&d, "p1").unwrap();
        assert_eq!(next.properties.len(), 1);
    }

    #[test]
    fn custom_matching_ids_need_an_event_property_and_a_unique_target() {
        let d = definition_with(1);
        let targets = vec!["email".to_owned(), "hs_object_id".to_owned()];
        let rule = |t: &str, e: &str| CustomMatchingIdInput {
            target_object_property_name: Some(t.into()),
            event_property_name: Some(e.into()),
        };
        let ok = parse_custom_matching_id(Some(&rule("email", "p0")), &d, "contact", &targets);
        assert_eq!(ok.unwrap().event_property_name, "p0");
        assert!(parse_custom_matching_id(
            Some(&rule("hs_object_id", "hs_city")),
            &d,
            "contact",
            &targets
        )
        .is_ok());
        let fields = |e: DomainError| match e {
            DomainError::Invalid(v) => v.into_iter().map(|p| (p.field, p.code)).collect::<Vec<_>>(),
            other => panic!("{other:?}"),
        };
        assert_eq!(
            fields(
                parse_custom_matching_id(Some(&rule("firstname", "nope")), &d, "contact", &targets)
                    .unwrap_err()
            ),
            vec![
                (
                    "customMatchingId.primaryObjectRule.eventPropertyName".to_owned(),
                    "UNKNOWN_PROPERTY"
                ),
                (
                    "customMatchingId.primaryObjectRule.targetObjectPropertyName".to_owned(),
                    "NOT_UNIQUE"
                ),
            ]
        );
        assert_eq!(
            fields(
                parse_custom_matching_id(
                    Some(&CustomMatchingIdInput::default()),
                    &d,
                    "contact",
                    &targets
                )
                .unwrap_err()
            )
            .len(),
            2
        );
        assert_eq!(
            code(parse_custom_matching_id(None, &d, "contact", &targets).unwrap_err()),
            "REQUIRED"
        );
        let mut without_defaults = d.clone();
        without_defaults.include_default_properties = false;
        assert!(parse_custom_matching_id(
            Some(&rule("email", "hs_city")),
            &without_defaults,
            "contact",
            &targets
        )
        .is_err());
    }

    fn fields_and_codes(e: DomainError) -> Vec<(String, &'static str)> {
        match e {
            DomainError::Invalid(v) => v.into_iter().map(|p| (p.field, p.code)).collect(),
            other => panic!("not invalid: {other:?}"),
        }
    }

    #[test]
    fn descriptions_of_2000_characters_pass_and_2001_fail() {
        assert_eq!(
            parse_description("description", Some(&"d".repeat(2_000)))
                .unwrap()
                .len(),
            2_000
        );
        assert_eq!(parse_description("description", None).unwrap(), "");
        let e = parse_description("description", Some(&"d".repeat(2_001))).unwrap_err();
        assert_eq!((e.field.as_str(), e.code), ("description", "TOO_LONG"));
        assert!(
            e.message.contains("2001") && e.message.contains("2000"),
            "{e}"
        );
    }

    #[test]
    fn property_descriptions_and_option_texts_are_bounded_at_the_limit_and_one_past() {
        let input = |description: usize, label: usize, value: usize| EventPropertyInput {
            name: Some("size".into()),
            label: Some("Size".into()),
            property_type: Some("enumeration".into()),
            description: Some("d".repeat(description)),
            options: vec![(Some("l".repeat(label)), Some("v".repeat(value)))],
        };
        let ok = parse_event_properties(&[input(2_000, 256, 256)]).unwrap();
        assert_eq!(ok[0].options[0].value.len(), 256);
        assert_eq!(
            fields_and_codes(parse_event_properties(&[input(2_001, 257, 257)]).unwrap_err()),
            [
                ("propertyDefinitions[0].description".to_owned(), "TOO_LONG"),
                (
                    "propertyDefinitions[0].options[0].label".to_owned(),
                    "TOO_LONG"
                ),
                (
                    "propertyDefinitions[0].options[0].value".to_owned(),
                    "TOO_LONG"
                ),
            ]
        );

        let mut d = definition_with(1);
        d.properties[0].property_type = PropertyType::Enumeration;
        d.properties[0].options = simple_options(&["a"]);
        let patch = EventPropertyPatch {
            description: Some("d".repeat(2_001)),
            options: Some(vec![(Some("x".repeat(100_000)), Some("x".into()))]),
            ..Default::default()
        };
        assert_eq!(
            fields_and_codes(update_event_property(&d, "p0", &patch).unwrap_err()),
            [
                ("description".to_owned(), "TOO_LONG"),
                ("options[0].label".to_owned(), "TOO_LONG"),
            ]
        );
    }
}
