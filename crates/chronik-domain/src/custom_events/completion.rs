//! The rules a completion (`/events/v3/send`) must pass: property names folded to lower case
//! with SPEC.md's duplicate rule, at most 50 properties, value lengths, values by type,
//! attribution values, `occurredAt`, `uuid`, and the record it names
//! ([`crate::association`]); [`check_completion`] applies them all to one input.

use std::borrow::Cow;
use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::definition::{EventDefinition, EventProperty, ASSET_TYPES};
use crate::association::{identify, CustomMatch, EventRecord, Identifiers, Priority};
use crate::crm::property::{parse_datetime, PropertyDefinition, PropertyType};
use crate::error::ValidationError;

/// api-reference §1.2: a batch (`/events/v3/send/batch`) carries at most 500 inputs.
pub const MAX_BATCH_INPUTS: usize = 500;

/// The longest `uuid` (occurrence id) accepted. HubSpot states none; 256 characters hold any
/// UUID form and the ids clients derive from their own keys.
pub const MAX_UUID_CHARS: usize = 256;

/// One completion as sent, its values taken as text.
#[derive(Debug, Clone, Default)]
pub struct CompletionInput<'a> {
    /// `objectId`, `email` and `utk` (the custom matching id is read from the properties).
    pub ids: Identifiers<'a>,
    /// `occurredAt`: ISO 8601 or epoch milliseconds.
    pub occurred_at: Option<Cow<'a, str>>,
    /// `properties`, by the names sent; `None` for a JSON `null`.
    pub properties: BTreeMap<&'a str, Option<Cow<'a, str>>>,
    /// `uuid`.
    pub uuid: Option<&'a str>,
}

/// A completion that passed every rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedCompletion {
    /// When it happened.
    pub occurred_at: DateTime<Utc>,
    /// Its occurrence id (generated when none was sent).
    pub uuid: String,
    /// The property values to store, by folded name.
    pub properties: BTreeMap<String, String>,
    /// The record it names.
    pub record: EventRecord,
}

/// Checks one input against its definition (with `properties`, every property it may set),
/// reporting every problem; `path` prefixes every field (`inputs[3].`). With no definition
/// (the caller reports the unknown event name) the rest is still checked, so that the caller
/// gets every problem of the input at once.
pub fn check_completion(
    definition: Option<(&EventDefinition, &[EventProperty])>,
    input: &CompletionInput<'_>,
    path: &str,
    now: DateTime<Utc>,
) -> Result<CheckedCompletion, Vec<ValidationError>> {
    let field = |f: &str| format!("{path}{f}");
    let mut problems = Vec::new();
    let occurred_at = parse_occurred_at(&field("occurredAt"), input.occurred_at.as_deref(), now)
        .map_err(|e| problems.push(e))
        .ok();
    let uuid = match input.uuid {
        None => Some(uuid::Uuid::now_v7().to_string()),
        Some(u) if u.trim().is_empty() => {
            problems.push(ValidationError::new(
                field("uuid"),
                "REQUIRED",
                format!("{} is empty; send an id or leave it out", field("uuid")),
            ));
            None
        }
        Some(u) if u.chars().count() > MAX_UUID_CHARS => {
            problems.push(ValidationError::new(
                field("uuid"),
                "TOO_LONG",
                format!(
                    "{} has {} characters; at most {MAX_UUID_CHARS}",
                    field("uuid"),
                    u.chars().count()
                ),
            ));
            None
        }
        Some(u) => Some(u.to_owned()),
    };
    let mut raw = BTreeMap::new();
    for (name, value) in &input.properties {
        match value {
            Some(v) => {
                raw.insert(*name, v.as_ref());
            }
            None => problems.push(ValidationError::new(
                field(&format!("properties.{name}")),
                "INVALID_VALUE",
                format!(
                    "property \"{name}\" is null; send a string value or leave the property out"
                ),
            )),
        }
    }
    let properties_path = field("properties");
    let folded = fold_properties(&properties_path, &raw)
        .map_err(|e| problems.push(e))
        .ok();
    let (Some((definition, all_properties)), Some(folded)) = (definition, folded) else {
        return Err(problems);
    };
    let properties = check_properties(&properties_path, all_properties, &folded)
        .map_err(|mut e| problems.append(&mut e))
        .ok();
    let mut ids = input.ids.clone();
    ids.custom = definition.custom_matching_id.as_ref().and_then(|rule| {
        folded
            .get(&rule.event_property_name)
            .map(|value| CustomMatch {
                event_property: &rule.event_property_name,
                target_property: &rule.target_object_property_name,
                value,
            })
    });
    let record = identify(
        Priority::CustomEvents,
        definition.primary_object_type_id,
        &ids,
        path,
    )
    .map_err(|e| problems.push(e))
    .ok();
    match (occurred_at, uuid, properties, record) {
        (Some(occurred_at), Some(uuid), Some(properties), Some(record)) if problems.is_empty() => {
            Ok(CheckedCompletion {
                occurred_at,
                uuid,
                properties,
                record,
            })
        }
        _ => Err(problems),
    }
}

/// Seed (custom events, limits): a completion carries at most 50 properties.
pub const MAX_PROPERTIES_PER_COMPLETION: usize = 50;

/// Seed (custom events, limits): a property value has at most 256 characters.
pub const MAX_VALUE_CHARS: usize = 256;

/// Seed (custom events, limits): URL and referrer values have at most 1,024 characters.
pub const MAX_URL_VALUE_CHARS: usize = 1_024;

/// The most distinct properties one read (`GET /events/v3/events`) may filter on: a
/// completion carries at most [`MAX_PROPERTIES_PER_COMPLETION`], so more could match nothing,
/// and each one costs the store a condition on every completion it reads.
pub const MAX_PROPERTY_FILTERS: usize = MAX_PROPERTIES_PER_COMPLETION;

/// The `property.<name>=<value>` filters of a read, folded: names to lower case, repeats of
/// one pair kept once. `Ok(None)` when one property is asked for two different values (no
/// completion can match); a 400 naming the limit past [`MAX_PROPERTY_FILTERS`] distinct
/// properties.
pub fn fold_property_filters(
    filters: Vec<(String, String)>,
) -> Result<Option<Vec<(String, String)>>, ValidationError> {
    let mut folded: BTreeMap<String, String> = BTreeMap::new();
    let mut contradictory = false;
    for (name, value) in filters {
        let name = name.to_lowercase();
        match folded.get(&name) {
            Some(kept) => contradictory |= *kept != value,
            None => {
                folded.insert(name, value);
            }
        }
    }
    if folded.len() > MAX_PROPERTY_FILTERS {
        return Err(ValidationError::new(
            "property",
            "TOO_MANY_FILTERS",
            format!(
                "the request filters on {} distinct properties (property.<name>); a read takes at most {MAX_PROPERTY_FILTERS}, as a completion has at most {MAX_PROPERTIES_PER_COMPLETION} properties",
                folded.len()
            ),
        ));
    }
    Ok((!contradictory).then(|| folded.into_iter().collect()))
}

/// Folds property names to lower case. Within a group of names equal after folding, the value
/// of the name sorted last in ascending lexicographic order of the original names wins
/// (SPEC.md); more than [`MAX_PROPERTIES_PER_COMPLETION`] distinct names is refused. `field`
/// prefixes paths (`properties` or `inputs[3].properties`).
pub fn fold_properties<K: AsRef<str> + Ord, V: AsRef<str>>(
    field: &str,
    input: &BTreeMap<K, V>,
) -> Result<BTreeMap<String, String>, ValidationError> {
    let mut folded = BTreeMap::new();
    // A BTreeMap iterates in ascending order of the original names, so the last insert into a
    // folded name is the one sorted last.
    for (name, value) in input {
        folded.insert(name.as_ref().to_lowercase(), value.as_ref().to_owned());
    }
    if folded.len() > MAX_PROPERTIES_PER_COMPLETION {
        return Err(ValidationError::new(
            field,
            "TOO_MANY_PROPERTIES",
            format!(
                "{field} has {} distinct properties; a completion carries at most {MAX_PROPERTIES_PER_COMPLETION}",
                folded.len()
            ),
        ));
    }
    Ok(folded)
}

fn is_asset_type(value: &str) -> bool {
    if ASSET_TYPES.contains(&value) {
        return true;
    }
    // CUSTOM_BEHAVIORAL_EVENT_NAME stands for an event's internal name, e.g.
    // pe123456_manually_tracked_event.
    value
        .strip_prefix("pe")
        .and_then(|rest| rest.split_once('_'))
        .is_some_and(|(portal, name)| {
            !portal.is_empty()
                && portal.chars().all(|c| c.is_ascii_digit())
                && name.starts_with(|c: char| c.is_ascii_lowercase())
                && name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        })
}

/// Checks folded properties against a definition's properties; returns the values to store.
/// Every problem is reported. `hs_page_content_type` overrides `hs_asset_type` (seed).
pub fn check_properties(
    field: &str,
    definition: &[EventProperty],
    folded: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, Vec<ValidationError>> {
    let mut problems = Vec::new();
    let mut out = BTreeMap::new();
    for (name, value) in folded {
        let path = format!("{field}.{name}");
        let Some(def) = definition.iter().find(|p| p.name == *name) else {
            problems.push(ValidationError::new(
                &path,
                "PROPERTY_DOESNT_EXIST",
                format!("Property \"{name}\" is not defined for this event; add it to the event definition first"),
            ));
            continue;
        };
        let chars = value.chars().count();
        let limit = if def.is_url() {
            MAX_URL_VALUE_CHARS
        } else {
            MAX_VALUE_CHARS
        };
        if chars > limit {
            let kind = if def.is_url() {
                "URL properties allow"
            } else {
                "values allow"
            };
            problems.push(ValidationError::new(
                &path,
                "TOO_LONG",
                format!("property \"{name}\" has {chars} characters; {kind} at most {limit}"),
            ));
            continue;
        }
        let checked = match name.as_str() {
            "hs_page_content_type" | "hs_asset_type" => {
                if is_asset_type(value) {
                    Ok(Some(value.clone()))
                } else {
                    Err(ValidationError::new(
                        &path,
                        "INVALID_OPTION",
                        format!(
                            "property \"{name}\" \"{value}\" is not an asset type: use {} or an event's internal name (pe<portalId>_<name>)",
                            ASSET_TYPES.join(", ")
                        ),
                    ))
                }
            }
            _ => as_crm_definition(def).check_value(&path, value),
        };
        match checked {
            Ok(Some(v)) => {
                out.insert(name.clone(), v);
            }
            Ok(None) => {}
            Err(e) => problems.push(e),
        }
    }
    if let Some(page) = out.get("hs_page_content_type").cloned() {
        out.insert("hs_asset_type".to_owned(), page);
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

/// The value rules of an event property are those of a CRM property of the same type, with
/// several `;`-separated enumeration values allowed (seed: property types).
fn as_crm_definition(p: &EventProperty) -> PropertyDefinition {
    PropertyDefinition {
        name: p.name.clone(),
        label: p.label.clone(),
        property_type: p.property_type,
        field_type: if p.property_type == PropertyType::Enumeration {
            "checkbox".into()
        } else {
            String::new()
        },
        group_name: String::new(),
        description: String::new(),
        options: p.options.clone(),
        has_unique_value: false,
        hidden: false,
        display_order: -1,
        form_field: false,
        hubspot_defined: p.hubspot_defined,
        read_only_value: false,
        returned_by_default: false,
    }
}

/// Parses `occurredAt` (ISO 8601 or epoch milliseconds); absent means `now`, the time of
/// receipt (SPEC.md).
pub fn parse_occurred_at(
    field: &str,
    raw: Option<&str>,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, ValidationError> {
    match raw.map(str::trim).filter(|r| !r.is_empty()) {
        None => Ok(now),
        Some(r) => parse_datetime(r).ok_or_else(|| {
            ValidationError::new(
                field,
                "INVALID_DATETIME",
                format!("{field} \"{r}\" is not ISO 8601 (e.g. 2024-01-02T03:04:05Z) or epoch milliseconds"),
            )
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::custom_events::definition::default_event_properties;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn custom(name: &str, t: PropertyType) -> EventProperty {
        EventProperty {
            name: name.into(),
            label: name.into(),
            property_type: t,
            description: String::new(),
            options: Vec::new(),
            hubspot_defined: false,
        }
    }

    #[test]
    fn duplicates_after_folding_keep_the_name_sorted_last() {
        // Ascending order of the original names: "COLOR" < "Color" < "color".
        let folded = fold_properties(
            "properties",
            &map(&[("color", "c"), ("COLOR", "a"), ("Color", "b")]),
        )
        .unwrap();
        assert_eq!(folded, map(&[("color", "c")]));
        let folded = fold_properties("properties", &map(&[("Size", "x"), ("SIZE", "y")])).unwrap();
        assert_eq!(
            folded,
            map(&[("size", "x")]),
            "\"Size\" sorts after \"SIZE\""
        );
    }

    #[test]
    fn fifty_distinct_properties_pass_and_51_fail() {
        let at: BTreeMap<String, String> = (0..50).map(|i| (format!("p{i}"), "v".into())).collect();
        assert_eq!(fold_properties("properties", &at).unwrap().len(), 50);
        let mut with_dupes = at.clone();
        with_dupes.insert("P0".into(), "w".into());
        assert_eq!(
            fold_properties("properties", &with_dupes).unwrap().len(),
            50,
            "a case duplicate is not a 51st"
        );
        let past: BTreeMap<String, String> =
            (0..51).map(|i| (format!("p{i}"), "v".into())).collect();
        let e = fold_properties("properties", &past).unwrap_err();
        assert!(
            e.message.contains("51") && e.message.contains("50"),
            "{}",
            e.message
        );
    }

    #[test]
    fn values_at_256_pass_and_257_fail_and_urls_allow_1024() {
        let defs = default_event_properties();
        let ok = map(&[
            ("hs_page_title", &"t".repeat(256)),
            ("hs_url", &"u".repeat(1024)),
        ]);
        assert!(check_properties("properties", &defs, &ok).is_ok());
        let errs = check_properties(
            "properties",
            &defs,
            &map(&[
                ("hs_page_title", &"t".repeat(257)),
                ("hs_referrer", &"u".repeat(1025)),
            ]),
        )
        .unwrap_err();
        let by_field: BTreeMap<&str, &str> = errs
            .iter()
            .map(|e| (e.field.as_str(), e.message.as_str()))
            .collect();
        assert!(
            by_field["properties.hs_page_title"].contains("257")
                && by_field["properties.hs_page_title"].contains("256")
        );
        assert!(
            by_field["properties.hs_referrer"].contains("1025")
                && by_field["properties.hs_referrer"].contains("1024")
        );
    }

    #[test]
    fn values_are_checked_by_type() {
        let mut size = custom("size", PropertyType::Enumeration);
        size.options = ["s", "m"]
            .iter()
            .map(|v| crate::crm::property::PropertyOption {
                label: (*v).into(),
                value: (*v).into(),
                display_order: 0,
                hidden: false,
                description: None,
            })
            .collect();
        let defs = vec![
            custom("count", PropertyType::Number),
            custom("paid", PropertyType::Bool),
            custom("day", PropertyType::Date),
            custom("at", PropertyType::Datetime),
            size,
        ];
        let ok = check_properties(
            "properties",
            &defs,
            &map(&[
                ("count", "2.5"),
                ("paid", "TRUE"),
                ("day", "1704153600000"),
                ("at", "1704164645123"),
                ("size", "s;m"),
            ]),
        )
        .unwrap();
        assert_eq!(ok["paid"], "true");
        assert_eq!(ok["day"], "2024-01-02");
        assert_eq!(ok["at"], "2024-01-02T03:04:05.123Z");
        let errs = check_properties(
            "properties",
            &defs,
            &map(&[
                ("count", "1.2.3"),
                ("paid", "yes"),
                ("day", "1704153600001"),
                ("at", "soon"),
                ("size", "xl"),
                ("nope", "1"),
            ]),
        )
        .unwrap_err();
        assert_eq!(errs.len(), 6, "{errs:?}");
    }

    #[test]
    fn page_content_type_overrides_asset_type_and_both_take_the_seed_values() {
        let defs = default_event_properties();
        let out = check_properties(
            "properties",
            &defs,
            &map(&[
                ("hs_asset_type", "BLOG_POST"),
                ("hs_page_content_type", "LANDING_PAGE"),
            ]),
        )
        .unwrap();
        assert_eq!(out["hs_asset_type"], "LANDING_PAGE");
        assert!(check_properties(
            "properties",
            &defs,
            &map(&[("hs_asset_type", "pe123_tracked")])
        )
        .is_ok());
        assert!(
            check_properties("properties", &defs, &map(&[("hs_asset_type", "WEBINAR")])).is_err()
        );
        assert!(check_properties(
            "properties",
            &defs,
            &map(&[("hs_touchpoint_source", "PAID_SOCIAL")])
        )
        .is_ok());
        assert!(
            check_properties("properties", &defs, &map(&[("hs_touchpoint_source", "TV")])).is_err()
        );
    }

    #[test]
    fn occurred_at_defaults_to_receipt_and_takes_iso_or_epoch() {
        let now = Utc::now();
        assert_eq!(parse_occurred_at("occurredAt", None, now).unwrap(), now);
        assert_eq!(
            parse_occurred_at("occurredAt", Some("1704164645123"), now)
                .unwrap()
                .timestamp_millis(),
            1_704_164_645_123
        );
        assert!(parse_occurred_at("occurredAt", Some("2024-01-02T03:04:05+01:00"), now).is_ok());
        assert_eq!(
            parse_occurred_at("occurredAt", Some("later"), now)
                .unwrap_err()
                .field,
            "occurredAt"
        );
    }

    fn filters(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn repeated_property_filters_are_folded_into_one() {
        let many = vec![("N".to_owned(), "1".to_owned()); 300];
        assert_eq!(
            fold_property_filters(many).unwrap(),
            Some(filters(&[("n", "1")]))
        );
    }

    #[test]
    fn one_property_asked_for_two_values_matches_nothing() {
        let two = filters(&[("n", "1"), ("city", "x"), ("n", "2")]);
        assert_eq!(fold_property_filters(two).unwrap(), None);
    }

    #[test]
    fn property_filters_take_50_distinct_properties_and_not_51() {
        let at = |n: usize| -> Vec<(String, String)> {
            (0..n).map(|i| (format!("p{i}"), "v".to_owned())).collect()
        };
        assert_eq!(
            fold_property_filters(at(50)).unwrap().map(|f| f.len()),
            Some(50)
        );
        let e = fold_property_filters(at(51)).unwrap_err();
        assert_eq!((e.field.as_str(), e.code), ("property", "TOO_MANY_FILTERS"));
        assert!(
            e.message.contains("51") && e.message.contains("50"),
            "{}",
            e.message
        );
    }
}
