//! HubSpot's CRM wire shapes (api-reference §5), named as in HubSpot's OpenAPI schemas.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::ErrorDetail;

/// `SimplePublicObjectInputForCreate` / `SimplePublicObjectInput` / batch inputs: one shape
/// that accepts every field any of them has.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SimplePublicObjectInput {
    /// Property values, strings on the wire.
    #[serde(default)]
    pub properties: BTreeMap<String, PropertyValue>,
    /// Associations to create with the record (not supported yet: refused when non-empty).
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    pub associations: Vec<serde_json::Value>,
    /// The record (batch update and batch read inputs).
    #[serde(default)]
    pub id: Option<String>,
    /// Which unique property `id` names (batch update).
    #[serde(default)]
    pub id_property: Option<String>,
    /// Echoed trace id.
    #[serde(default)]
    pub object_write_trace_id: Option<String>,
}

/// A property value as sent: HubSpot's values are strings, but clients also send numbers and
/// booleans, and `null` to clear.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum PropertyValue {
    /// A string.
    Text(String),
    /// A number, taken as its decimal text.
    #[schema(value_type = f64)]
    Number(serde_json::Number),
    /// A boolean, taken as `true`/`false`.
    Bool(bool),
    /// `null`, which clears like `""`.
    #[schema(value_type = Option<String>)]
    Null(()),
}

impl PropertyValue {
    /// The string HubSpot would see.
    pub fn into_text(self) -> String {
        match self {
            PropertyValue::Text(s) => s,
            PropertyValue::Number(n) => n.to_string(),
            PropertyValue::Bool(b) => b.to_string(),
            PropertyValue::Null(()) => String::new(),
        }
    }
}

/// `{"inputs": [...]}` for batch create and update.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BatchInputSimplePublicObjectInput {
    /// The records.
    pub inputs: Vec<SimplePublicObjectInput>,
}

/// `SimplePublicObjectId`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SimplePublicObjectId {
    /// A record id (or the unique value `idProperty` names).
    pub id: String,
}

/// `BatchReadInputSimplePublicObjectId`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BatchReadInputSimplePublicObjectId {
    /// The records.
    pub inputs: Vec<SimplePublicObjectId>,
    /// Properties to return.
    #[serde(default)]
    pub properties: Vec<String>,
    /// Properties to return with their history.
    #[serde(default)]
    pub properties_with_history: Vec<String>,
    /// Which unique property the ids are values of.
    #[serde(default)]
    pub id_property: Option<String>,
}

/// `BatchInputSimplePublicObjectId` (batch archive).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BatchInputSimplePublicObjectId {
    /// The records.
    pub inputs: Vec<SimplePublicObjectId>,
}

/// `ValueWithTimestamp`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ValueWithTimestamp {
    /// The value then.
    pub value: String,
    /// When it was set.
    #[serde(serialize_with = "crate::timestamp::serialize")]
    pub timestamp: DateTime<Utc>,
    /// Always `API`.
    pub source_type: &'static str,
}

/// `SimplePublicObject` (and `...WithAssociations`, whose associations Chronik does not have yet).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SimplePublicObject {
    /// The record id.
    pub id: String,
    /// Values (null when unset).
    pub properties: BTreeMap<String, Option<String>>,
    /// Requested histories.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub properties_with_history: Option<BTreeMap<String, Vec<ValueWithTimestamp>>>,
    /// Creation time.
    #[serde(serialize_with = "crate::timestamp::serialize")]
    pub created_at: DateTime<Utc>,
    /// Last change.
    #[serde(serialize_with = "crate::timestamp::serialize")]
    pub updated_at: DateTime<Utc>,
    /// Whether archived.
    pub archived: bool,
    /// When archived.
    #[serde(
        serialize_with = "crate::timestamp::serialize_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub archived_at: Option<DateTime<Utc>>,
    /// Echoed from the input.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object_write_trace_id: Option<String>,
}

/// `NextPage`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct NextPage {
    /// Cursor for the next page.
    pub after: String,
    /// The next page's URL.
    pub link: String,
}

/// `ForwardPaging`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ForwardPaging {
    /// The next page.
    pub next: NextPage,
}

/// `CollectionResponseSimplePublicObjectWithAssociationsForwardPaging`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ObjectPage {
    /// The records.
    pub results: Vec<SimplePublicObject>,
    /// Absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paging: Option<ForwardPaging>,
}

/// `CollectionResponseWithTotalSimplePublicObjectForwardPaging`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SearchPage {
    /// Matches in all.
    pub total: usize,
    /// This page.
    pub results: Vec<SimplePublicObject>,
    /// Absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paging: Option<ForwardPaging>,
}

/// `StandardError`: one failed item of a batch. HubSpot's CRM spec requires `status`,
/// `category`, `message`, `context`, `errors` and `links`, so all are always sent (`links` as
/// `{}` when there are none).
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StandardError {
    /// Always `"error"`.
    pub status: &'static str,
    /// HubSpot's category.
    pub category: &'static str,
    /// What failed and what to fix.
    pub message: String,
    /// `inputIndex` (and `id`s where known).
    pub context: BTreeMap<String, Vec<String>>,
    /// Per-field problems (`[]` when none).
    pub errors: Vec<ErrorDetail>,
    /// Documentation links by name (`{}`: Chronik has none to offer).
    pub links: BTreeMap<String, String>,
}

/// `BatchResponseSimplePublicObject` / `...WithErrors`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BatchResponse {
    /// Always `COMPLETE`.
    pub status: &'static str,
    /// The records that succeeded, in input order.
    pub results: Vec<SimplePublicObject>,
    /// How many failed (only with errors).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub num_errors: Option<usize>,
    /// The failures (only with errors).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<StandardError>>,
    /// When the batch started.
    #[serde(serialize_with = "crate::timestamp::serialize")]
    pub started_at: DateTime<Utc>,
    /// When it finished.
    #[serde(serialize_with = "crate::timestamp::serialize")]
    pub completed_at: DateTime<Utc>,
}

/// `PublicObjectSearchRequest`.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PublicObjectSearchRequest {
    /// OR-ed groups of AND-ed filters.
    #[serde(default)]
    pub filter_groups: Vec<FilterGroup>,
    /// One sort rule: `"prop"`, `"-prop"` or `{propertyName, direction}`.
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    pub sorts: Vec<SortRule>,
    /// Free text looked for in the type's searchable properties.
    #[serde(default)]
    pub query: Option<String>,
    /// Properties to return.
    #[serde(default)]
    pub properties: Vec<String>,
    /// Page size (default 10, at most 200).
    #[serde(default)]
    pub limit: Option<i64>,
    /// Offset from `paging.next.after`.
    #[serde(default)]
    pub after: Option<String>,
}

/// `FilterGroup`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FilterGroup {
    /// AND-ed filters.
    #[serde(default)]
    pub filters: Vec<Filter>,
}

/// `Filter`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Filter {
    /// The property.
    pub property_name: Option<String>,
    /// `EQ`, `NEQ`, `LT`, `LTE`, `GT`, `GTE`, `BETWEEN`, `IN`, `NOT_IN`, `HAS_PROPERTY`,
    /// `NOT_HAS_PROPERTY`, `CONTAINS_TOKEN`, `NOT_CONTAINS_TOKEN`.
    pub operator: Option<String>,
    /// The value compared with.
    pub value: Option<PropertyValue>,
    /// Values for `IN` / `NOT_IN`.
    pub values: Option<Vec<PropertyValue>>,
    /// Upper bound for `BETWEEN`.
    pub high_value: Option<PropertyValue>,
}

/// A sort rule in either form HubSpot's clients send.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum SortRule {
    /// `"createdate"` or `"-createdate"`.
    Name(String),
    /// `{"propertyName": "createdate", "direction": "DESCENDING"}`.
    #[serde(rename_all = "camelCase")]
    Object {
        /// The property.
        property_name: String,
        /// `ASCENDING` or `DESCENDING`.
        direction: Option<String>,
    },
}

/// `OptionInput` / `Option`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OptionWire {
    /// Display label.
    pub label: Option<String>,
    /// Stored value.
    pub value: Option<String>,
    /// Position.
    #[serde(default)]
    pub display_order: Option<i32>,
    /// Hidden.
    #[serde(default)]
    pub hidden: Option<bool>,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl From<&chronik_domain::crm::property::PropertyOption> for OptionWire {
    fn from(o: &chronik_domain::crm::property::PropertyOption) -> Self {
        OptionWire {
            label: Some(o.label.clone()),
            value: Some(o.value.clone()),
            display_order: Some(o.display_order),
            hidden: Some(o.hidden),
            description: o.description.clone(),
        }
    }
}

/// `PropertyCreate` / `ObjectTypePropertyCreate`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PropertyCreate {
    /// Internal name.
    pub name: Option<String>,
    /// Label.
    pub label: Option<String>,
    /// Data type.
    #[serde(rename = "type")]
    pub property_type: Option<String>,
    /// Form field type.
    pub field_type: Option<String>,
    /// Group.
    pub group_name: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Enumeration options.
    #[serde(default)]
    pub options: Vec<OptionWire>,
    /// Unique values.
    pub has_unique_value: Option<bool>,
    /// Hidden.
    pub hidden: Option<bool>,
    /// Position.
    pub display_order: Option<i32>,
    /// On forms.
    pub form_field: Option<bool>,
    /// Accepted and ignored display hints HubSpot's clients send.
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub other: BTreeMap<String, serde_json::Value>,
}

/// `PropertyUpdate`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PropertyUpdate {
    /// Label.
    pub label: Option<String>,
    /// Data type (must not change).
    #[serde(rename = "type")]
    pub property_type: Option<String>,
    /// Form field type.
    pub field_type: Option<String>,
    /// Group.
    pub group_name: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Replaces all options.
    pub options: Option<Vec<OptionWire>>,
    /// Hidden.
    pub hidden: Option<bool>,
    /// Position.
    pub display_order: Option<i32>,
    /// On forms.
    pub form_field: Option<bool>,
    /// Not supported (calculated properties).
    pub calculation_formula: Option<String>,
}

/// `PropertyModificationMetadata`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ModificationMetadata {
    /// Can be archived.
    pub archivable: bool,
    /// Definition is read-only.
    pub read_only_definition: bool,
    /// Value is read-only.
    pub read_only_value: bool,
}

/// `Property`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Property {
    /// Internal name.
    pub name: String,
    /// Label.
    pub label: String,
    /// Data type.
    #[serde(rename = "type")]
    pub property_type: &'static str,
    /// Form field type.
    pub field_type: String,
    /// Description.
    pub description: String,
    /// Group.
    pub group_name: String,
    /// Options.
    pub options: Vec<OptionWire>,
    /// Position.
    pub display_order: i32,
    /// Always false.
    pub calculated: bool,
    /// Always false.
    pub external_options: bool,
    /// Unique values.
    pub has_unique_value: bool,
    /// Hidden.
    pub hidden: bool,
    /// Defined by HubSpot.
    pub hubspot_defined: bool,
    /// What may change.
    pub modification_metadata: ModificationMetadata,
    /// On forms.
    pub form_field: bool,
    /// Creation time (custom properties).
    #[serde(
        serialize_with = "crate::timestamp::serialize_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub created_at: Option<DateTime<Utc>>,
    /// Last change (custom properties).
    #[serde(
        serialize_with = "crate::timestamp::serialize_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub updated_at: Option<DateTime<Utc>>,
    /// Whether archived.
    pub archived: bool,
    /// When archived.
    #[serde(
        serialize_with = "crate::timestamp::serialize_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub archived_at: Option<DateTime<Utc>>,
}

/// `CollectionResponseProperty`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PropertyCollection {
    /// The properties.
    pub results: Vec<Property>,
}

/// `ObjectTypeDefinitionLabels`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LabelsWire {
    /// Singular.
    pub singular: Option<String>,
    /// Plural.
    pub plural: Option<String>,
}

/// `ObjectSchemaEgg`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ObjectSchemaEgg {
    /// Short name.
    pub name: Option<String>,
    /// Labels.
    pub labels: Option<LabelsWire>,
    /// Description.
    pub description: Option<String>,
    /// Title property.
    pub primary_display_property: Option<String>,
    /// Subtitle properties.
    #[serde(default)]
    pub secondary_display_properties: Vec<String>,
    /// Required on create.
    #[serde(default)]
    pub required_properties: Vec<String>,
    /// Searched by `query`.
    #[serde(default)]
    pub searchable_properties: Vec<String>,
    /// The type's properties.
    #[serde(default)]
    pub properties: Vec<PropertyCreate>,
    /// Associated object types.
    #[serde(default)]
    pub associated_objects: Vec<String>,
}

/// `ObjectTypeDefinitionPatch`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ObjectTypeDefinitionPatch {
    /// Labels.
    pub labels: Option<LabelsWire>,
    /// Description.
    pub description: Option<String>,
    /// Clears the description.
    pub clear_description: Option<bool>,
    /// Title property.
    pub primary_display_property: Option<String>,
    /// Subtitle properties.
    pub secondary_display_properties: Option<Vec<String>>,
    /// Required on create.
    pub required_properties: Option<Vec<String>>,
    /// Searched by `query`.
    pub searchable_properties: Option<Vec<String>>,
    /// Accepted for compatibility; schemas are restored by creating them again.
    pub restorable: Option<bool>,
}

/// `AssociationDefinitionEgg`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AssociationDefinitionEgg {
    /// Must be the schema's own type id.
    pub from_object_type_id: Option<String>,
    /// The other type.
    pub to_object_type_id: Option<String>,
    /// Optional name.
    pub name: Option<String>,
}

/// `AssociationDefinition`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AssociationDefinition {
    /// Its id.
    pub id: String,
    /// From type.
    pub from_object_type_id: String,
    /// To type.
    pub to_object_type_id: String,
    /// Name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Creation time.
    #[serde(serialize_with = "crate::timestamp::serialize")]
    pub created_at: DateTime<Utc>,
    /// Last change.
    #[serde(serialize_with = "crate::timestamp::serialize")]
    pub updated_at: DateTime<Utc>,
}

/// `ObjectSchema`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ObjectSchema {
    /// Schema id.
    pub id: String,
    /// `2-<n>`.
    pub object_type_id: String,
    /// `p{portalId}_{name}`.
    pub fully_qualified_name: String,
    /// Short name.
    pub name: String,
    /// Labels.
    pub labels: LabelsWire,
    /// Description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Title property.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub primary_display_property: Option<String>,
    /// Subtitle properties.
    pub secondary_display_properties: Vec<String>,
    /// Required on create.
    pub required_properties: Vec<String>,
    /// Searched by `query`.
    pub searchable_properties: Vec<String>,
    /// The type's properties (system ones included).
    pub properties: Vec<Property>,
    /// Association definitions.
    pub associations: Vec<AssociationDefinition>,
    /// `PORTAL_SPECIFIC`.
    pub meta_type: &'static str,
    /// Whether archived.
    pub archived: bool,
    /// Creation time.
    #[serde(serialize_with = "crate::timestamp::serialize")]
    pub created_at: DateTime<Utc>,
    /// Last change.
    #[serde(serialize_with = "crate::timestamp::serialize")]
    pub updated_at: DateTime<Utc>,
}

/// `CollectionResponseObjectSchemaNoPaging`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SchemaCollection {
    /// The schemas.
    pub results: Vec<ObjectSchema>,
}
