//! [`CrmStore`]: CRM records, their unique values, custom property definitions and custom
//! object schemas. Values arrive already checked and in stored form (`chronik_domain::crm`);
//! the store keeps them, enforces uniqueness in the database, and keeps each property's
//! history for `propertiesWithHistory`.

use std::collections::BTreeMap;

use chronik_domain::crm::object::UniqueValue;
use chronik_domain::crm::object_type::ObjectTypeId;
use chronik_domain::crm::property::PropertyDefinition;
use chronik_domain::crm::schema::SchemaDefinition;
use chronik_domain::{AccountId, ObjectId};
use chrono::{DateTime, Utc};

use crate::StoreError;

/// One past value of a property.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryEntry {
    /// The value then (`""` when it was cleared).
    pub value: String,
    /// When it was set.
    pub timestamp: DateTime<Utc>,
}

/// A stored record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredObject {
    /// `id` / `hs_object_id`.
    pub id: ObjectId,
    /// The objectTypeId (`0-1`, `2-17`).
    pub type_id: ObjectTypeId,
    /// The values set by callers (system properties are added by the caller when shown).
    pub properties: BTreeMap<String, String>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// Set when archived.
    pub archived_at: Option<DateTime<Utc>>,
}

/// A record to create.
#[derive(Debug, Clone, Default)]
pub struct NewObject {
    /// Stored-form values.
    pub properties: BTreeMap<String, String>,
    /// Unique values the record claims (e.g. its folded email).
    pub unique: Vec<UniqueValue>,
}

/// A change to one record.
#[derive(Debug, Clone)]
pub struct ObjectUpdate {
    /// The record.
    pub id: ObjectId,
    /// Values to set (stored form).
    pub set: BTreeMap<String, String>,
    /// Properties to clear.
    pub clear: Vec<String>,
    /// Unique values the record claims from now on; each replaces the record's claim for the
    /// same property.
    pub unique: Vec<UniqueValue>,
    /// Unique properties cleared by this change: their claims are released.
    pub released: Vec<String>,
}

/// A custom property definition as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredProperty {
    /// The definition.
    pub definition: PropertyDefinition,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// Set when archived.
    pub archived_at: Option<DateTime<Utc>>,
}

/// An association definition of a custom object schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAssociation {
    /// Its id.
    pub id: String,
    /// From this type id.
    pub from_type_id: ObjectTypeId,
    /// To this type id.
    pub to_type_id: ObjectTypeId,
    /// Optional name.
    pub name: Option<String>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// A custom object schema as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSchema {
    /// The objectTypeId, `2-<n>` (`4-<n>` for an app object's schema as records see it).
    pub type_id: ObjectTypeId,
    /// The schema's id (the `<n>` of the type id, [`ObjectTypeId::number`]).
    pub id: String,
    /// The definition.
    pub definition: SchemaDefinition,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// Set when archived.
    pub archived_at: Option<DateTime<Utc>>,
    /// Its association definitions, oldest first.
    pub associations: Vec<StoredAssociation>,
}

/// How a schema is named in a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SchemaKey {
    /// By objectTypeId (`2-17`).
    TypeId(ObjectTypeId),
    /// By short name (`cars`, lower-case).
    Name(String),
}

/// CRM records, custom properties and custom object schemas. Every method is scoped to one
/// account.
#[async_trait::async_trait]
pub trait CrmStore: Send + Sync {
    /// Creates records of `type_id`. Each input commits or fails on its own: one whose unique
    /// value is taken fails with `Conflict { existing_id }` naming the holder, and nothing of it
    /// is stored; the others are stored. Inputs are judged as if stored one after another, in
    /// order. The outer error is for failures of the whole call. `NotFound` (outer) when the
    /// account does not exist, or `type_id` is a custom type (`2-…`) without a live schema.
    async fn create_objects(
        &self,
        account: AccountId,
        type_id: ObjectTypeId,
        inputs: Vec<NewObject>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Result<StoredObject, StoreError>>, StoreError>;

    /// Updates records; each commits or fails on its own (`NotFound` for an unknown or
    /// archived record, `Conflict { existing_id }` for a taken unique value), in order, so a
    /// record named twice sees its first change. Changed values are added to the history, newest
    /// first (a value set to what it already was, or a clear of an unset property, adds no
    /// entry); `updated_at` becomes `now` either way.
    async fn update_objects(
        &self,
        account: AccountId,
        type_id: ObjectTypeId,
        updates: Vec<ObjectUpdate>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Result<StoredObject, StoreError>>, StoreError>;

    /// Archives records and releases their unique values; each fails alone with `NotFound`
    /// when unknown or already archived.
    async fn archive_objects(
        &self,
        account: AccountId,
        type_id: ObjectTypeId,
        ids: Vec<ObjectId>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Result<(), StoreError>>, StoreError>;

    /// The records with these ids (archived ones only when `archived`, else only live ones),
    /// in the order of `ids`, missing ones left out (an id given twice is returned twice).
    async fn get_objects(
        &self,
        account: AccountId,
        type_id: ObjectTypeId,
        ids: &[ObjectId],
        archived: bool,
    ) -> Result<Vec<StoredObject>, StoreError>;

    /// The live records holding these unique values, in the order of `values`, missing ones
    /// left out.
    async fn find_by_unique(
        &self,
        account: AccountId,
        type_id: ObjectTypeId,
        values: &[UniqueValue],
    ) -> Result<Vec<StoredObject>, StoreError>;

    /// A page of records by ascending id, starting after `after`: live ones, or only archived
    /// ones when `archived`.
    async fn list_objects(
        &self,
        account: AccountId,
        type_id: ObjectTypeId,
        after: Option<ObjectId>,
        limit: usize,
        archived: bool,
    ) -> Result<Vec<StoredObject>, StoreError>;

    /// The history of each property of a record, newest first (a record never updated has
    /// one entry per property, at its creation). Archived records have theirs too. `NotFound`
    /// for an unknown record.
    async fn object_history(
        &self,
        account: AccountId,
        type_id: ObjectTypeId,
        id: ObjectId,
    ) -> Result<BTreeMap<String, Vec<HistoryEntry>>, StoreError>;

    /// Adds a custom property to a type; `Conflict` when the name exists (archived included).
    async fn create_property(
        &self,
        account: AccountId,
        type_id: ObjectTypeId,
        definition: &PropertyDefinition,
        now: DateTime<Utc>,
    ) -> Result<StoredProperty, StoreError>;

    /// The type's custom properties (only archived ones when `archived`), by name.
    async fn list_properties(
        &self,
        account: AccountId,
        type_id: ObjectTypeId,
        archived: bool,
    ) -> Result<Vec<StoredProperty>, StoreError>;

    /// Replaces a live custom property's definition (same name); `NotFound` when none.
    async fn update_property(
        &self,
        account: AccountId,
        type_id: ObjectTypeId,
        definition: &PropertyDefinition,
        now: DateTime<Utc>,
    ) -> Result<StoredProperty, StoreError>;

    /// Archives a live custom property; `NotFound` when none.
    async fn archive_property(
        &self,
        account: AccountId,
        type_id: ObjectTypeId,
        name: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Creates a custom object schema with a fresh `2-<n>` type id, its properties and one
    /// association definition per `definition.associated_objects` entry, all in one
    /// transaction; `Conflict` (naming the holder's type id) when the account has a schema of
    /// that name (archived included).
    async fn create_schema(
        &self,
        account: AccountId,
        definition: &SchemaDefinition,
        properties: &[PropertyDefinition],
        now: DateTime<Utc>,
    ) -> Result<StoredSchema, StoreError>;

    /// The account's schemas (only archived ones when `archived`), oldest first.
    async fn list_schemas(
        &self,
        account: AccountId,
        archived: bool,
    ) -> Result<Vec<StoredSchema>, StoreError>;

    /// One live schema; `NotFound` when none.
    async fn get_schema(
        &self,
        account: AccountId,
        key: &SchemaKey,
    ) -> Result<StoredSchema, StoreError>;

    /// Replaces a live schema's definition (its name stays, whatever `definition.name` says;
    /// associations are untouched); `NotFound` when none.
    async fn update_schema(
        &self,
        account: AccountId,
        type_id: ObjectTypeId,
        definition: &SchemaDefinition,
        now: DateTime<Utc>,
    ) -> Result<StoredSchema, StoreError>;

    /// Archives a live schema; `Conflict` while live records of the type exist (HubSpot asks
    /// for them to be deleted first); `NotFound` when none.
    async fn archive_schema(
        &self,
        account: AccountId,
        type_id: ObjectTypeId,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Adds an association definition from a live schema to `to_type_id`; `NotFound` when the
    /// schema does not exist.
    async fn create_schema_association(
        &self,
        account: AccountId,
        type_id: ObjectTypeId,
        to_type_id: ObjectTypeId,
        name: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<StoredAssociation, StoreError>;
}
