//! HubSpot's wire shapes for `/events/v3/…` (api-reference §1), named as in HubSpot's OpenAPI
//! schemas: the event definitions (§1.5), the completions sent (§1.2) and read back (§1.3).
//! Properties go out as the CRM's `Property` (HubSpot uses one schema for both).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::api::crm::wire::{ForwardPaging, OptionWire, Property};

/// `ExternalBehavioralEventPropertyCreate`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExternalBehavioralEventPropertyCreate {
    /// Label (at most 50 characters).
    pub label: Option<String>,
    /// `string`, `number`, `enumeration`, `bool`, `date` or `datetime`.
    #[serde(rename = "type")]
    pub property_type: Option<String>,
    /// Internal name; derived from the label when absent.
    pub name: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Options of an enumeration (at least one).
    #[serde(default)]
    pub options: Vec<OptionWire>,
}

/// `ExternalPrimaryObjectResolutionRule` as sent: both fields are required, and checked by
/// the handler so that a missing one is reported with the others.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExternalPrimaryObjectResolutionRuleRequest {
    /// A property of the primary object whose values are unique (`email`, `hs_object_id`…).
    pub target_object_property_name: Option<String>,
    /// The event property that holds the value.
    pub event_property_name: Option<String>,
}

/// `ExternalObjectResolutionMappingRequest`: `customMatchingId` as sent.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExternalObjectResolutionMappingRequest {
    /// The rule (required).
    pub primary_object_rule: Option<ExternalPrimaryObjectResolutionRuleRequest>,
}

/// `ExternalBehavioralEventTypeDefinitionEgg`: the create body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExternalBehavioralEventTypeDefinitionEgg {
    /// Label (required, at most 100 characters).
    pub label: Option<String>,
    /// Internal name; derived from the label when absent. Never changes.
    pub name: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// `CONTACT` (default), `COMPANY`, `DEAL`, `TICKET` or a custom object. Never changes.
    pub primary_object: Option<String>,
    /// Custom properties (at most 50; may be empty).
    #[serde(default)]
    pub property_definitions: Vec<ExternalBehavioralEventPropertyCreate>,
    /// Whether HubSpot's `hs_*` default properties belong to the event (default `true`).
    pub include_default_properties: Option<bool>,
    /// How completions find their record by an event property.
    pub custom_matching_id: Option<ExternalObjectResolutionMappingRequest>,
}

/// `ExternalBehavioralEventTypeDefinitionPatch`. Only `label` and `description` change;
/// `name` and `primaryObject` are accepted to refuse a change with a clear message. HubSpot's
/// newer spec adds `headerTemplate`, `detailTemplate` and `propertyOrder`; they are accepted
/// so that newer clients are not refused, and not kept (Chronik renders no event templates).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExternalBehavioralEventTypeDefinitionPatch {
    /// New label.
    pub label: Option<String>,
    /// New description.
    pub description: Option<String>,
    /// Must be absent or the current name.
    pub name: Option<String>,
    /// Must be absent or the current primary object.
    pub primary_object: Option<String>,
    /// Accepted, not kept.
    #[expect(
        dead_code,
        reason = "accepted so that newer clients are not refused; not kept"
    )]
    pub header_template: Option<String>,
    /// Accepted, not kept.
    #[expect(
        dead_code,
        reason = "accepted so that newer clients are not refused; not kept"
    )]
    pub detail_template: Option<String>,
    /// Accepted, not kept.
    #[schema(value_type = Option<Vec<Object>>)]
    #[expect(
        dead_code,
        reason = "accepted so that newer clients are not refused; not kept"
    )]
    pub property_order: Option<serde_json::Value>,
}

/// `ExternalBehavioralEventPropertyDefinitionPatch`. Only `label`, `description` and
/// `options` change; `type` is accepted to refuse a change.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExternalBehavioralEventPropertyDefinitionPatch {
    /// New label (at most 50 characters).
    pub label: Option<String>,
    /// New description.
    pub description: Option<String>,
    /// Replaces every option (enumerations).
    pub options: Option<Vec<OptionWire>>,
    /// Must be absent or the current type.
    #[serde(rename = "type")]
    pub property_type: Option<String>,
}

/// `ObjectTypeDefinitionLabels` of an event definition.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ObjectTypeDefinitionLabels {
    /// The label.
    pub singular: String,
    /// Not kept by Chronik; always absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plural: Option<String>,
}

/// `ExternalPrimaryObjectResolutionRule`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExternalPrimaryObjectResolutionRule {
    /// The primary object's unique property.
    pub target_object_property_name: String,
    /// The event property that holds its value.
    pub event_property_name: String,
}

/// `ExternalObjectResolutionMapping`: `customMatchingId` as returned.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExternalObjectResolutionMapping {
    /// The rule.
    pub primary_object_rule: ExternalPrimaryObjectResolutionRule,
}

/// `ExternalBehavioralEventTypeDefinition`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExternalBehavioralEventTypeDefinition {
    /// Id.
    pub id: String,
    /// Internal name (`{eventName}` in paths).
    pub name: String,
    /// `pe{portalId}_{name}`, what completions are sent with.
    pub fully_qualified_name: String,
    /// Labels.
    pub labels: ObjectTypeDefinitionLabels,
    /// The event's own type id, `6-{id}`.
    pub object_type_id: String,
    /// Always false: deleted definitions are not served.
    pub archived: bool,
    /// Always empty.
    #[schema(value_type = Vec<Object>)]
    pub associations: Vec<serde_json::Value>,
    /// The properties (in lists only with `includeProperties=true`).
    pub properties: Vec<Property>,
    /// Description.
    pub description: String,
    /// `CONTACT`, `COMPANY`, `DEAL`, `TICKET` or the custom object's name.
    pub primary_object: String,
    /// The primary object's objectTypeId (`0-1`, `2-17`…).
    pub primary_object_id: String,
    /// Always `MANUAL` (created through the API).
    pub tracking_type: &'static str,
    /// Set when completions find their record by an event property.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_matching_id: Option<ExternalObjectResolutionMapping>,
    /// Creation time.
    #[serde(serialize_with = "crate::timestamp::serialize")]
    pub created_at: DateTime<Utc>,
    /// Last change.
    #[serde(serialize_with = "crate::timestamp::serialize")]
    pub updated_at: DateTime<Utc>,
}

/// `CollectionResponseWithTotalExternalBehavioralEventTypeDefinitionForwardPaging`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CollectionResponseWithTotalExternalBehavioralEventTypeDefinitionForwardPaging {
    /// Matching definitions in all pages.
    pub total: usize,
    /// This page.
    pub results: Vec<ExternalBehavioralEventTypeDefinition>,
    /// Absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paging: Option<ForwardPaging>,
}

/// A JSON scalar where HubSpot takes a string: numbers and booleans are taken as their text.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum Scalar {
    /// A string.
    Text(String),
    /// A number, taken as its decimal text.
    Number(serde_json::Number),
    /// A boolean, taken as `true` / `false`.
    Bool(bool),
}

impl Scalar {
    pub fn text(&self) -> std::borrow::Cow<'_, str> {
        match self {
            Scalar::Text(s) => s.as_str().into(),
            Scalar::Number(n) => n.to_string().into(),
            Scalar::Bool(b) => b.to_string().into(),
        }
    }
}

/// `BehavioralEventHttpCompletionRequest`: one completion, as `POST /events/v3/send` takes it.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BehavioralEventHttpCompletionRequest {
    /// The definition's `fullyQualifiedName` (`pe{portalId}_{name}`).
    pub event_name: Option<String>,
    /// The record's id.
    #[schema(value_type = Option<String>)]
    pub object_id: Option<Scalar>,
    /// A contact's email (found, or created).
    pub email: Option<String>,
    /// A contact's visitor token (found, never created).
    pub utk: Option<String>,
    /// ISO 8601 or epoch milliseconds; default: time of receipt.
    #[schema(value_type = Option<String>)]
    pub occurred_at: Option<Scalar>,
    /// Event property values.
    #[schema(value_type = Option<BTreeMap<String, String>>)]
    pub properties: Option<BTreeMap<String, Option<Scalar>>>,
    /// The occurrence id, unique per event type; generated when absent.
    pub uuid: Option<String>,
}

/// `BatchedBehavioralEventHttpCompletionRequest`: `POST /events/v3/send/batch`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchedBehavioralEventHttpCompletionRequest {
    /// The completions, at most 500.
    pub inputs: Option<Vec<BehavioralEventHttpCompletionRequest>>,
}

/// `ExternalUnifiedEvent`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExternalUnifiedEvent {
    /// The record's type, upper-case singular (`CONTACT`), or a custom object's type id.
    pub object_type: String,
    /// The record's id.
    pub object_id: String,
    /// The event type (`pe{portalId}_{name}`).
    pub event_type: String,
    /// When it happened.
    pub occurred_at: String,
    /// The occurrence id (the `uuid` it was sent with, or the generated one).
    pub id: String,
    /// Its property values.
    pub properties: BTreeMap<String, String>,
}

/// `paging.next`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct NextPage {
    pub after: String,
    pub link: String,
}

/// `paging.prev`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PreviousPage {
    pub before: String,
    pub link: String,
}

/// `paging`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Paging {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<NextPage>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prev: Option<PreviousPage>,
}

/// `CollectionResponseExternalUnifiedEvent`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CollectionResponseExternalUnifiedEvent {
    pub results: Vec<ExternalUnifiedEvent>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paging: Option<Paging>,
}

/// `VisibleExternalEventTypeNames`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct VisibleExternalEventTypeNames {
    pub event_types: Vec<String>,
}
