//! HubSpot's timeline v3 shapes (api-reference §2.3, §2.4; HubSpot's CRM timeline OpenAPI
//! spec), under HubSpot's schema names. Requests are lenient where the SDKs are: fields the
//! spec marks required may be missing (client-side validation is off in both SDKs) and are
//! reported by the domain rules with every other problem at once; unknown fields are ignored
//! (the SDKs send a template's response fields back in a `PUT`).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::api::crm::wire::StandardError;

/// `TimelineEventTemplateTokenOption`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TimelineEventTemplateTokenOption {
    /// What people see.
    #[serde(default)]
    pub label: String,
    /// What events send.
    #[serde(default)]
    pub value: String,
}

/// `TimelineEventTemplateToken`: a token as sent (create, and inside templates) and as
/// answered (with `createdAt`/`updatedAt`, and `options: []` for the types without options).
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TimelineEventTemplateToken {
    /// Unique in the template: letters, digits, `.`, `-`, `_`.
    #[serde(default)]
    pub name: String,
    /// Used in lists and reports.
    #[serde(default)]
    pub label: String,
    /// `string`, `number`, `date` (epoch milliseconds) or `enumeration`.
    #[serde(rename = "type", default)]
    pub token_type: String,
    /// The options of an enumeration (at least one); `[]` for the other types.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub options: Vec<TimelineEventTemplateTokenOption>,
    /// The CRM property of the event's record this token's value sets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object_property_name: Option<String>,
    /// When the token was added (answers only).
    #[serde(
        skip_deserializing,
        skip_serializing_if = "Option::is_none",
        serialize_with = "crate::timestamp::serialize_option"
    )]
    pub created_at: Option<DateTime<Utc>>,
    /// When the token last changed (answers only).
    #[serde(
        skip_deserializing,
        skip_serializing_if = "Option::is_none",
        serialize_with = "crate::timestamp::serialize_option"
    )]
    pub updated_at: Option<DateTime<Utc>>,
}

/// `TimelineEventTemplateTokenUpdateRequest`: what a token update may change. `name` and
/// `type` are not part of HubSpot's request; when sent they must be the token's own.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TimelineEventTemplateTokenUpdateRequest {
    /// The new label.
    #[serde(default)]
    pub label: String,
    /// The new options (an enumeration needs at least one).
    #[serde(default, deserialize_with = "null_as_empty")]
    pub options: Vec<TimelineEventTemplateTokenOption>,
    /// The new stamped CRM property; absent or null: none.
    #[serde(default)]
    pub object_property_name: Option<String>,
    /// Cannot change; refused when it differs from the path's.
    #[serde(default)]
    #[schema(ignore)]
    pub name: Option<String>,
    /// Cannot change; refused when it differs from the token's.
    #[serde(rename = "type", default)]
    #[schema(ignore)]
    pub token_type: Option<String>,
}

/// `TimelineEventTemplateCreateRequest`.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TimelineEventTemplateCreateRequest {
    /// The template's name.
    #[serde(default)]
    pub name: String,
    /// `contacts`, `companies`, `deals` or `tickets` (also singular, any case); echoed as
    /// sent.
    #[serde(default)]
    pub object_type: String,
    /// Markdown with Handlebars, one line: the timeline card's header.
    #[serde(default)]
    pub header_template: Option<String>,
    /// Markdown with Handlebars: the card's details (the only one that sees `extraData`).
    #[serde(default)]
    pub detail_template: Option<String>,
    /// At most 500; may be `[]` (tokens can be added later).
    #[serde(default, deserialize_with = "null_as_empty")]
    pub tokens: Vec<TimelineEventTemplateToken>,
}

/// `TimelineEventTemplateUpdateRequest`: a full replacement (templates absent are removed,
/// tokens are replaced as a whole). `objectType` is not part of it and cannot change; when
/// sent it must be the template's.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TimelineEventTemplateUpdateRequest {
    /// The template's id; when sent, the one of the path.
    #[serde(default)]
    pub id: Option<String>,
    /// The template's name.
    #[serde(default)]
    pub name: String,
    /// The header template.
    #[serde(default)]
    pub header_template: Option<String>,
    /// The detail template.
    #[serde(default)]
    pub detail_template: Option<String>,
    /// Every token the template keeps.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub tokens: Vec<TimelineEventTemplateToken>,
    /// Cannot change; refused when it names another object type.
    #[serde(default)]
    #[schema(ignore)]
    pub object_type: Option<String>,
}

/// `TimelineEventTemplate`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TimelineEventTemplate {
    /// The numeric id, as text.
    pub id: String,
    /// The template's name.
    pub name: String,
    /// As the template was created with.
    pub object_type: String,
    /// The header template.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub header_template: Option<String>,
    /// The detail template.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail_template: Option<String>,
    /// Its tokens, in the order they were defined.
    pub tokens: Vec<TimelineEventTemplateToken>,
    /// Creation time.
    #[serde(serialize_with = "crate::timestamp::serialize")]
    pub created_at: DateTime<Utc>,
    /// Last change.
    #[serde(serialize_with = "crate::timestamp::serialize")]
    pub updated_at: DateTime<Utc>,
}

/// `CollectionResponseTimelineEventTemplateNoPaging`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CollectionResponseTimelineEventTemplateNoPaging {
    /// The app's live templates, by id.
    pub results: Vec<TimelineEventTemplate>,
}

/// A JSON string or number (HubSpot's ids and timestamps are strings; the SDKs' users send
/// numbers too).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum StringOrNumber {
    /// As text.
    String(String),
    /// As a number.
    Number(serde_json::Number),
}

impl StringOrNumber {
    /// The value as text (a number as its decimal text).
    pub fn text(&self) -> std::borrow::Cow<'_, str> {
        match self {
            StringOrNumber::String(s) => std::borrow::Cow::Borrowed(s),
            StringOrNumber::Number(n) => std::borrow::Cow::Owned(n.to_string()),
        }
    }
}

/// `TimelineEvent`: one event as sent (the create body; an item of a batch's `inputs`).
/// `customObjectTypeId` (HubSpot's newer spec) is ignored like any unknown field: the template
/// names the object type.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TimelineEvent {
    /// The template's id.
    #[serde(default)]
    #[schema(value_type = String)]
    pub event_template_id: Option<StringOrNumber>,
    /// Unique per template; absent: a UUID. `{{uuid}}` inside it is replaced by one. At most
    /// 500 bytes.
    #[serde(default)]
    pub id: Option<String>,
    /// The record's id (required for companies, deals and tickets; it is never created).
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub object_id: Option<StringOrNumber>,
    /// Contacts: finds or creates the contact; with `objectId` or `utk`, changes its email.
    #[serde(default)]
    pub email: Option<String>,
    /// Contacts: the visitor token; alone it never creates a contact.
    #[serde(default)]
    pub utk: Option<String>,
    /// Echoed (often paired with `utk`).
    #[serde(default)]
    pub domain: Option<String>,
    /// ISO 8601 with a zone, or epoch milliseconds; absent: the time of receipt.
    #[serde(default)]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub timestamp: Option<StringOrNumber>,
    /// Token values by token name (numbers are accepted and kept as text).
    #[serde(default)]
    #[schema(value_type = Object)]
    pub tokens: Option<Map<String, Value>>,
    /// Any JSON; only the detail template sees it.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub extra_data: Option<Value>,
    /// The iframe the card links to: all five fields.
    #[serde(default, rename = "timelineIFrame")]
    #[schema(value_type = Option<TimelineEventIFrame>)]
    pub timeline_iframe: Option<Map<String, Value>>,
}

/// `TimelineEventIFrame`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TimelineEventIFrame {
    /// The link text on the card.
    pub link_label: String,
    /// The title of the window the iframe opens in.
    pub header_label: String,
    /// What the iframe shows.
    pub url: String,
    /// Window width in pixels.
    pub width: u32,
    /// Window height in pixels.
    pub height: u32,
}

/// `TimelineEventResponse`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TimelineEventResponse {
    /// The event's id.
    pub id: String,
    /// Its template's id.
    pub event_template_id: String,
    /// The template's object type, as the template was created with.
    pub object_type: String,
    /// The record, as text; absent while a contact event waits for its utk to be linked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object_id: Option<String>,
    /// As sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// As sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub utk: Option<String>,
    /// As sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// When it happened.
    #[serde(serialize_with = "crate::timestamp::serialize")]
    pub timestamp: DateTime<Utc>,
    /// Token values, as text.
    pub tokens: BTreeMap<String, String>,
    /// As sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub extra_data: Option<Value>,
    /// As sent.
    #[serde(rename = "timelineIFrame", skip_serializing_if = "Option::is_none")]
    pub timeline_iframe: Option<TimelineEventIFrame>,
    /// When Chronik stored it (HubSpot's spec: "Unused").
    #[serde(serialize_with = "crate::timestamp::serialize")]
    pub created_at: DateTime<Utc>,
}

/// `BatchInputTimelineEvent`. The inputs are read one by one, so that a malformed input fails
/// alone (207) instead of the whole request.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct BatchInputTimelineEvent {
    /// At most 500 events.
    #[schema(value_type = Vec<TimelineEvent>)]
    pub inputs: Vec<Value>,
}

/// `BatchResponseTimelineEventResponse`: the 201 answer, every input stored.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BatchResponseTimelineEventResponse {
    /// Always `COMPLETE`.
    pub status: &'static str,
    /// The stored events, in input order.
    pub results: Vec<TimelineEventResponse>,
    /// When the batch started.
    #[serde(serialize_with = "crate::timestamp::serialize")]
    pub started_at: DateTime<Utc>,
    /// When it finished.
    #[serde(serialize_with = "crate::timestamp::serialize")]
    pub completed_at: DateTime<Utc>,
}

/// `BatchResponseTimelineEventResponseWithErrors`: the 207 answer, some inputs (perhaps all)
/// refused.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BatchResponseTimelineEventResponseWithErrors {
    /// Always `COMPLETE`.
    pub status: &'static str,
    /// The stored events, in input order.
    pub results: Vec<TimelineEventResponse>,
    /// How many inputs were refused.
    pub num_errors: usize,
    /// One per refused input, in input order: `context.inputIndex` and `context.id` name it.
    pub errors: Vec<StandardError>,
    /// When the batch started.
    #[serde(serialize_with = "crate::timestamp::serialize")]
    pub started_at: DateTime<Utc>,
    /// When it finished.
    #[serde(serialize_with = "crate::timestamp::serialize")]
    pub completed_at: DateTime<Utc>,
}

/// `EventDetail`: the detail template rendered as HTML.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EventDetail {
    /// The HTML.
    pub details: String,
}

/// `null` read as an empty list (Python's SDK sends `null` for an unset list).
fn null_as_empty<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}
