//! What a create or an update may set: the properties of one input checked against the type's
//! definitions, every problem reported, and the values that identify a record (unique
//! properties such as a contact's email) folded for comparison.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::property::{format_datetime, PropertyDefinition};
use crate::error::ValidationError;
use crate::tenancy::Email;

/// HubSpot: the CRM batch endpoints take at most 100 inputs per request.
pub const MAX_BATCH_INPUTS: usize = 100;

/// HubSpot: a page of `GET /crm/v3/objects/{type}` has at most 100 records (default 10).
pub const MAX_PAGE_LIMIT: usize = 100;

/// HubSpot's default page size for listing records.
pub const DEFAULT_PAGE_LIMIT: usize = 10;

/// Every property definition of one object type (default and custom), by name.
#[derive(Debug, Clone, Default)]
pub struct PropertySet {
    defs: BTreeMap<String, PropertyDefinition>,
    last_modified: String,
    created: String,
}

/// A checked create or update: values to set and properties to clear.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PropertyChanges {
    /// Stored form of each value set.
    pub set: BTreeMap<String, String>,
    /// Properties cleared with an empty string.
    pub clear: Vec<String>,
}

/// A value that must be unique among the records of a type (case-insensitive).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct UniqueValue {
    /// The unique property.
    pub property: String,
    /// The value, lower-cased.
    pub value: String,
}

impl UniqueValue {
    /// The folded form of `value` of `property`.
    pub fn new(property: &str, value: &str) -> Self {
        UniqueValue {
            property: property.to_owned(),
            value: value.trim().to_lowercase(),
        }
    }
}

impl PropertySet {
    /// The set of `defs`; `created` and `last_modified` name the type's system date properties.
    pub fn new(defs: Vec<PropertyDefinition>, created: &str, last_modified: &str) -> Self {
        PropertySet {
            defs: defs.into_iter().map(|d| (d.name.clone(), d)).collect(),
            created: created.to_owned(),
            last_modified: last_modified.to_owned(),
        }
    }

    /// The definition of `name`.
    pub fn get(&self, name: &str) -> Option<&PropertyDefinition> {
        self.defs.get(name)
    }

    /// Every definition, by name.
    pub fn iter(&self) -> impl Iterator<Item = &PropertyDefinition> {
        self.defs.values()
    }

    /// Names of the properties whose values identify a record.
    pub fn unique_properties(&self) -> impl Iterator<Item = &str> {
        self.defs
            .values()
            .filter(|d| d.has_unique_value)
            .map(|d| d.name.as_str())
    }

    /// Whether `name` is a unique property.
    pub fn is_unique(&self, name: &str) -> bool {
        self.defs.get(name).is_some_and(|d| d.has_unique_value)
    }

    /// Checks the `properties` of one input (`field` is its JSON path, e.g. `properties` or
    /// `inputs[3].properties`). Unknown and read-only properties and bad values are all
    /// reported.
    pub fn check_input(
        &self,
        field: &str,
        input: &BTreeMap<String, String>,
    ) -> Result<PropertyChanges, Vec<ValidationError>> {
        let mut problems = Vec::new();
        let mut changes = PropertyChanges::default();
        for (name, raw) in input {
            let path = format!("{field}.{name}");
            let Some(def) = self.defs.get(name) else {
                problems.push(ValidationError::new(
                    &path,
                    "PROPERTY_DOESNT_EXIST",
                    format!("Property \"{name}\" does not exist on this object type; create it first at /crm/v3/properties"),
                ));
                continue;
            };
            if def.read_only_value {
                problems.push(ValidationError::new(
                    &path,
                    "READ_ONLY_VALUE",
                    format!("Property \"{name}\" is set by HubSpot and cannot be written"),
                ));
                continue;
            }
            if def.hubspot_defined && name == "email" && !raw.is_empty() {
                if let Err(e) = Email::parse(&path, raw) {
                    problems.push(ValidationError::new(&path, "INVALID_EMAIL", e.message));
                    continue;
                }
            }
            match def.check_value(&path, raw) {
                Ok(Some(value)) => {
                    changes.set.insert(name.clone(), value);
                }
                Ok(None) => changes.clear.push(name.clone()),
                Err(e) => problems.push(e),
            }
        }
        if problems.is_empty() {
            Ok(changes)
        } else {
            Err(problems)
        }
    }

    /// The unique values a change claims (each set unique property, folded).
    pub fn unique_claims(&self, changes: &PropertyChanges) -> Vec<UniqueValue> {
        changes
            .set
            .iter()
            .filter(|(name, _)| self.is_unique(name))
            .map(|(name, value)| UniqueValue::new(name, value))
            .collect()
    }

    /// A record's properties as callers see them: the stored ones plus the system properties
    /// (`hs_object_id`, the create and last-modified dates).
    pub fn with_system_values(
        &self,
        id: i64,
        created_at: DateTime<Utc>,
        updated_at: DateTime<Utc>,
        stored: &BTreeMap<String, String>,
    ) -> BTreeMap<String, String> {
        let mut all = stored.clone();
        all.insert("hs_object_id".to_owned(), id.to_string());
        all.insert(self.created.clone(), format_datetime(created_at));
        all.insert(self.last_modified.clone(), format_datetime(updated_at));
        all
    }

    /// The properties a response shows: the `requested` ones (null when unset, unknown names
    /// left out), or the type's default ones when none are requested. The system properties
    /// (`hs_object_id` and the create and last-modified dates) are always shown, as HubSpot
    /// does.
    pub fn select(
        &self,
        all: &BTreeMap<String, String>,
        requested: &[String],
    ) -> BTreeMap<String, Option<String>> {
        if requested.is_empty() {
            self.defs
                .values()
                .filter(|d| d.returned_by_default)
                .map(|d| (d.name.clone(), all.get(&d.name).cloned()))
                .collect()
        } else {
            let system = [
                "hs_object_id",
                self.created.as_str(),
                self.last_modified.as_str(),
            ];
            system
                .into_iter()
                .chain(requested.iter().map(String::as_str))
                .filter(|name| self.defs.contains_key(*name))
                .map(|name| (name.to_owned(), all.get(name).cloned()))
                .collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crm::object_type::StandardType;
    use crate::crm::property::standard_properties;

    fn contacts() -> PropertySet {
        PropertySet::new(
            standard_properties(StandardType::Contacts),
            "createdate",
            "lastmodifieddate",
        )
    }

    fn input(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn every_bad_property_is_named() {
        let errors = contacts()
            .check_input(
                "inputs[2].properties",
                &input(&[
                    ("nope", "x"),
                    ("hs_object_id", "5"),
                    ("lifecyclestage", "king"),
                    ("email", "not-an-email"),
                ]),
            )
            .unwrap_err();
        let mut found: Vec<(&str, &str)> =
            errors.iter().map(|e| (e.field.as_str(), e.code)).collect();
        found.sort();
        assert_eq!(
            found,
            vec![
                ("inputs[2].properties.email", "INVALID_EMAIL"),
                ("inputs[2].properties.hs_object_id", "READ_ONLY_VALUE"),
                ("inputs[2].properties.lifecyclestage", "INVALID_OPTION"),
                ("inputs[2].properties.nope", "PROPERTY_DOESNT_EXIST"),
            ]
        );
    }

    #[test]
    fn unique_claims_fold_case() {
        let set = contacts();
        let changes = set
            .check_input(
                "properties",
                &input(&[("email", "Ada@Example.COM"), ("firstname", "Ada")]),
            )
            .unwrap();
        assert_eq!(
            set.unique_claims(&changes),
            vec![UniqueValue::new("email", "ada@example.com")]
        );
        assert_eq!(changes.set["email"], "Ada@Example.COM", "stored as written");
    }

    #[test]
    fn empty_values_clear() {
        let changes = contacts()
            .check_input("properties", &input(&[("firstname", "")]))
            .unwrap();
        assert_eq!(changes.clear, vec!["firstname".to_owned()]);
        assert!(changes.set.is_empty());
    }

    #[test]
    fn default_selection_shows_default_properties_as_null_when_unset() {
        let set = contacts();
        let all = set.with_system_values(
            7,
            Utc::now(),
            Utc::now(),
            &input(&[("email", "a@b.c"), ("phone", "1")]),
        );
        let shown = set.select(&all, &[]);
        assert_eq!(shown["email"].as_deref(), Some("a@b.c"));
        assert_eq!(shown["hs_object_id"].as_deref(), Some("7"));
        assert_eq!(shown["firstname"], None);
        assert!(
            !shown.contains_key("phone"),
            "phone is not a default property"
        );
        let picked = set.select(&all, &["phone".into(), "unknown".into(), "city".into()]);
        let names: Vec<&str> = picked.keys().map(String::as_str).collect();
        assert_eq!(
            names,
            [
                "city",
                "createdate",
                "hs_object_id",
                "lastmodifieddate",
                "phone"
            ],
            "the requested ones plus the system properties"
        );
        assert_eq!(picked["phone"].as_deref(), Some("1"));
        assert_eq!(picked["city"], None);
        assert_eq!(picked["hs_object_id"].as_deref(), Some("7"));
    }
}
