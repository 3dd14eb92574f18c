//! The rules one timeline event is checked by against its event type ([`check_event`]): its
//! id, the record it names, its time, its property (token) values, its `timelineIFrame` and
//! the seed's size limits; and which CRM properties it stamps. The result,
//! [`CheckedEvent`], is what the store writes.

use std::borrow::Cow;
use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::event_type::{EventTypeDefinition, PropertyType};
use crate::association::{identify, EventRecord, Identifiers, Priority};
use crate::custom_events::completion::parse_occurred_at;
use crate::error::ValidationError;

/// The longest event id, in bytes (seed: "500 Bytes für die Event-Instanz-ID").
pub const MAX_EVENT_ID_BYTES: usize = 500;

/// The longest value of one property (token), in bytes (seed: "510 KB pro Eigenschaft/Token").
pub const MAX_VALUE_BYTES: usize = 510 * 1024;

/// The largest serialized event, in bytes (seed: "1 MB Gesamtgröße für die Event-Instanz").
pub const MAX_EVENT_BYTES: usize = 1024 * 1024;

/// At most this many events per batch create. The v3 seed names no figure; the v4 seed's batch
/// limit, which Chronik applies to both.
pub const MAX_BATCH_INPUTS: usize = 500;

/// Inside an event id, replaced by a unique string (seed: `{{uuid}}`).
pub const UUID_PLACEHOLDER: &str = "{{uuid}}";

/// An iframe the event's card links to (`timelineIFrame`): all five fields are required.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TimelineIframe {
    /// The link text on the card.
    pub link_label: String,
    /// The title of the window the iframe opens in.
    pub header_label: String,
    /// What the iframe shows (`http` or `https`).
    pub url: String,
    /// The window's width in pixels.
    pub width: u32,
    /// The window's height in pixels.
    pub height: u32,
}

/// The largest iframe window side Chronik accepts, in pixels (not a HubSpot figure; a bound).
pub const MAX_IFRAME_SIDE: u64 = 10_000;

/// `timelineIFrame` as sent: every field may be missing or of the wrong type.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IframeInput<'a> {
    /// `linkLabel`.
    pub link_label: Option<&'a Value>,
    /// `headerLabel`.
    pub header_label: Option<&'a Value>,
    /// `url`.
    pub url: Option<&'a Value>,
    /// `width`.
    pub width: Option<&'a Value>,
    /// `height`.
    pub height: Option<&'a Value>,
}

/// One event as sent (fields of a v3 `TimelineEvent` or a v4 occurrence).
#[derive(Debug, Clone, Default)]
pub struct EventInput<'a> {
    /// `id`; absent or empty: a UUID.
    pub id: Option<&'a str>,
    /// `objectId`, as text.
    pub object_id: Option<Cow<'a, str>>,
    /// `email`.
    pub email: Option<&'a str>,
    /// `utk`.
    pub utk: Option<&'a str>,
    /// `domain`.
    pub domain: Option<&'a str>,
    /// `timestamp`: ISO 8601 or epoch milliseconds; absent: the time of receipt.
    pub timestamp: Option<Cow<'a, str>>,
    /// `tokens` (v3) / `properties` (v4).
    pub values: Option<&'a serde_json::Map<String, Value>>,
    /// `extraData`: any JSON.
    pub extra_data: Option<&'a Value>,
    /// `timelineIFrame`, when sent.
    pub iframe: Option<IframeInput<'a>>,
    /// The size of the event as sent (its JSON), for [`MAX_EVENT_BYTES`].
    pub serialized_bytes: usize,
}

/// What an event stores besides its record and time: the values as text, and what came with
/// them. Kept as one JSON document per event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventBody {
    /// Property values, as strings (`3` is stored as `"3"`).
    pub tokens: BTreeMap<String, String>,
    /// `extraData`, when sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra_data: Option<Value>,
    /// `timelineIFrame`, when sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeline_iframe: Option<TimelineIframe>,
    /// `email`, as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// `utk`, as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utk: Option<String>,
    /// `domain`, as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
}

/// A CRM property an event sets on its record, newest event by time winning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamp {
    /// The CRM property.
    pub property: String,
    /// The value.
    pub value: String,
}

/// An event that passed every rule of its type.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckedEvent {
    /// Its id, `{{uuid}}` replaced.
    pub id: String,
    /// The record it names.
    pub record: EventRecord,
    /// When it happened.
    pub occurred_at: DateTime<Utc>,
    /// What it stores.
    pub body: EventBody,
    /// The CRM properties it stamps, in the type's property order.
    pub stamps: Vec<Stamp>,
}

/// Checks one event against its type, every problem at once. `path` prefixes every field
/// (`inputs[3].`), `values_field` names the values (`tokens` in v3, `properties` in v4).
pub fn check_event(
    def: &EventTypeDefinition,
    input: &EventInput<'_>,
    path: &str,
    values_field: &str,
    now: DateTime<Utc>,
) -> Result<CheckedEvent, Vec<ValidationError>> {
    let mut problems = Vec::new();
    if input.serialized_bytes > MAX_EVENT_BYTES {
        // Nothing else is looked at: the size alone decides.
        return Err(vec![ValidationError::new(
            path.trim_end_matches('.').to_owned(),
            "TOO_LARGE",
            format!(
                "{}the event is {} bytes serialized; an event may be at most {MAX_EVENT_BYTES} bytes (1 MB)",
                describe(path),
                input.serialized_bytes
            ),
        )]);
    }
    let id = event_id(&format!("{path}id"), input.id).map_err(|e| problems.push(e));
    let record = identify(
        Priority::TimelineV3,
        def.object_type.type_id,
        &Identifiers {
            custom: None,
            object_id: input.object_id.clone(),
            email: input.email,
            utk: input.utk,
        },
        path,
    )
    .map_err(|e| problems.push(e));
    let occurred_at =
        parse_occurred_at(&format!("{path}timestamp"), input.timestamp.as_deref(), now)
            .map_err(|e| problems.push(e));
    let tokens = check_values(def, input.values, &format!("{path}{values_field}"))
        .map_err(|mut e| problems.append(&mut e));
    let iframe = input
        .iframe
        .as_ref()
        .map(|i| check_iframe(&format!("{path}timelineIFrame"), i))
        .transpose()
        .map_err(|mut e| problems.append(&mut e));
    if let Some(domain) = input.domain {
        if let Err(e) = crate::text::check_no_control_chars(&format!("{path}domain"), domain)
            .and_then(|()| crate::text::check_max_chars(&format!("{path}domain"), domain, 253))
        {
            problems.push(e);
        }
    }
    let (Ok(id), Ok(record), Ok(occurred_at), Ok(tokens), Ok(iframe)) =
        (id, record, occurred_at, tokens, iframe)
    else {
        return Err(problems);
    };
    if !problems.is_empty() {
        return Err(problems);
    }
    let stamps = stamps(def, &tokens);
    Ok(CheckedEvent {
        id,
        record,
        occurred_at,
        body: EventBody {
            tokens,
            extra_data: input.extra_data.cloned(),
            timeline_iframe: iframe,
            email: input.email.map(str::to_owned),
            utk: input.utk.map(str::to_owned),
            domain: input.domain.map(str::to_owned),
        },
        stamps,
    })
}

fn describe(path: &str) -> String {
    if path.is_empty() {
        String::new()
    } else {
        format!("{}: ", path.trim_end_matches('.'))
    }
}

/// The event's id: as sent with every `{{uuid}}` replaced by a fresh UUID, or a UUID when
/// none is sent; at most [`MAX_EVENT_ID_BYTES`] bytes once replaced.
pub fn event_id(field: &str, raw: Option<&str>) -> Result<String, ValidationError> {
    let Some(raw) = raw.filter(|r| !r.is_empty()) else {
        return Ok(uuid::Uuid::new_v4().to_string());
    };
    crate::text::check_no_control_chars(field, raw)?;
    let mut id = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(at) = rest.find(UUID_PLACEHOLDER) {
        id.push_str(&rest[..at]);
        id.push_str(&uuid::Uuid::new_v4().to_string());
        rest = &rest[at + UUID_PLACEHOLDER.len()..];
    }
    id.push_str(rest);
    if id.len() > MAX_EVENT_ID_BYTES {
        return Err(ValidationError::new(
            field,
            "TOO_LONG",
            format!(
                "{field} is {} bytes{}; an event id may be at most {MAX_EVENT_ID_BYTES} bytes",
                id.len(),
                if id.len() == raw.len() {
                    ""
                } else {
                    " once {{uuid}} is replaced"
                }
            ),
        ));
    }
    Ok(id)
}

/// The values an event sends, checked against the type's properties and turned into text:
/// each must be a property of the type, of its type (numbers are accepted for any type and
/// kept as their text), an enumeration value one of its options, at most
/// [`MAX_VALUE_BYTES`].
pub fn check_values(
    def: &EventTypeDefinition,
    values: Option<&serde_json::Map<String, Value>>,
    field: &str,
) -> Result<BTreeMap<String, String>, Vec<ValidationError>> {
    let mut problems = Vec::new();
    let mut out = BTreeMap::new();
    for (name, value) in values.into_iter().flatten() {
        let path = format!("{field}.{name}");
        let Some(p) = def.property(name) else {
            let known = def
                .properties
                .iter()
                .map(|p| p.name.as_str())
                .take(20)
                .collect::<Vec<_>>();
            problems.push(ValidationError::new(
                path,
                "UNKNOWN_TOKEN",
                format!(
                    "{field}.{name}: the template has no token \"{}\" ({})",
                    name.escape_debug(),
                    if known.is_empty() {
                        "it has none".to_owned()
                    } else {
                        format!("its tokens are {}", known.join(", "))
                    }
                ),
            ));
            continue;
        };
        let text = match value {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            other => {
                problems.push(ValidationError::new(
                    path.clone(),
                    "INVALID_TYPE",
                    format!(
                        "{path} is {}; a {} token takes a string{}",
                        json_kind(other),
                        p.property_type.as_str(),
                        if matches!(p.property_type, PropertyType::Number | PropertyType::Date) {
                            " or a number"
                        } else {
                            " (or a number)"
                        }
                    ),
                ));
                continue;
            }
        };
        if text.len() > MAX_VALUE_BYTES {
            problems.push(ValidationError::new(
                path.clone(),
                "TOO_LONG",
                format!(
                    "{path} is {} bytes; a token value may be at most {MAX_VALUE_BYTES} bytes (510 KB)",
                    text.len()
                ),
            ));
            continue;
        }
        let wrong = match p.property_type {
            PropertyType::String => None,
            PropertyType::Number => {
                (!is_number(&text)).then(|| "a number (like 3 or 2.5)".to_owned())
            }
            PropertyType::Date => (text.trim().parse::<i64>().is_err())
                .then(|| "a date in epoch milliseconds (like 1580405530276)".to_owned()),
            PropertyType::Enumeration => (!p.options.iter().any(|o| o.value == text)).then(|| {
                format!(
                    "one of its options' values: {}",
                    p.options
                        .iter()
                        .map(|o| format!("\"{}\"", o.value))
                        .take(20)
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }),
        };
        if let Some(expected) = wrong {
            let shown: String = text.chars().take(100).collect();
            problems.push(ValidationError::new(
                path.clone(),
                "INVALID_VALUE",
                format!(
                    "{path} \"{}\" is not valid for {} token \"{name}\": send {expected}",
                    shown.escape_debug(),
                    article(p.property_type)
                ),
            ));
            continue;
        }
        out.insert(name.clone(), text);
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

fn article(t: PropertyType) -> String {
    match t {
        PropertyType::Enumeration => "an enumeration".to_owned(),
        other => format!("a {}", other.as_str()),
    }
}

fn is_number(text: &str) -> bool {
    text.trim().parse::<f64>().is_ok_and(f64::is_finite)
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// `timelineIFrame`: all five fields, labels as text, `url` http or https, `width` and
/// `height` whole numbers from 1 to [`MAX_IFRAME_SIDE`].
pub fn check_iframe(
    field: &str,
    input: &IframeInput<'_>,
) -> Result<TimelineIframe, Vec<ValidationError>> {
    let mut problems = Vec::new();
    let mut text = |name: &str, v: Option<&Value>| -> Option<String> {
        let path = format!("{field}.{name}");
        match v {
            Some(Value::String(s)) if !s.trim().is_empty() => {
                match crate::text::check_no_control_chars(&path, s)
                    .and_then(|()| crate::text::check_max_chars(&path, s, 2_000))
                {
                    Ok(()) => Some(s.clone()),
                    Err(e) => {
                        problems.push(e);
                        None
                    }
                }
            }
            None | Some(Value::Null) => {
                problems.push(ValidationError::new(
                    path.clone(),
                    "REQUIRED",
                    format!("{path} is required: a timelineIFrame needs linkLabel, headerLabel, url, width and height"),
                ));
                None
            }
            Some(_) => {
                problems.push(ValidationError::new(
                    path.clone(),
                    "INVALID_TYPE",
                    format!("{path} must be a non-empty string"),
                ));
                None
            }
        }
    };
    let link_label = text("linkLabel", input.link_label);
    let header_label = text("headerLabel", input.header_label);
    let url = text("url", input.url);
    let url = url.and_then(|u| {
        let lower = u.trim_start().to_ascii_lowercase();
        if lower.starts_with("https://") || lower.starts_with("http://") {
            Some(u)
        } else {
            problems.push(ValidationError::new(
                format!("{field}.url"),
                "INVALID_URL",
                format!("{field}.url must be an http or https URL"),
            ));
            None
        }
    });
    let mut side = |name: &str, v: Option<&Value>| -> Option<u32> {
        let path = format!("{field}.{name}");
        match v.and_then(Value::as_u64) {
            Some(n) if (1..=MAX_IFRAME_SIDE).contains(&n) => u32::try_from(n).ok(),
            _ => {
                problems.push(ValidationError::new(
                    path.clone(),
                    if v.is_none() {
                        "REQUIRED"
                    } else {
                        "INVALID_VALUE"
                    },
                    format!("{path} must be a whole number of pixels from 1 to {MAX_IFRAME_SIDE}"),
                ));
                None
            }
        }
    };
    let width = side("width", input.width);
    let height = side("height", input.height);
    match (link_label, header_label, url, width, height) {
        (Some(link_label), Some(header_label), Some(url), Some(width), Some(height))
            if problems.is_empty() =>
        {
            Ok(TimelineIframe {
                link_label,
                header_label,
                url,
                width,
                height,
            })
        }
        _ => Err(problems),
    }
}

/// The CRM properties an event's values stamp: each property with an `objectPropertyName`
/// that the event sends a value for.
pub fn stamps(def: &EventTypeDefinition, values: &BTreeMap<String, String>) -> Vec<Stamp> {
    def.properties
        .iter()
        .filter_map(|p| {
            let property = p.object_property_name.as_ref()?;
            let value = values.get(&p.name)?;
            Some(Stamp {
                property: property.clone(),
                value: value.clone(),
            })
        })
        .collect()
}

/// The values of a stored event that its type's current version shows: a token removed from
/// the type keeps its value in the event (events are immutable) but no render sees it. Borrows
/// when every value's token still exists, the usual case.
pub fn visible_values<'a>(
    def: &EventTypeDefinition,
    values: &'a BTreeMap<String, String>,
) -> Cow<'a, BTreeMap<String, String>> {
    if values.keys().all(|name| def.property(name).is_some()) {
        Cow::Borrowed(values)
    } else {
        Cow::Owned(
            values
                .iter()
                .filter(|(name, _)| def.property(name).is_some())
                .map(|(name, value)| (name.clone(), value.clone()))
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::event_type::{EventProperty, PropertyOption};
    use super::*;
    use crate::association::RecordRef;
    use crate::timeline::event_type::{EventObjectType, Origin};

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp_millis(1_700_000_000_000).unwrap()
    }

    fn prop(name: &str, t: PropertyType, stamp: Option<&str>) -> EventProperty {
        EventProperty {
            name: name.into(),
            label: name.into(),
            property_type: t,
            options: if t == PropertyType::Enumeration {
                vec![PropertyOption {
                    label: "Dog".into(),
                    value: "dog".into(),
                }]
            } else {
                Vec::new()
            },
            object_property_name: stamp.map(str::to_owned),
            created_at: now(),
            updated_at: now(),
        }
    }

    fn def(object_type: &str) -> EventTypeDefinition {
        EventTypeDefinition {
            name: "Pets".into(),
            object_type: EventObjectType::parse_v3("objectType", object_type).unwrap(),
            header_template: None,
            detail_template: None,
            properties: vec![
                prop("petName", PropertyType::String, Some("pet_name")),
                prop("petAge", PropertyType::Number, None),
                prop("born", PropertyType::Date, None),
                prop("kind", PropertyType::Enumeration, None),
            ],
            origin: Origin::Http,
        }
    }

    fn values(v: Value) -> serde_json::Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    fn fields(e: Vec<ValidationError>) -> Vec<String> {
        e.into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn numbers_are_accepted_and_kept_as_text_and_stamps_follow_the_tokens() {
        let v = values(
            json!({"petName": "Art3mis", "petAge": 3, "born": "1580405530276", "kind": "dog"}),
        );
        let input = EventInput {
            email: Some("a@b.co"),
            values: Some(&v),
            ..Default::default()
        };
        let e = check_event(&def("contacts"), &input, "", "tokens", now()).unwrap();
        assert_eq!(e.body.tokens["petAge"], "3");
        assert_eq!(e.occurred_at, now(), "no timestamp: the time of receipt");
        assert!(matches!(e.record.primary, RecordRef::Email(_)));
        assert_eq!(
            e.stamps,
            [Stamp {
                property: "pet_name".into(),
                value: "Art3mis".into()
            }]
        );
        assert_eq!(
            uuid::Uuid::parse_str(&e.id).map(|_| ()),
            Ok(()),
            "default id is a UUID"
        );
    }

    #[test]
    fn unknown_tokens_wrong_types_and_foreign_options_each_name_the_token() {
        let v = values(
            json!({"nope": "x", "petAge": "three", "born": "yesterday", "kind": "cat", "petName": true}),
        );
        let input = EventInput {
            email: Some("a@b.co"),
            values: Some(&v),
            ..Default::default()
        };
        let e = check_event(&def("contacts"), &input, "inputs[2].", "tokens", now()).unwrap_err();
        let mut f = fields(e);
        f.sort();
        assert_eq!(
            f,
            [
                "inputs[2].tokens.born",
                "inputs[2].tokens.kind",
                "inputs[2].tokens.nope",
                "inputs[2].tokens.petAge",
                "inputs[2].tokens.petName"
            ]
        );
    }

    #[test]
    fn ids_replace_uuid_placeholders_and_are_limited_to_500_bytes() {
        let id = event_id("id", Some("pet:{{uuid}}:{{uuid}}")).unwrap();
        let parts: Vec<_> = id.split(':').collect();
        assert_eq!(parts.len(), 3);
        assert_ne!(parts[1], parts[2]);
        assert!(uuid::Uuid::parse_str(parts[1]).is_ok());
        assert!(event_id("id", Some(&"é".repeat(MAX_EVENT_ID_BYTES / 2))).is_ok());
        let e = event_id(
            "id",
            Some(&format!("{}x", "é".repeat(MAX_EVENT_ID_BYTES / 2))),
        )
        .unwrap_err();
        assert!(e.message.contains("at most 500 bytes"), "{e}");
        let near = format!(
            "{}{}",
            "x".repeat(MAX_EVENT_ID_BYTES - 36),
            UUID_PLACEHOLDER
        );
        assert_eq!(
            event_id("id", Some(&near)).unwrap().len(),
            MAX_EVENT_ID_BYTES
        );
        let past = format!(
            "{}{}",
            "x".repeat(MAX_EVENT_ID_BYTES - 35),
            UUID_PLACEHOLDER
        );
        assert!(event_id("id", Some(&past))
            .unwrap_err()
            .message
            .contains("once {{uuid}}"));
    }

    #[test]
    fn token_values_are_limited_to_510_kb_and_events_to_1_mb() {
        let d = def("contacts");
        let at = values(json!({"petName": "x".repeat(MAX_VALUE_BYTES)}));
        let past = values(json!({"petName": "x".repeat(MAX_VALUE_BYTES + 1)}));
        let input = |v| EventInput {
            email: Some("a@b.co"),
            values: Some(v),
            serialized_bytes: MAX_EVENT_BYTES,
            ..Default::default()
        };
        assert!(check_event(&d, &input(&at), "", "tokens", now()).is_ok());
        let e = check_event(&d, &input(&past), "", "tokens", now()).unwrap_err();
        assert_eq!(fields(e), ["tokens.petName"]);
        let mut big = input(&at);
        big.serialized_bytes = MAX_EVENT_BYTES + 1;
        let e = check_event(&d, &big, "inputs[0].", "tokens", now()).unwrap_err();
        assert!(e[0].message.contains("at most 1048576 bytes"), "{}", e[0]);
    }

    #[test]
    fn iframes_need_all_five_fields_and_an_http_url() {
        let (l, h, u, w, ht) = (
            json!("View"),
            json!("Pet"),
            json!("https://x.io/p"),
            json!(600),
            json!(400),
        );
        let ok = IframeInput {
            link_label: Some(&l),
            header_label: Some(&h),
            url: Some(&u),
            width: Some(&w),
            height: Some(&ht),
        };
        assert_eq!(check_iframe("timelineIFrame", &ok).unwrap().width, 600);
        let missing = IframeInput {
            height: None,
            ..ok.clone()
        };
        assert_eq!(
            fields(check_iframe("timelineIFrame", &missing).unwrap_err()),
            ["timelineIFrame.height"]
        );
        let js = json!("javascript:alert(1)");
        let bad = IframeInput {
            url: Some(&js),
            ..ok.clone()
        };
        assert_eq!(
            fields(check_iframe("timelineIFrame", &bad).unwrap_err()),
            ["timelineIFrame.url"]
        );
    }

    #[test]
    fn values_of_removed_tokens_are_not_visible() {
        let d = def("contacts");
        let all: BTreeMap<String, String> = [("petName", "Art3mis"), ("petAge", "3")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        assert!(matches!(visible_values(&d, &all), Cow::Borrowed(_)));
        let mut fewer = d.clone();
        fewer.properties.retain(|p| p.name != "petAge");
        let shown = visible_values(&fewer, &all);
        assert_eq!(shown.keys().collect::<Vec<_>>(), ["petName"]);
    }

    #[test]
    fn non_contact_types_need_object_id() {
        let input = EventInput {
            email: Some("a@b.co"),
            ..Default::default()
        };
        let e = check_event(&def("companies"), &input, "", "tokens", now()).unwrap_err();
        assert_eq!(fields(e), ["objectId"]);
        let input = EventInput {
            object_id: Some(Cow::Borrowed("42")),
            timestamp: Some(Cow::Borrowed("2020-01-30T17:42:10.276Z")),
            ..Default::default()
        };
        let e = check_event(&def("companies"), &input, "", "tokens", now()).unwrap();
        assert_eq!(e.occurred_at.timestamp_millis(), 1_580_406_130_276);
    }
}
