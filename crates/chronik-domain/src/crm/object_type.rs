//! Object types. HubSpot names each type by an `objectTypeId` (`0-1` contacts, `0-2` companies,
//! `0-3` deals, `0-5` tickets, `2-<n>` custom objects, and in Chronik `4-<n>` app objects) and,
//! in URLs, also by name: `contacts` (or `contact`), for custom objects the fully qualified
//! name `p{portalId}_{name}`, for app objects `a{appId}_{name}`.

use std::fmt;

use super::app_object;
use crate::AppId;

/// The four standard object types Chronik keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StandardType {
    /// `0-1`
    Contacts,
    /// `0-2`
    Companies,
    /// `0-3`
    Deals,
    /// `0-5`
    Tickets,
}

impl StandardType {
    /// Every standard type.
    pub const ALL: [StandardType; 4] = [
        StandardType::Contacts,
        StandardType::Companies,
        StandardType::Deals,
        StandardType::Tickets,
    ];

    /// HubSpot's objectTypeId.
    pub fn type_id(self) -> &'static str {
        match self {
            StandardType::Contacts => "0-1",
            StandardType::Companies => "0-2",
            StandardType::Deals => "0-3",
            StandardType::Tickets => "0-5",
        }
    }

    /// The plural name used in URLs and scopes (`crm.objects.contacts.read`).
    pub fn plural(self) -> &'static str {
        match self {
            StandardType::Contacts => "contacts",
            StandardType::Companies => "companies",
            StandardType::Deals => "deals",
            StandardType::Tickets => "tickets",
        }
    }

    /// The singular name (`contact`), also accepted in URLs.
    pub fn singular(self) -> &'static str {
        match self {
            StandardType::Contacts => "contact",
            StandardType::Companies => "company",
            StandardType::Deals => "deal",
            StandardType::Tickets => "ticket",
        }
    }

    /// Parses a path segment: plural or singular name (any case) or type id.
    pub fn parse(segment: &str) -> Option<StandardType> {
        let lower = segment.to_ascii_lowercase();
        StandardType::ALL
            .into_iter()
            .find(|t| lower == t.plural() || lower == t.singular() || lower == t.type_id())
    }

    /// The type with this objectTypeId.
    pub fn from_type_id(type_id: &str) -> Option<StandardType> {
        StandardType::ALL
            .into_iter()
            .find(|t| t.type_id() == type_id)
    }

    /// The property that stamps the last modification (`lastmodifieddate` on contacts,
    /// `hs_lastmodifieddate` elsewhere, as in HubSpot).
    pub fn last_modified_property(self) -> &'static str {
        match self {
            StandardType::Contacts => "lastmodifieddate",
            _ => "hs_lastmodifieddate",
        }
    }
}

impl fmt::Display for StandardType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.plural())
    }
}

/// The prefix of custom-object type ids.
pub const CUSTOM_TYPE_ID_PREFIX: &str = "2-";

/// What a `{objectType}` path segment names, before the store is asked about custom types.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ObjectTypeRef {
    /// One of the four standard types.
    Standard(StandardType),
    /// A custom object by objectTypeId (`2-17`).
    CustomTypeId(String),
    /// A custom object by name: fully qualified (`p123_cars`) or short (`cars`); the name is
    /// stored without the prefix.
    CustomName(String),
    /// An app object by objectTypeId (`4-17`): the `<n>`.
    AppTypeId(i64),
    /// An app object by fully qualified name (`a1000001_CAR`): its app and upper-case name.
    /// A custom object's short name can have the same shape, so this is tried first and the
    /// custom name (`custom`, lower-case) second.
    AppName {
        /// The app.
        app: AppId,
        /// The upper-case name.
        name: String,
        /// The segment as a custom object's short name.
        custom: String,
    },
}

impl ObjectTypeRef {
    /// Parses a path segment for `account` (whose portal id makes up fully qualified names).
    pub fn parse(segment: &str, portal_id: i64) -> ObjectTypeRef {
        if let Some(standard) = StandardType::parse(segment) {
            return ObjectTypeRef::Standard(standard);
        }
        if let Some(n) = segment.strip_prefix(CUSTOM_TYPE_ID_PREFIX) {
            if !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()) {
                return ObjectTypeRef::CustomTypeId(segment.to_owned());
            }
        }
        if let Some(n) = app_object::parse_type_id(segment) {
            return ObjectTypeRef::AppTypeId(n);
        }
        let prefix = format!("p{portal_id}_");
        let name = segment.strip_prefix(&prefix).unwrap_or(segment);
        if let Some((app, upper)) = app_object::parse_fully_qualified_name(segment) {
            return ObjectTypeRef::AppName {
                app,
                name: upper,
                custom: name.to_ascii_lowercase(),
            };
        }
        ObjectTypeRef::CustomName(name.to_ascii_lowercase())
    }
}

/// The fully qualified name of a custom object type: `p{portalId}_{name}`.
pub fn fully_qualified_name(portal_id: i64, name: &str) -> String {
    format!("p{portal_id}_{name}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_types_parse_by_plural_singular_and_type_id() {
        for (segment, t) in [
            ("contacts", StandardType::Contacts),
            ("CONTACT", StandardType::Contacts),
            ("0-1", StandardType::Contacts),
            ("companies", StandardType::Companies),
            ("company", StandardType::Companies),
            ("deals", StandardType::Deals),
            ("0-3", StandardType::Deals),
            ("tickets", StandardType::Tickets),
            ("0-5", StandardType::Tickets),
        ] {
            assert_eq!(
                ObjectTypeRef::parse(segment, 1),
                ObjectTypeRef::Standard(t),
                "{segment}"
            );
        }
    }

    #[test]
    fn custom_types_parse_by_id_and_by_qualified_or_short_name() {
        assert_eq!(
            ObjectTypeRef::parse("2-17", 99),
            ObjectTypeRef::CustomTypeId("2-17".into())
        );
        assert_eq!(
            ObjectTypeRef::parse("p99_cars", 99),
            ObjectTypeRef::CustomName("cars".into())
        );
        assert_eq!(
            ObjectTypeRef::parse("cars", 99),
            ObjectTypeRef::CustomName("cars".into())
        );
        // Another portal's prefix is not stripped: it names nothing here.
        assert_eq!(
            ObjectTypeRef::parse("p7_cars", 99),
            ObjectTypeRef::CustomName("p7_cars".into())
        );
        assert_eq!(
            ObjectTypeRef::parse("2-x", 99),
            ObjectTypeRef::CustomName("2-x".into())
        );
    }

    #[test]
    fn app_objects_parse_by_type_id_and_by_fully_qualified_name() {
        assert_eq!(
            ObjectTypeRef::parse("4-17", 99),
            ObjectTypeRef::AppTypeId(17)
        );
        assert_eq!(
            ObjectTypeRef::parse("a1000001_car", 99),
            ObjectTypeRef::AppName {
                app: AppId(1_000_001),
                name: "CAR".into(),
                custom: "a1000001_car".into(),
            }
        );
        assert_eq!(
            ObjectTypeRef::parse("4-x", 99),
            ObjectTypeRef::CustomName("4-x".into())
        );
    }
}
