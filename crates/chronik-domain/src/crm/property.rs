//! Property definitions and the typing of property values.
//!
//! Values are strings on the wire (api-reference §5.2). Each property has a `type`
//! (`string`, `number`, `date`, `datetime`, `bool`, `enumeration`) that decides which strings
//! it takes and how they are stored: dates as `YYYY-MM-DD`, datetimes as RFC 3339 UTC with
//! milliseconds, bools as `true`/`false`, so that stored values compare and sort correctly.

use chrono::{DateTime, NaiveDate, NaiveDateTime, SecondsFormat, TimeZone, Utc};
use serde::{Deserialize, Serialize};

use super::object_type::StandardType;
use crate::error::ValidationError;

/// SPEC.md: 65,536 characters is HubSpot's limit for a CRM string property value.
pub const MAX_STRING_VALUE_CHARS: usize = 65_536;

/// Our own bound on a custom property's internal name; HubSpot publishes none.
pub const MAX_PROPERTY_NAME_CHARS: usize = 100;

/// Our own bound on a property's label, its `groupName`, and an option's label and value
/// (HubSpot publishes none): 255 characters, the usual bound of a one-line text field.
pub const MAX_PROPERTY_LABEL_CHARS: usize = 255;

/// Our own bound on the options of one enumeration property.
pub const MAX_PROPERTY_OPTIONS: usize = 5_000;

/// A property's data type (HubSpot's `type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PropertyType {
    /// Free text.
    String,
    /// A decimal number.
    Number,
    /// A calendar date (midnight UTC).
    Date,
    /// An instant.
    Datetime,
    /// `true` or `false`.
    Bool,
    /// One of the property's options (several, `;`-separated, for checkboxes).
    Enumeration,
}

impl PropertyType {
    /// Parses HubSpot's lower-case names.
    pub fn parse(raw: &str) -> Option<PropertyType> {
        Some(match raw {
            "string" => PropertyType::String,
            "number" => PropertyType::Number,
            "date" => PropertyType::Date,
            "datetime" => PropertyType::Datetime,
            "bool" => PropertyType::Bool,
            "enumeration" => PropertyType::Enumeration,
            _ => return None,
        })
    }

    /// HubSpot's name.
    pub fn as_str(self) -> &'static str {
        match self {
            PropertyType::String => "string",
            PropertyType::Number => "number",
            PropertyType::Date => "date",
            PropertyType::Datetime => "datetime",
            PropertyType::Bool => "bool",
            PropertyType::Enumeration => "enumeration",
        }
    }

    /// The field types that go with this type (HubSpot's `fieldType`).
    pub fn allowed_field_types(self) -> &'static [&'static str] {
        match self {
            PropertyType::String => &["text", "textarea", "file", "phonenumber", "html"],
            PropertyType::Number => &["number", "calculation_equation"],
            PropertyType::Date | PropertyType::Datetime => &["date"],
            PropertyType::Bool => &["booleancheckbox", "calculation_equation"],
            PropertyType::Enumeration => &["select", "radio", "checkbox", "booleancheckbox"],
        }
    }
}

/// One option of an enumeration property.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PropertyOption {
    /// Display label.
    pub label: String,
    /// The stored value.
    pub value: String,
    /// Position in lists.
    pub display_order: i32,
    /// Hidden from forms.
    pub hidden: bool,
    /// Optional description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// A property of an object type: HubSpot's default ones and the account's custom ones.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PropertyDefinition {
    /// Internal name (what `properties` keys use).
    pub name: String,
    /// Display label.
    pub label: String,
    /// Data type.
    #[serde(rename = "type")]
    pub property_type: PropertyType,
    /// How forms show it.
    pub field_type: String,
    /// The group it is listed under.
    pub group_name: String,
    /// Description.
    pub description: String,
    /// Options of an enumeration.
    pub options: Vec<PropertyOption>,
    /// Whether no two records of the type may share a value (the value then identifies a
    /// record, as `idProperty`).
    pub has_unique_value: bool,
    /// Hidden from the UI.
    pub hidden: bool,
    /// Position in lists (-1 when unordered).
    pub display_order: i32,
    /// Shown on forms.
    pub form_field: bool,
    /// Defined by HubSpot (true for the default properties).
    pub hubspot_defined: bool,
    /// Set by Chronik, never by callers (`hs_object_id`, `createdate`, ...).
    pub read_only_value: bool,
    /// Returned when a read names no `properties`.
    #[serde(default)]
    pub returned_by_default: bool,
}

impl PropertyDefinition {
    /// Checks `raw` against this property's type and returns the value to store. An empty
    /// string clears the property and is returned as `None`. `field` names it in errors
    /// (`properties.amount`).
    pub fn check_value(&self, field: &str, raw: &str) -> Result<Option<String>, ValidationError> {
        if raw.is_empty() {
            return Ok(None);
        }
        let invalid = |expected: &str| {
            ValidationError::new(
                field,
                "INVALID_PROPERTY_VALUE",
                format!(
                    "{field} \"{}\" is not a valid {}: {expected}",
                    shorten(raw),
                    self.property_type.as_str()
                ),
            )
        };
        let stored = match self.property_type {
            PropertyType::String => {
                let chars = raw.chars().count();
                if chars > MAX_STRING_VALUE_CHARS {
                    return Err(ValidationError::new(
                        field,
                        "TOO_LONG",
                        format!("{field} has {chars} characters; a string property holds at most {MAX_STRING_VALUE_CHARS}"),
                    ));
                }
                raw.to_owned()
            }
            PropertyType::Number => {
                parse_number(raw).ok_or_else(|| {
                    invalid("send digits with at most one decimal point, e.g. 1250.50")
                })?;
                raw.trim().to_owned()
            }
            PropertyType::Bool => match raw.to_ascii_lowercase().as_str() {
                "true" => "true".to_owned(),
                "false" => "false".to_owned(),
                _ => return Err(invalid("send true or false")),
            },
            PropertyType::Date => parse_date(raw)
                .ok_or_else(|| invalid("send YYYY-MM-DD or epoch milliseconds at midnight UTC"))?
                .format("%Y-%m-%d")
                .to_string(),
            PropertyType::Datetime => format_datetime(parse_datetime(raw).ok_or_else(|| {
                invalid("send ISO 8601 (e.g. 2024-01-02T03:04:05Z) or epoch milliseconds")
            })?),
            PropertyType::Enumeration => {
                let multiple = self.field_type == "checkbox";
                let values: Vec<&str> = if multiple {
                    raw.split(';').collect()
                } else {
                    vec![raw]
                };
                let unknown: Vec<&str> = values
                    .iter()
                    .copied()
                    .filter(|v| !self.options.iter().any(|o| o.value == *v))
                    .collect();
                if !unknown.is_empty() {
                    let allowed: Vec<&str> = self
                        .options
                        .iter()
                        .map(|o| o.value.as_str())
                        .take(20)
                        .collect();
                    return Err(ValidationError::new(
                        field,
                        "INVALID_OPTION",
                        format!(
                            "{field} \"{}\" is not one of the allowed options: {}{}",
                            shorten(&unknown.join(";")),
                            allowed.join(", "),
                            if self.options.len() > 20 { ", ..." } else { "" }
                        ),
                    ));
                }
                raw.to_owned()
            }
        };
        Ok(Some(stored))
    }
}

fn shorten(raw: &str) -> String {
    const SHOWN: usize = 60;
    if raw.chars().count() > SHOWN {
        format!("{}...", raw.chars().take(SHOWN).collect::<String>())
    } else {
        raw.to_owned()
    }
}

/// Parses a number value: optional sign, digits, at most one decimal point.
pub fn parse_number(raw: &str) -> Option<f64> {
    let s = raw.trim();
    let unsigned = s
        .strip_prefix('-')
        .or_else(|| s.strip_prefix('+'))
        .unwrap_or(s);
    let mut parts = unsigned.splitn(2, '.');
    let int = parts.next().unwrap_or("");
    let frac = parts.next();
    let digits = |p: &str| p.chars().all(|c| c.is_ascii_digit());
    let ok = match frac {
        None => !int.is_empty() && digits(int),
        Some(f) => {
            (!int.is_empty() || !f.is_empty()) && digits(int) && digits(f) && !f.contains('.')
        }
    };
    if ok {
        s.parse::<f64>().ok()
    } else {
        None
    }
}

/// Parses a date: `YYYY-MM-DD` (or a datetime at midnight UTC), or epoch milliseconds at
/// midnight UTC.
pub fn parse_date(raw: &str) -> Option<NaiveDate> {
    let s = raw.trim();
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Some(d);
    }
    let instant = parse_datetime(s)?;
    let midnight = instant.date_naive().and_hms_opt(0, 0, 0)?;
    (instant.naive_utc() == midnight).then(|| instant.date_naive())
}

/// Parses an instant: RFC 3339 / ISO 8601 with or without a zone (no zone means UTC, as
/// Python's naive datetimes are sent), a plain date (midnight UTC), or epoch milliseconds.
pub fn parse_datetime(raw: &str) -> Option<DateTime<Utc>> {
    let s = raw.trim();
    if !s.is_empty() && s.chars().all(|c| c.is_ascii_digit()) {
        return s
            .parse::<i64>()
            .ok()
            .and_then(DateTime::from_timestamp_millis);
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    for format in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, format) {
            return Some(Utc.from_utc_datetime(&t));
        }
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| Utc.from_utc_datetime(&t))
}

/// The stored and returned form of an instant: `2024-01-02T03:04:05.123Z`.
pub fn format_datetime(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A property Chronik sets itself on every record.
fn system(
    name: &str,
    label: &str,
    property_type: PropertyType,
    field_type: &str,
) -> PropertyDefinition {
    PropertyDefinition {
        read_only_value: true,
        returned_by_default: true,
        ..plain(name, label, property_type, field_type)
    }
}

fn plain(
    name: &str,
    label: &str,
    property_type: PropertyType,
    field_type: &str,
) -> PropertyDefinition {
    PropertyDefinition {
        name: name.to_owned(),
        label: label.to_owned(),
        property_type,
        field_type: field_type.to_owned(),
        group_name: String::new(),
        description: String::new(),
        options: Vec::new(),
        has_unique_value: false,
        hidden: false,
        display_order: -1,
        form_field: false,
        hubspot_defined: true,
        read_only_value: false,
        returned_by_default: false,
    }
}

fn text(name: &str, label: &str) -> PropertyDefinition {
    plain(name, label, PropertyType::String, "text")
}

fn shown(mut p: PropertyDefinition) -> PropertyDefinition {
    p.returned_by_default = true;
    p
}

fn number(name: &str, label: &str) -> PropertyDefinition {
    plain(name, label, PropertyType::Number, "number")
}

/// Options whose labels are their values, in the given order (HubSpot's built-in
/// enumerations).
pub fn simple_options(values: &[&str]) -> Vec<PropertyOption> {
    values
        .iter()
        .enumerate()
        .map(|(i, v)| PropertyOption {
            label: (*v).to_owned(),
            value: (*v).to_owned(),
            display_order: i as i32,
            hidden: false,
            description: None,
        })
        .collect()
}

fn enumeration(name: &str, label: &str, values: &[&str]) -> PropertyDefinition {
    let mut p = plain(name, label, PropertyType::Enumeration, "select");
    p.options = simple_options(values);
    p
}

fn in_group(group: &str, mut props: Vec<PropertyDefinition>) -> Vec<PropertyDefinition> {
    for p in &mut props {
        p.group_name = group.to_owned();
    }
    props
}

const LIFECYCLE_STAGES: &[&str] = &[
    "subscriber",
    "lead",
    "marketingqualifiedlead",
    "salesqualifiedlead",
    "opportunity",
    "customer",
    "evangelist",
    "other",
];

/// HubSpot's default properties of a standard type (the subset Chronik models), with their
/// types. The system properties `hs_object_id`, `createdate` and the last-modified date are
/// always present and read-only.
pub fn standard_properties(t: StandardType) -> Vec<PropertyDefinition> {
    let modified = t.last_modified_property();
    let mut props = vec![
        system("hs_object_id", "Record ID", PropertyType::Number, "number"),
        system("createdate", "Create Date", PropertyType::Datetime, "date"),
        system(
            modified,
            "Last Modified Date",
            PropertyType::Datetime,
            "date",
        ),
    ];
    let owner = number("hubspot_owner_id", "Owner");
    props.extend(match t {
        StandardType::Contacts => {
            let mut email = shown(text("email", "Email"));
            email.has_unique_value = true;
            in_group(
                "contactinformation",
                vec![
                    email,
                    shown(text("firstname", "First Name")),
                    shown(text("lastname", "Last Name")),
                    plain("phone", "Phone Number", PropertyType::String, "phonenumber"),
                    plain(
                        "mobilephone",
                        "Mobile Phone Number",
                        PropertyType::String,
                        "phonenumber",
                    ),
                    text("company", "Company Name"),
                    text("website", "Website URL"),
                    text("jobtitle", "Job Title"),
                    text("address", "Street Address"),
                    text("city", "City"),
                    text("state", "State/Region"),
                    text("zip", "Postal Code"),
                    text("country", "Country/Region"),
                    plain("date_of_birth", "Date of birth", PropertyType::Date, "date"),
                    enumeration("lifecyclestage", "Lifecycle Stage", LIFECYCLE_STAGES),
                    enumeration(
                        "hs_lead_status",
                        "Lead Status",
                        &[
                            "NEW",
                            "OPEN",
                            "IN_PROGRESS",
                            "OPEN_DEAL",
                            "UNQUALIFIED",
                            "ATTEMPTED_TO_CONTACT",
                            "CONNECTED",
                            "BAD_TIMING",
                        ],
                    ),
                    owner,
                ],
            )
        }
        StandardType::Companies => in_group(
            "companyinformation",
            vec![
                shown(text("name", "Company name")),
                shown(text("domain", "Company Domain Name")),
                text("website", "Website URL"),
                text("industry", "Industry"),
                number("numberofemployees", "Number of Employees"),
                number("annualrevenue", "Annual Revenue"),
                plain("phone", "Phone Number", PropertyType::String, "phonenumber"),
                text("address", "Street Address"),
                text("city", "City"),
                text("state", "State/Region"),
                text("zip", "Postal Code"),
                text("country", "Country/Region"),
                plain(
                    "description",
                    "Description",
                    PropertyType::String,
                    "textarea",
                ),
                enumeration("lifecyclestage", "Lifecycle Stage", LIFECYCLE_STAGES),
                enumeration(
                    "type",
                    "Type",
                    &["PROSPECT", "PARTNER", "RESELLER", "VENDOR", "OTHER"],
                ),
                owner,
            ],
        ),
        StandardType::Deals => in_group(
            "dealinformation",
            vec![
                shown(text("dealname", "Deal Name")),
                shown(number("amount", "Amount")),
                shown(enumeration(
                    "dealstage",
                    "Deal Stage",
                    &[
                        "appointmentscheduled",
                        "qualifiedtobuy",
                        "presentationscheduled",
                        "decisionmakerboughtin",
                        "contractsent",
                        "closedwon",
                        "closedlost",
                    ],
                )),
                shown(enumeration("pipeline", "Pipeline", &["default"])),
                shown(plain(
                    "closedate",
                    "Close Date",
                    PropertyType::Datetime,
                    "date",
                )),
                enumeration(
                    "dealtype",
                    "Deal Type",
                    &["newbusiness", "existingbusiness"],
                ),
                plain(
                    "description",
                    "Deal Description",
                    PropertyType::String,
                    "textarea",
                ),
                owner,
            ],
        ),
        StandardType::Tickets => in_group(
            "ticketinformation",
            vec![
                shown(text("subject", "Ticket name")),
                shown(plain(
                    "content",
                    "Ticket description",
                    PropertyType::String,
                    "textarea",
                )),
                shown(enumeration("hs_pipeline", "Pipeline", &["0"])),
                shown(enumeration(
                    "hs_pipeline_stage",
                    "Ticket status",
                    &["1", "2", "3", "4"],
                )),
                shown(enumeration(
                    "hs_ticket_priority",
                    "Priority",
                    &["LOW", "MEDIUM", "HIGH", "URGENT"],
                )),
                shown(enumeration(
                    "hs_ticket_category",
                    "Category",
                    &[
                        "PRODUCT_ISSUE",
                        "BILLING_ISSUE",
                        "FEATURE_REQUEST",
                        "GENERAL_INQUIRY",
                    ],
                )),
                enumeration("source_type", "Source", &["CHAT", "EMAIL", "FORM", "PHONE"]),
                owner,
            ],
        ),
    });
    props
}

/// The system properties of a custom object type (HubSpot's `hs_object_id`, `hs_createdate`,
/// `hs_lastmodifieddate`).
pub fn custom_object_system_properties() -> Vec<PropertyDefinition> {
    vec![
        system("hs_object_id", "Record ID", PropertyType::Number, "number"),
        system(
            "hs_createdate",
            "Object create date/time",
            PropertyType::Datetime,
            "date",
        ),
        system(
            "hs_lastmodifieddate",
            "Object last modified date/time",
            PropertyType::Datetime,
            "date",
        ),
    ]
}

/// Parses a custom property's internal name: starts with a lower-case letter, then lower-case
/// letters, digits and `_`; at most [`MAX_PROPERTY_NAME_CHARS`]; not `hs_`-prefixed (HubSpot
/// reserves that prefix).
pub fn parse_property_name(field: &str, raw: &str) -> Result<String, ValidationError> {
    let chars = raw.chars().count();
    if chars == 0 {
        return Err(ValidationError::required(field));
    }
    if chars > MAX_PROPERTY_NAME_CHARS {
        return Err(ValidationError::new(
            field,
            "TOO_LONG",
            format!("{field} has {chars} characters; a property name has at most {MAX_PROPERTY_NAME_CHARS}"),
        ));
    }
    let mut it = raw.chars();
    let first_ok = it.next().is_some_and(|c| c.is_ascii_lowercase());
    if !first_ok
        || !raw
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    {
        return Err(ValidationError::new(
            field,
            "INVALID_FORMAT",
            format!(
                "{field} \"{raw}\" must start with a lower-case letter and use only a-z, 0-9 and _"
            ),
        ));
    }
    if raw.starts_with("hs_") {
        return Err(ValidationError::new(
            field,
            "RESERVED_NAME",
            format!("{field} \"{raw}\" uses the prefix hs_, which HubSpot reserves for its own properties"),
        ));
    }
    Ok(raw.to_owned())
}

/// Checks a label-like text: required, at most [`MAX_PROPERTY_LABEL_CHARS`].
pub fn parse_label(field: &str, raw: Option<&str>) -> Result<String, ValidationError> {
    let value = raw.map(str::trim).unwrap_or_default();
    let chars = value.chars().count();
    if chars == 0 {
        return Err(ValidationError::required(field));
    }
    if chars > MAX_PROPERTY_LABEL_CHARS {
        return Err(ValidationError::new(
            field,
            "TOO_LONG",
            format!(
                "{field} has {chars} characters; at most {MAX_PROPERTY_LABEL_CHARS} are allowed"
            ),
        ));
    }
    Ok(value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def(t: PropertyType) -> PropertyDefinition {
        plain("p", "P", t, t.allowed_field_types()[0])
    }

    #[test]
    fn numbers_take_digits_with_one_decimal_point() {
        let d = def(PropertyType::Number);
        for ok in ["0", "12", "-3.5", "1250.50", ".5", "+7"] {
            assert_eq!(
                d.check_value("properties.p", ok).unwrap().as_deref(),
                Some(ok),
                "{ok}"
            );
        }
        for bad in ["1.2.3", "abc", "1e3", "1,000", "-", "."] {
            let e = d.check_value("properties.p", bad).unwrap_err();
            assert_eq!(e.field, "properties.p");
            assert_eq!(e.code, "INVALID_PROPERTY_VALUE", "{bad}");
        }
    }

    #[test]
    fn bools_are_true_or_false_in_any_case() {
        let d = def(PropertyType::Bool);
        assert_eq!(d.check_value("f", "TRUE").unwrap().as_deref(), Some("true"));
        assert_eq!(
            d.check_value("f", "false").unwrap().as_deref(),
            Some("false")
        );
        assert!(d.check_value("f", "yes").is_err());
    }

    #[test]
    fn dates_are_stored_as_calendar_days_and_must_be_midnight() {
        let d = def(PropertyType::Date);
        assert_eq!(
            d.check_value("f", "2024-01-02").unwrap().as_deref(),
            Some("2024-01-02")
        );
        assert_eq!(
            d.check_value("f", "1704153600000").unwrap().as_deref(),
            Some("2024-01-02")
        );
        assert!(d.check_value("f", "1704153600001").is_err(), "not midnight");
        assert!(d.check_value("f", "2024-13-01").is_err());
    }

    #[test]
    fn datetimes_are_stored_in_utc_with_milliseconds() {
        let d = def(PropertyType::Datetime);
        for (raw, stored) in [
            ("2024-01-02T03:04:05Z", "2024-01-02T03:04:05.000Z"),
            ("2024-01-02T04:04:05+01:00", "2024-01-02T03:04:05.000Z"),
            ("2024-01-02T03:04:05.123000", "2024-01-02T03:04:05.123Z"),
            ("1704164645123", "2024-01-02T03:04:05.123Z"),
            ("2024-01-02", "2024-01-02T00:00:00.000Z"),
        ] {
            assert_eq!(
                d.check_value("f", raw).unwrap().as_deref(),
                Some(stored),
                "{raw}"
            );
        }
        assert!(d.check_value("f", "yesterday").is_err());
    }

    #[test]
    fn enumerations_take_option_values_and_checkboxes_several() {
        let mut d = enumeration("e", "E", &["a", "b", "c"]);
        assert!(d.check_value("f", "a").is_ok());
        let e = d.check_value("f", "A").unwrap_err();
        assert_eq!(e.code, "INVALID_OPTION");
        assert!(e.message.contains("a, b, c"), "{}", e.message);
        assert!(d.check_value("f", "a;b").is_err(), "select takes one value");
        d.field_type = "checkbox".into();
        assert!(d.check_value("f", "a;b").is_ok());
        assert!(d.check_value("f", "a;x").is_err());
    }

    #[test]
    fn string_at_the_limit_passes_and_one_past_fails() {
        let d = def(PropertyType::String);
        assert!(d
            .check_value("f", &"x".repeat(MAX_STRING_VALUE_CHARS))
            .is_ok());
        let e = d
            .check_value("f", &"x".repeat(MAX_STRING_VALUE_CHARS + 1))
            .unwrap_err();
        assert!(
            e.message.contains("65537") && e.message.contains("65536"),
            "{}",
            e.message
        );
    }

    #[test]
    fn empty_string_clears_any_type() {
        for t in [
            PropertyType::String,
            PropertyType::Number,
            PropertyType::Datetime,
            PropertyType::Enumeration,
        ] {
            assert_eq!(def(t).check_value("f", "").unwrap(), None);
        }
    }

    #[test]
    fn property_names_follow_hubspots_rules() {
        assert!(parse_property_name("name", "favorite_color2").is_ok());
        assert!(parse_property_name("name", &"a".repeat(MAX_PROPERTY_NAME_CHARS)).is_ok());
        assert_eq!(
            parse_property_name("name", &"a".repeat(MAX_PROPERTY_NAME_CHARS + 1))
                .unwrap_err()
                .code,
            "TOO_LONG"
        );
        assert_eq!(
            parse_property_name("name", "2abc").unwrap_err().code,
            "INVALID_FORMAT"
        );
        assert_eq!(
            parse_property_name("name", "Color").unwrap_err().code,
            "INVALID_FORMAT"
        );
        assert_eq!(
            parse_property_name("name", "hs_mine").unwrap_err().code,
            "RESERVED_NAME"
        );
    }

    #[test]
    fn every_standard_type_has_its_system_and_signature_properties() {
        for (t, signature) in [
            (StandardType::Contacts, "email"),
            (StandardType::Companies, "domain"),
            (StandardType::Deals, "amount"),
            (StandardType::Tickets, "hs_ticket_priority"),
        ] {
            let props = standard_properties(t);
            let names: Vec<&str> = props.iter().map(|p| p.name.as_str()).collect();
            for required in [
                "hs_object_id",
                "createdate",
                t.last_modified_property(),
                signature,
            ] {
                assert!(names.contains(&required), "{t}: {required} missing");
            }
            let mut unique = names.clone();
            unique.sort();
            unique.dedup();
            assert_eq!(unique.len(), names.len(), "{t}: duplicate property names");
        }
        let amount = standard_properties(StandardType::Deals)
            .into_iter()
            .find(|p| p.name == "amount")
            .unwrap();
        assert_eq!(amount.property_type, PropertyType::Number);
        let email = standard_properties(StandardType::Contacts)
            .into_iter()
            .find(|p| p.name == "email")
            .unwrap();
        assert!(email.has_unique_value);
    }
}
